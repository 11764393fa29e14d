// A Docker engine for the end-to-end tests, shared by every test file and vitest project of a
// run (and by concurrent runs on the machine): one dockerd on a fixed socket, vfs storage, no
// networking (images are built FROM scratch, nothing is run). Whoever needs it takes a lease;
// the first lease starts it, the release of the last live lease stops it. The global setup of
// the vitest project whose files use it (setup-dockerd.ts) holds a lease for the whole run, so
// the engine stays up between files and stops when the run ends. Leases are files named by the holder's pid, so those of crashed processes
// do not keep it running; a lock directory serializes starting and stopping.
//
// Docker treats 127.0.0.0/8 as an insecure registry by default, so the test registries on
// 127.0.0.1:<port> are reached over plain HTTP without --insecure-registry.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { installHint, type RunOptions, type RunResult, run, runOk } from './tools.ts';

const BASE = process.env.TEST_DOCKERD_DIR ?? '/tmp/edge-registry-test-dockerd';
const SOCKET = path.join(BASE, 'docker.sock');
const PIDFILE = path.join(BASE, 'dockerd.pid');
const DATA_ROOT = path.join(BASE, 'data');
const EXEC_ROOT = path.join(BASE, 'exec');
const CONTAINERD_PIDFILE = path.join(EXEC_ROOT, 'containerd', 'containerd.pid');
const LOG = path.join(BASE, 'dockerd.log');
const LEASES = path.join(BASE, 'leases');
const LOCK = path.join(BASE, 'lock');

/** DOCKER_HOST of the shared engine. */
export const DOCKER_HOST = `unix://${SOCKET}`;

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const LOCK_TIMEOUT_MS = 180_000;

/** Whether a process runs (a zombie, which pid 1 may never reap here, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(BASE, { recursive: true });
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  const owner = path.join(LOCK, 'owner');
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // A lock whose holder died is broken; so is one left without an owner for long.
    const holder = await readPid(owner);
    const age = await stat(LOCK).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if ((holder !== undefined && !alive(holder)) || (holder === undefined && age > 10_000)) {
      await rm(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for the dockerd lock ${LOCK} (held by ${holder})`);
    await sleep(100);
  }
  try {
    await writeFile(owner, String(process.pid));
    return await fn();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** GET /_ping on the engine's socket. */
function ping(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: SOCKET, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

async function logTail(): Promise<string> {
  const text = await readFile(LOG, 'utf8').catch(() => '(no log)');
  return text.split('\n').slice(-25).join('\n');
}

async function terminate(pid: number | undefined): Promise<void> {
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Stops the engine (and its containerd) if it runs, and removes its state. */
async function stopEngine(): Promise<void> {
  const containerd = await readPid(CONTAINERD_PIDFILE);
  await terminate(await readPid(PIDFILE));
  await terminate(containerd);
  await rm(PIDFILE, { force: true });
  await rm(SOCKET, { force: true });
  await rm(EXEC_ROOT, { recursive: true, force: true }).catch(() => {});
  await rm(DATA_ROOT, { recursive: true, force: true }).catch(() => {});
}

async function startEngine(): Promise<void> {
  if (await ping()) return;
  await stopEngine(); // whatever is left of an engine that no longer answers
  await mkdir(BASE, { recursive: true });
  const log = openSync(LOG, 'w');
  // biome-ignore format: one flag per line reads better
  const args = [
    '--iptables=false', '--ip6tables=false', '--bridge=none',
    '--storage-driver=vfs',
    '--data-root', DATA_ROOT,
    '--exec-root', EXEC_ROOT,
    '-H', DOCKER_HOST,
    '--pidfile', PIDFILE,
  ];
  let exited: string | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('dockerd', args, { detached: true, stdio: ['ignore', log, log] });
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new Error(error.code === 'ENOENT' ? 'dockerd is not installed (not found on PATH)' : error.message),
        ),
      );
      child.once('spawn', () => {
        child.unref();
        resolve();
      });
      child.once('exit', (code, signal) => {
        exited = `dockerd exited (${signal ?? `exit code ${code}`})`;
      });
    });
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await ping())) {
    if (exited || Date.now() > deadline) {
      const reason = exited ?? `dockerd did not answer on ${SOCKET} within ${START_TIMEOUT_MS / 1000} s`;
      await stopEngine();
      throw new Error(`${reason}; its log (${LOG}) ends with:\n${await logTail()}`);
    }
    await sleep(200);
  }
}

async function liveLeases(): Promise<string[]> {
  const names = await readdir(LEASES).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const pid = Number.parseInt(name.split('-')[0] ?? '', 10);
    if (Number.isInteger(pid) && alive(pid)) live.push(name);
    else await rm(path.join(LEASES, name), { force: true });
  }
  return live;
}

export interface DockerdLease {
  release(): Promise<void>;
}

async function takeLease(holder: string, start: boolean): Promise<DockerdLease> {
  const name = `${process.pid}-${randomBytes(4).toString('hex')}`;
  await withLock(async () => {
    await mkdir(LEASES, { recursive: true });
    await writeFile(path.join(LEASES, name), `${holder}\n`);
    if (!start) return;
    try {
      await startEngine();
    } catch (error) {
      await rm(path.join(LEASES, name), { force: true });
      throw error;
    }
  });
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await withLock(async () => {
        await rm(path.join(LEASES, name), { force: true });
        if ((await liveLeases()).length === 0) await stopEngine();
      });
    },
  };
}

/** Starts the shared engine unless it runs; fails, saying why, if it cannot. */
export async function acquireDockerd(holder: string): Promise<DockerdLease> {
  try {
    return await takeLease(holder, true);
  } catch (error) {
    throw new Error(
      `the end-to-end tests need a Docker engine, and dockerd could not be started: ${(error as Error).message}\n` +
        `(${installHint('dockerd')}; dockerd must run as root)`,
    );
  }
}

/** Keeps the engine (if anything starts it) up until released; for a vitest global setup. */
export function holdDockerdForRun(): Promise<DockerdLease> {
  return takeLease('vitest run', false);
}

/** The docker CLI bound to the shared engine and to its own config dir (so logins stay apart). */
export class DockerCli {
  readonly configDir: string;

  constructor(configDir: string) {
    this.configDir = configDir;
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST, DOCKER_CONFIG: this.configDir, DOCKER_BUILDKIT: '0' };
  }

  run(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return run('docker', args, { ...options, env: this.env });
  }

  async ok(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return (await runOk('docker', args, { ...options, env: this.env })).stdout;
  }

  login(host: string, user: string, password: string): Promise<RunResult> {
    return this.run(['login', '--username', user, '--password-stdin', host], { input: password });
  }
}

export interface DockerSession {
  /** The CLI with a config dir of its own. */
  readonly docker: DockerCli;
  /** Another CLI, with another config dir (e.g. one that never logged in). */
  newCli(): Promise<DockerCli>;
}

/**
 * For a test file: checks the docker CLI, takes a lease on the engine, and gives CLIs with config
 * dirs of their own. Everything is undone through `defer`.
 */
export async function startDockerSession(defer: (cleanup: () => unknown) => void): Promise<DockerSession> {
  const version = await run('docker', ['--version']);
  if (version.code !== 0) throw new Error(`docker --version failed: ${installHint('docker')}`);
  const lease = await acquireDockerd(`${process.pid} ${process.argv.slice(1).join(' ')}`);
  defer(() => lease.release());
  const newCli = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-config-'));
    defer(() => rm(dir, { recursive: true, force: true }));
    return new DockerCli(dir);
  };
  const docker = await newCli();
  await docker.ok(['version']);
  return { docker, newCli };
}

export interface DockerWorkspace {
  readonly session: DockerSession;
  /** The session's CLI. */
  readonly docker: DockerCli;
  /** A directory of the test file's own (build contexts, copies), removed at the end. */
  readonly workDir: string;
  /** Names of images the file leaves in the shared engine, removed (rmi --force) at the end. */
  readonly images: Set<string>;
}

/**
 * For a test file that builds images: a docker session (see startDockerSession), a work directory
 * in the temp dir named `prefix`…, and the names of images to remove at the end.
 */
export async function startDockerWorkspace(
  defer: (cleanup: () => unknown) => void,
  prefix: string,
): Promise<DockerWorkspace> {
  const session = await startDockerSession(defer);
  const { docker } = session;
  const workDir = await mkdtemp(path.join(tmpdir(), prefix));
  defer(() => rm(workDir, { recursive: true, force: true }));
  // Images this file leaves in the shared engine are removed at its end.
  const images = new Set<string>();
  defer(async () => {
    if (images.size > 0) await docker.run(['rmi', '--force', ...images]);
  });
  return { session, docker, workDir, images };
}

/** docker image inspect of one image, as `T` (the fields the caller reads). */
export async function inspectImage<T>(docker: DockerCli, ref: string): Promise<T> {
  const [image] = JSON.parse(await docker.ok(['image', 'inspect', ref])) as T[];
  if (!image) throw new Error(`docker image inspect ${ref}: no image`);
  return image;
}

/**
 * docker build --quiet --tag `tag` of an image FROM scratch: `files` written under `context`
 * (created, with the files' directories), then a Dockerfile of `FROM scratch` and `copies`, by
 * default one COPY (so one layer) per file.
 */
export async function buildScratchImage(
  docker: DockerCli,
  context: string,
  tag: string,
  files: Record<string, string | Uint8Array>,
  copies: readonly string[] = Object.keys(files).map((name) => `COPY ${name} /${name}`),
): Promise<void> {
  await mkdir(context, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(context, name)), { recursive: true });
    await writeFile(path.join(context, name), content);
  }
  await writeFile(path.join(context, 'Dockerfile'), `${['FROM scratch', ...copies].join('\n')}\n`);
  await docker.ok(['build', '--quiet', '--tag', tag, context]);
}

const ALPINE_FIXTURE = path.resolve(import.meta.dirname, '../fixtures/images/alpine-3.14');

/**
 * An Alpine 3.14 root built FROM scratch as two layers (etc, lib): the fixture's os-release and
 * apk database (which names openssl 1.1.1k: CVE-2021-3711, critical), and etc/run-id holding
 * `runId`, so that each run's image is its own.
 */
export async function buildAlpineImage(
  docker: DockerCli,
  context: string,
  tag: string,
  runId: string,
): Promise<void> {
  const files = {
    'etc/os-release': await readFile(path.join(ALPINE_FIXTURE, 'os-release')),
    'lib/apk/db/installed': await readFile(path.join(ALPINE_FIXTURE, 'installed')),
    'etc/run-id': `${runId}\n`,
  };
  await buildScratchImage(docker, context, tag, files, ['COPY etc /etc', 'COPY lib /lib']);
}
