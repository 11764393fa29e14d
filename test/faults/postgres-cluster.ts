// A PostgreSQL cluster of the fault suite's own (initdb in a temporary directory, the server on a
// unix socket in that directory, no TCP port to find or lose): the suite crashes and restarts it,
// which it must never do to the shared server other test files use at the same time.
import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface PostgresCluster {
  /** postgres:// URL of the cluster's `registry` database. */
  readonly url: string;
  /** Stops the server at once, as a crash would (no checkpoint: it recovers from its WAL on start). */
  crash(): Promise<void>;
  /** Starts the server again on the same socket, over the same data. */
  start(): Promise<void>;
  /** Stops the server and removes the cluster. */
  remove(): Promise<void>;
}

// PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
const asRoot = process.getuid?.() === 0;
const POSTGRES_USER = 'postgres';
const SOCKET_PORT = 5432;

/** `command` (initdb, pg_ctl) with `args`, as the user PostgreSQL runs as. */
function commandLine(bin: string, command: string, args: readonly string[]): [string, string[]] {
  const file = path.join(bin, command);
  return asRoot ? ['runuser', ['-u', POSTGRES_USER, '--', file, ...args]] : [file, [...args]];
}

const postgresCommand = (bin: string, command: string, args: readonly string[]) =>
  run(...commandLine(bin, command, args));

async function serverBinaries(): Promise<string> {
  try {
    return (await run('pg_config', ['--bindir'])).stdout.trim();
  } catch (error) {
    throw new Error(`the fault suite needs the PostgreSQL server binaries (pg_config): ${error}`);
  }
}

export async function createPostgresCluster(): Promise<PostgresCluster> {
  const bin = await serverBinaries();
  const directory = await mkdtemp(path.join(tmpdir(), 'registry-faults-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', POSTGRES_USER]);
    const { stdout: group } = await run('id', ['-g', POSTGRES_USER]);
    await chown(directory, Number(stdout), Number(group));
  }
  const data = path.join(directory, 'data');
  await postgresCommand(bin, 'initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    POSTGRES_USER,
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const pgCtl = (args: readonly string[]) => postgresCommand(bin, 'pg_ctl', ['-D', data, ...args]);
  // The server runs detached: a test process that dies without removing the cluster stops it.
  const reap = () => {
    try {
      execFileSync(...commandLine(bin, 'pg_ctl', ['-D', data, 'stop', '-m', 'immediate']), {
        stdio: 'ignore',
      });
    } catch {}
  };
  process.once('exit', reap);
  // Only a unix socket, in the cluster's own directory (the port just names the socket file);
  // fsync is off: the suite crashes the server, not the machine.
  const start = () =>
    pgCtl([
      'start',
      '-w',
      '-t',
      '30',
      '-l',
      path.join(directory, 'log'),
      '-o',
      `-p ${SOCKET_PORT} -c listen_addresses='' -k ${directory} -c fsync=off`,
    ]);
  try {
    await start();
  } catch (error) {
    process.off('exit', reap);
    await rm(directory, { recursive: true, force: true });
    throw new Error(`the fault suite's PostgreSQL did not start: ${(error as Error).message}`);
  }
  const admin = new pg.Client({
    host: directory,
    port: SOCKET_PORT,
    user: POSTGRES_USER,
    database: 'postgres',
  });
  await admin.connect();
  await admin.query('CREATE DATABASE registry');
  await admin.end();

  return {
    url: `postgres://${POSTGRES_USER}@localhost:${SOCKET_PORT}/registry?host=${encodeURIComponent(directory)}`,
    async crash() {
      await pgCtl(['stop', '-w', '-m', 'immediate']);
    },
    async start() {
      await start();
    },
    async remove() {
      process.off('exit', reap);
      await pgCtl(['stop', '-w', '-m', 'immediate']).catch(() => {});
      await rm(directory, { recursive: true, force: true });
    },
  };
}
