// Small helpers for the benchmark: tools on PATH, the port a server bound, bounded waits, number
// formatting.
import { accessSync, constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

/**
 * The TCP port process `pid` listens on, once it does. The servers the benchmark starts bind port 0
 * (any free port) and the port is read back from /proc (Linux): a port picked here, freed, then
 * handed to the server could be taken by someone else in between. `alive` reports an early death.
 */
export async function listeningPort(
  pid: number,
  timeoutMs: number,
  alive: () => string | null,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = alive();
    if (dead) throw new Error(dead);
    const ports = listeningPorts(pid);
    if (ports.length > 1) throw new Error(`pid ${pid} listens on several ports: ${ports.join(', ')}`);
    if (ports[0] !== undefined) return ports[0];
    if (Date.now() > deadline)
      throw new Error(`pid ${pid} did not listen on a TCP port within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** The ports of the listening TCP sockets among `pid`'s open files. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {}
  for (const fd of fds) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1] as string);
    } catch {}
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {}
    // sl local_address rem_address st … inode; st 0A is LISTEN, the port is local_address's hex tail.
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state === '0A' && inode !== undefined && inodes.has(inode) && local)
        ports.add(Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return [...ports];
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
