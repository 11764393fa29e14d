// A redis-server of a test's own, without persistence, for tests that stop and restart it (the
// shared Redis of the other tests must never be): killed, it comes back empty on the same port.
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from './registry.ts';

export interface RedisServer {
  readonly url: string;
  /** Kills the server at once (SIGKILL). */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  restart(): Promise<void>;
}

/** Starts a redis-server on a free loopback port. */
export async function startRedisServer(): Promise<RedisServer> {
  let port = 0;
  let child = await whileAddressInUse(async () => {
    port = await freePort();
    return spawnRedis(port);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: () => killProcess(child),
    async restart() {
      child = await whileAddressInUse(() => spawnRedis(port));
    },
  };
}

/**
 * Tries `start` again for a while when its port is taken: by someone else between freePort and
 * the server's bind (a first start then takes another port), or meanwhile, on a restart.
 */
async function whileAddressInUse<T>(start: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await start();
    } catch (error) {
      if (!(error instanceof AddressInUse) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

class AddressInUse extends Error {}

async function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
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
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('close', (code) => {
      const message = `redis-server exited with ${code}: ${output}`;
      reject(output.includes('Address already in use') ? new AddressInUse(message) : new Error(message));
    });
  });
  return child;
}

async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}
