// The registry as its users run it: `registry serve` in its own process, configured through
// REGISTRY_* variables, its JSON log lines collected for the test to read. It listens on
// 127.0.0.1:0 (any free port) unless told otherwise, and says which in its `registry listening` line.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const NODE = path.resolve('node_modules/.bin/node');

export interface ServedRegistry {
  readonly process: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Every log line so far, parsed. */
  readonly lines: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

/**
 * Starts `registry serve` with `env` (REGISTRY_* keys) and waits until it listens; `args` are
 * further `serve` arguments, e.g. `['--config', FILE]`.
 */
export async function serveRegistry(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<ServedRegistry> {
  const child = spawn(NODE, ['origin/cli.ts', 'serve', ...args], {
    // No source fetched unless the test names one: tests reach no address but this machine's.
    env: { ...process.env, REGISTRY_HTTP_ADDR: '127.0.0.1:0', REGISTRY_SCAN_SOURCES: '[]', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'registry listening') resolve(String(line.addr));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    child.once('exit', (code) => reject(new Error(`registry exited early with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Where it says it listens: `env` may name the address (a restart on the same port).
  const url = await listening;
  return { process: child, url, port: Number(new URL(url).port), lines, exited };
}

/** Stops a served registry at once (SIGKILL) if it still runs. */
export async function killRegistry(served: ServedRegistry | undefined): Promise<void> {
  if (!served || served.process.exitCode !== null || served.process.signalCode !== null) return;
  served.process.kill('SIGKILL');
  await served.exited;
}
