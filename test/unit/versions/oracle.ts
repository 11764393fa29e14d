// What the version-ordering tests share: the fixtures, a seeded choice of pairs, and running the
// ecosystems' own tools as oracles. A missing tool fails its test with the package to install;
// it never skips, so a green run always means the comparison was made.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** The non-empty, non-comment lines of test/fixtures/versions/<name>. */
export function readFixture(name: string): string[] {
  const text = readFileSync(new URL(`../../fixtures/versions/${name}`, import.meta.url), 'utf8');
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/** A small deterministic generator (mulberry32), so a failing pair reproduces. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Pair = readonly [string, string];

export function randomPairs(versions: readonly string[], count: number, seed: number): Pair[] {
  const next = seeded(seed);
  const pick = (): string => versions[Math.floor(next() * versions.length)]!;
  return Array.from({ length: count }, () => [pick(), pick()] as const);
}

export function adjacentPairs(versions: readonly string[]): Pair[] {
  return versions.slice(1).map((v, i) => [versions[i]!, v] as const);
}

export function allPairs(versions: readonly string[]): Pair[] {
  return versions.flatMap((a) => versions.map((b) => [a, b] as const));
}

/**
 * Fails, naming the package that provides it, when an oracle is not on this machine: `tool` is
 * what the test needs, probed by running `command args` (which must exit 0).
 */
export function requireTool(tool: string, command: string, args: string[], install: string): void {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? `\`${[command, ...args].join(' ')}\` exited with ${probe.status}`;
    throw new Error(
      `${tool} is not available (${why}); this test compares against ${tool} and cannot run without it: ${install}`,
    );
  }
}

/** Runs a shell loop once per chunk of input lines, `parallel` at a time, and returns its output lines. */
export async function runShellLoop(
  script: string,
  lines: readonly string[],
  parallel: number,
): Promise<string[]> {
  const size = Math.ceil(lines.length / parallel);
  const chunks = Array.from({ length: parallel }, (_, i) => lines.slice(i * size, (i + 1) * size));
  const outputs = await Promise.all(
    chunks.map(
      (chunk) =>
        new Promise<string[]>((resolve, reject) => {
          const child = spawn('bash', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.setEncoding('utf8').on('data', (data: string) => {
            out += data;
          });
          child.on('error', reject);
          child.on('close', (code) => {
            if (code !== 0) reject(new Error(`the oracle loop exited with ${code}`));
            else resolve(out === '' ? [] : out.replace(/\n$/, '').split('\n'));
          });
          child.stdin.end(chunk.length ? `${chunk.join('\n')}\n` : '');
        }),
    ),
  );
  return outputs.flat();
}

/** Lists the pairs where our sign differs from the oracle's, readably. */
export function disagreements(
  pairs: readonly Pair[],
  oracle: readonly number[],
  ours: (a: string, b: string) => number,
  tool: string,
): string[] {
  expect(oracle).toHaveLength(pairs.length);
  const found: string[] = [];
  pairs.forEach(([a, b], i) => {
    const want = Math.sign(oracle[i]!);
    const got = Math.sign(ours(a, b));
    if (want !== got)
      found.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ${tool} says ${want}, we say ${got}`);
  });
  return found;
}
