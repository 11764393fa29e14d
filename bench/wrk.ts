// Runs wrk against one URL and parses its --latency report.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface WrkOptions {
  readonly url: string;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Record<string, string>;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** Where to put the Lua script wrk needs for HEAD. */
  readonly scriptDir: string;
}

export interface WrkResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers. */
  readonly errors: number;
  readonly output: string;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function durationMs(value: string, unit: string): number {
  const scale = UNIT_MS[unit];
  if (scale === undefined) throw new Error(`wrk: unknown time unit ${unit}`);
  return Number(value) * scale;
}

export function parseWrk(output: string): WrkResult {
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(output);
    if (!match) throw new Error(`wrk output has no ${p}% latency:\n${output}`);
    return durationMs(match[1] as string, match[2] as string);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const total = /^\s*(\d+) requests in /m.exec(output);
  if (!rps || !total) throw new Error(`cannot parse wrk output:\n${output}`);
  let errors = 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  if (socket) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  if (non2xx) errors += Number(non2xx[1]);
  return {
    requestsPerSecond: Number(rps[1]),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    requests: Number(total[1]),
    errors,
    output,
  };
}

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    '--timeout',
    '10s',
  ];
  for (const [name, value] of Object.entries(options.headers)) args.push('-H', `${name}: ${value}`);
  if (options.method !== 'GET') {
    const script = path.join(options.scriptDir, `${options.method.toLowerCase()}.lua`);
    await writeFile(script, `wrk.method = "${options.method}"\n`);
    args.push('-s', script);
  }
  args.push(options.url);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    // wrk stops itself after -d; this is a backstop against a hung run.
    const killer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve(text);
      else reject(new Error(`wrk exited with ${code}:\n${text}`));
    });
  });
  return parseWrk(output);
}
