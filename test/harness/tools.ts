// Running the real client tools the end-to-end tests drive (docker, skopeo, podman), and a
// per-file setup whose failure fails every test of the file with its message (a failing
// beforeAll would only mark them skipped).
import { spawn } from 'node:child_process';

/** The Debian/Ubuntu package that provides each tool. */
const PACKAGES: Record<string, string> = {
  docker: 'docker.io',
  dockerd: 'docker.io',
  skopeo: 'skopeo',
  podman: 'podman',
};

export function installHint(command: string): string {
  const pkg = PACKAGES[command] ?? command;
  return `the end-to-end tests need ${command}: install it with apt-get install -y ${pkg} (or run npm run test:all, which installs it)`;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for messages. */
  readonly commandLine: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to standard input (which is closed either way). */
  input?: string;
  timeoutMs?: number;
}

/** Runs a command to its end; a missing command rejects with what to install. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const commandLine = [command, ...args].join(' ');
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT' ? new Error(`${command} is not installed: ${installHint(command)}`) : error,
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new Error(`${commandLine} timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
        );
        return;
      }
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, commandLine });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command that must succeed; otherwise rejects with its output. */
export async function runOk(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${result.commandLine} failed (exit code ${result.code})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result;
}

/** Fails, naming the package to install, unless `command` runs. */
export async function requireTool(
  command: string,
  versionArgs: readonly string[] = ['--version'],
): Promise<string> {
  const result = await run(command, versionArgs, { timeoutMs: 30_000 });
  if (result.code !== 0) {
    throw new Error(`${result.commandLine} failed (${result.stderr.trim()}): ${installHint(command)}`);
  }
  return result.stdout.trim();
}

type Cleanup = () => unknown;

export interface FileSetup<T> {
  /** Runs the setup once and returns its outcome: every test awaits this, so all fail if it fails. */
  get(): Promise<T>;
  /**
   * For beforeAll: starts the setup and waits for it, at most `limitMs` (under vitest's hook
   * timeout), never throwing; a failed or slow setup then fails each test (a failing or timed-out
   * hook would only mark them skipped).
   */
  settle(limitMs?: number): Promise<void>;
  /** Undoes what the setup got to do (in reverse order), whether or not it finished. */
  teardown(): Promise<void>;
}

/**
 * A setup shared by the tests of one file. `create` registers each cleanup with `defer` as soon
 * as it has something to undo, so a half-done setup is undone too.
 */
export function fileSetup<T>(create: (defer: (cleanup: Cleanup) => void) => Promise<T>): FileSetup<T> {
  const cleanups: Cleanup[] = [];
  let outcome: Promise<T> | undefined;
  return {
    get: () => {
      outcome ??= create((cleanup) => cleanups.push(cleanup));
      return outcome;
    },
    async settle(limitMs = 150_000) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, limitMs);
      });
      await Promise.race([
        this.get().then(
          () => {},
          () => {},
        ),
        limit,
      ]);
      clearTimeout(timer);
    },
    async teardown() {
      await outcome?.catch(() => {});
      const errors: unknown[] = [];
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, 'teardown failed');
    },
  };
}
