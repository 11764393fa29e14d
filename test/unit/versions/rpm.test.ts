// RPM-based distributions' versions order exactly as rpm orders them. The oracle is rpm itself
// (rpm 4.18's rpm.vercmp, which parses and compares whole [epoch:]version-release strings), run
// once over every pair through its embedded Lua. The versions are real EVRs of RHEL, Rocky, Alma,
// Fedora, SUSE and openEuler packages (test/fixtures/versions/rpm.txt), variants of them with
// Fedora's ~ (pre-release) and ^ (snapshot) markers, and the Debian fixture, which rpm also orders.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import {
  adjacentPairs,
  allPairs,
  disagreements,
  type Pair,
  randomPairs,
  readFixture,
  requireTool,
} from './oracle.ts';

const RPM = readFixture('rpm.txt');
const DEBIAN = readFixture('debian.txt');
const rpm = (a: string, b: string): number => compareVersions('rpm', a, b);

/** rpm.vercmp's answer for every pair, from one rpm process. */
function rpmVercmp(pairs: readonly Pair[]): number[] {
  requireTool('rpm', 'rpm', ['--version'], 'apt-get install rpm');
  const dir = mkdtempSync(join(tmpdir(), 'rpm-vercmp-'));
  try {
    const input = join(dir, 'pairs.tsv');
    writeFileSync(input, pairs.map(([a, b]) => `${a}\t${b}\n`).join(''));
    const lua =
      `local out = {} ` +
      `for line in io.lines(${JSON.stringify(input)}) do ` +
      `local a, b = line:match("^([^\\t]*)\\t(.*)$") ` +
      `out[#out + 1] = tostring(rpm.vercmp(a, b)) end ` +
      `print(table.concat(out, "\\n"))`;
    const run = spawnSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`rpm --eval failed: ${run.stderr}`);
    return run.stdout.trim().split('\n').map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fedora-style variants: a pre-release (~) and a snapshot (^) of some versions, and both. */
function tildeCaretVariants(versions: readonly string[]): string[] {
  return versions
    .filter((_, i) => i % 4 === 0)
    .flatMap((evr) => {
      const hyphen = evr.lastIndexOf('-');
      const [v, r] = [evr.slice(0, hyphen), evr.slice(hyphen)];
      return [`${v}~rc1${r}`, `${v}~~${r}`, `${v}^20240101git1a2b3c4${r}`, `${v}~rc1^1${r}`, `${v}${r}~1`];
    });
}

describe('rpm ordering agrees with rpm.vercmp', () => {
  it('on every pair of real RHEL, Fedora, SUSE and openEuler EVRs and their ~/^ variants', () => {
    const versions = [...RPM, ...tildeCaretVariants(RPM)];
    const pairs = allPairs(versions);
    expect(pairs.length).toBeGreaterThanOrEqual(2000);
    expect(pairs.filter(([a, b]) => /[~^]/.test(a) && /[~^]/.test(b)).length).toBeGreaterThanOrEqual(2000);
    expect(disagreements(pairs, rpmVercmp(pairs), rpm, 'rpm')).toEqual([]);
  });

  it('on the Debian versions, neighbours in our order and random pairs', () => {
    const pairs = [...adjacentPairs([...DEBIAN].sort(rpm)), ...randomPairs(DEBIAN, 5000, 2)];
    expect(disagreements(pairs, rpmVercmp(pairs), rpm, 'rpm')).toEqual([]);
  });

  it('on the corner cases of rpmvercmp: separators, ~, ^, numbers against letters, epochs, missing releases', () => {
    const corner = [
      '1.0',
      '1.0.',
      '1_0',
      '1.0a',
      '1.0.a',
      '1.0~rc1',
      '1.0~~',
      '1.0^',
      '1.0^1',
      '1.0^~',
      '1.0.1',
      '1.00',
      '1.01',
      '1.0-1',
      '1.0-0',
      '1.0-',
      '0:1.0',
      ':1.0',
      '1:1.0',
      '01:1.0',
      'a:1.0',
      'a',
      'A',
      'Z1',
      'z1',
      '2.0-1.el9',
      '2.0-1.el9_1',
      '2.0-1.el9.1',
      '2.0-1el9',
      '1.0-1-2',
      '99999999999999999999.1',
      '99999999999999999998.1',
    ];
    const pairs = allPairs(corner);
    expect(disagreements(pairs, rpmVercmp(pairs), rpm, 'rpm')).toEqual([]);
  });
});

describe('rpm validity', () => {
  it('accepts EVRs as rpmbuild writes them and refuses what it would not', () => {
    for (const v of RPM) expect(isValidVersion('rpm', v), v).toBe(true);
    for (const v of ['', '1.0 1', 'abc-', '-1', '1:', 'x:1.0-1', '1.0-1-2', '1.0-1/2', '1:1.0-1:2']) {
      expect(isValidVersion('rpm', v), v).toBe(false);
    }
  });
});
