// A redis-server of a test's own, without persistence, for tests that stop and restart it (the
// shared Redis of the other tests must never be): killed, it comes back empty. It listens on a
// unix socket in a directory of its own (Redis cannot bind a free TCP port and say which), and
// clients reach it through a Relay that holds one free TCP port for the server's whole life.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Relay } from './relay.ts';

export interface RedisServer {
  /** redis://127.0.0.1:PORT (the relay's, unchanged across restarts). */
  readonly url: string;
  /** Kills the server at once (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again, empty, behind the same URL. */
  restart(): Promise<void>;
  /** Kills it, closes the relay and removes its directory. */
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const directory = await mkdtemp(path.join(tmpdir(), 'registry-redis-'));
  const socket = path.join(directory, 'redis.sock');
  let child = await spawnRedis(socket);
  const relay = await Relay.start(socket);
  return {
    url: relay.url,
    kill: () => killProcess(child),
    async restart() {
      child = await spawnRedis(socket);
    },
    async stop() {
      await killProcess(child);
      await relay.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function spawnRedis(socket: string): Promise<ChildProcess> {
  // --port 0: no TCP listener at all, only the socket.
  const child = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A test process that dies without stopping it must not leave it running.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server did not start: ${error.message}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (/ready to accept connections/i.test(output)) resolve();
    });
    child.once('close', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return child;
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
