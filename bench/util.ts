// Small helpers for the benchmark: tools on PATH, free ports, bounded waits, number formatting.
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/** The absolute path of an executable on PATH, or an Error saying how to install it. */
export function requireTool(name: string, install: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new Error(`${name} is not installed (not found on PATH): ${install}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers `status`, for at most `timeoutMs`; `alive` reports an early death. */
export async function waitForHttp(
  url: string,
  status: number,
  timeoutMs: number,
  alive: () => string | null,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const dead = alive();
    if (dead) throw new Error(dead);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === status) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}

export const MiB = 1024 * 1024;

export function fixed(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Things to undo (stop a process, drop a database, remove a directory), undone in reverse order
 * of acquisition by releaseAll(), also when the run fails. Each add() returns a function that
 * undoes that one thing at once (and only once).
 */
export class Resources {
  private readonly stack: { label: string; undo: () => Promise<void> }[] = [];

  add(label: string, undo: () => Promise<void>): () => Promise<void> {
    const entry = { label, undo };
    this.stack.push(entry);
    return async () => {
      const at = this.stack.indexOf(entry);
      if (at < 0) return;
      this.stack.splice(at, 1);
      await entry.undo();
    };
  }

  async releaseAll(): Promise<void> {
    for (let entry = this.stack.pop(); entry; entry = this.stack.pop()) {
      try {
        await entry.undo();
      } catch (error) {
        log(`cleanup: ${entry.label}: ${(error as Error).message}`);
      }
    }
  }
}

export const GiB = 1024 * MiB;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
