// Starts the two registries under test as child processes on 127.0.0.1, each with its data in
// the benchmark's temp dir: ours (origin/cli.ts serve; PGlite and filesystem unless the config
// says otherwise) and CNCF distribution (Debian's docker-registry, no auth; filesystem unless a
// storage section is given).
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { listeningPort, sleep, waitForHttp } from './util.ts';

export interface Target {
  /** Short label for tables. */
  readonly name: string;
  readonly pid: number;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** Headers granting `actions` (e.g. "pull,push") on `repository`; empty when there is no auth. */
  auth(repository: string, actions: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Spawns `command`, logging to `logFile`; stop() sends SIGTERM, then SIGKILL after 10 s. */
export function launch(command: string, args: string[], logFile: string, env: NodeJS.ProcessEnv) {
  const out = createWriteStream(logFile);
  const child: ChildProcess = spawn(command, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  // A benchmark that dies without stopping it must not leave it running.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  let exited: string | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = `${path.basename(command)} exited (${signal ?? `code ${code}`}); log:\n${tail(logFile)}`;
      resolve();
    });
    child.once('error', (error) => {
      exited = `${path.basename(command)} failed: ${error.message}`;
      resolve();
    });
  });
  return {
    pid: child.pid,
    alive: () => exited,
    async stop(): Promise<void> {
      process.off('exit', reap);
      if (exited === null) {
        child.kill('SIGTERM');
        const done = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await Promise.race([exit, sleep(5_000)]);
        }
      }
      out.end();
    },
  };
}

/** `config` adds to (or replaces) top-level keys of the default config, e.g. database, storage. */
export async function startOurs(
  dir: string,
  nodeArgs: string[] = [],
  config: Record<string, unknown> = {},
  name = 'ours',
): Promise<Target> {
  await mkdir(dir, { recursive: true });
  const configFile = path.join(dir, 'config.yaml');
  const fullConfig = {
    data_dir: path.join(dir, 'data'),
    // Any free port: the one bound is read back (listeningPort).
    http: { addr: '127.0.0.1:0', shutdown_timeout: '5s' },
    auth: { token_expiry: '1h' },
    log: { level: 'warn' },
    ...config,
  };
  await writeFile(configFile, JSON.stringify(fullConfig, null, 2));
  // Only this config: no REGISTRY_* variables from the caller's environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')));
  // As `npm start` runs it (README, Operations).
  env.MALLOC_MMAP_THRESHOLD_ ??= '131072';
  const proc = launch(
    process.execPath,
    [...nodeArgs, 'origin/cli.ts', 'serve', '--config', configFile],
    path.join(dir, 'registry.log'),
    env,
  );
  let port: number;
  try {
    port = await listeningPort(proc.pid, 60_000, proc.alive);
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 200, 60_000, proc.alive);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  const base = `http://127.0.0.1:${port}`;
  const basic = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
  return {
    name,
    pid: proc.pid,
    base,
    async auth(repository, actions) {
      const url = new URL('/token', base);
      url.searchParams.set('service', `127.0.0.1:${port}`);
      url.searchParams.set('scope', `repository:${repository}:${actions}`);
      const response = await fetch(url, { headers: { Authorization: basic } });
      if (response.status !== 200) throw new Error(`GET /token: ${response.status} ${await response.text()}`);
      const { token } = (await response.json()) as { token: string };
      return { Authorization: `Bearer ${token}` };
    },
    stop: proc.stop,
  };
}

/**
 * `storage`: YAML lines (indented two spaces) for the storage driver, instead of the filesystem
 * under `dir`; e.g. an s3 section, and `redirect: disable: true`.
 */
export async function startDistribution(binary: string, dir: string, storage?: string[]): Promise<Target> {
  await mkdir(path.join(dir, 'storage'), { recursive: true });
  const configFile = path.join(dir, 'config.yml');
  // Quiet logs as for ours (warn, no access log); the in-memory blob descriptor cache of Debian's
  // default config.
  await writeFile(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  cache:',
      '    blobdescriptor: inmemory',
      ...(storage ?? ['  filesystem:', `    rootdirectory: ${path.join(dir, 'storage')}`]),
      '  delete:',
      '    enabled: true',
      'http:',
      // Any free port: the one bound is read back (listeningPort).
      '  addr: 127.0.0.1:0',
      '  secret: benchmark-secret',
      '',
    ].join('\n'),
  );
  // Nothing else from the environment: AWS_* variables would reach its S3 driver (an
  // AWS_CA_BUNDLE, set on some machines, makes it panic at start-up with a plain HTTP transport).
  const proc = launch(binary, ['serve', configFile], path.join(dir, 'registry.log'), {
    PATH: process.env.PATH,
    HOME: dir,
  });
  let port: number;
  try {
    port = await listeningPort(proc.pid, 30_000, proc.alive);
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, 200, 30_000, proc.alive);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  const base = `http://127.0.0.1:${port}`;
  return {
    name: 'distribution',
    pid: proc.pid,
    base,
    auth: async () => ({}),
    stop: proc.stop,
  };
}
