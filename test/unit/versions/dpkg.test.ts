// Debian and Ubuntu versions order exactly as dpkg orders them. The oracle is dpkg itself
// (`dpkg --compare-versions`, `dpkg --validate-version`), on ~3000 real version strings taken from
// bookworm's Packages files and an installed system's status file (test/fixtures/versions/debian.txt,
// grouped by package, so neighbouring lines are mostly one package's versions).

import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import {
  adjacentPairs,
  disagreements,
  type Pair,
  randomPairs,
  readFixture,
  requireTool,
  runShellLoop,
} from './oracle.ts';

const DEBIAN = readFixture('debian.txt');
const dpkg = (a: string, b: string): number => compareVersions('dpkg', a, b);

// One dpkg process per comparison; two shell loops share the work.
const COMPARE = `while read -r a b; do
  if dpkg --compare-versions -- "$a" lt "$b"; then echo -1
  elif dpkg --compare-versions -- "$a" eq "$b"; then echo 0
  else echo 1; fi
done`;
const VALIDATE = `while IFS= read -r v; do
  if dpkg --validate-version -- "$v" >/dev/null 2>&1; then echo 1; else echo 0; fi
done`;

const requireDpkg = (): void => requireTool('dpkg', 'dpkg', ['--version'], 'apt-get install dpkg');

describe('dpkg ordering agrees with dpkg --compare-versions', () => {
  it('on every neighbour of the real versions sorted by our order, and on samples of the rest', async () => {
    requireDpkg();
    // Agreeing on every neighbour of our sorted list means agreeing on the whole order of the set.
    const sorted = [...DEBIAN].sort(dpkg);
    const pairs: Pair[] = [
      ...adjacentPairs(sorted),
      ...adjacentPairs(DEBIAN).filter((_, i) => i % 3 === 0), // mostly one package's versions
      ...randomPairs(DEBIAN, 500, 1),
    ];
    expect(pairs.length).toBeGreaterThanOrEqual(2000);
    const oracle = await runShellLoop(
      COMPARE,
      pairs.map(([a, b]) => `${a} ${b}`),
      2,
    );
    expect(disagreements(pairs, oracle.map(Number), dpkg, 'dpkg')).toEqual([]);
  }, 120_000);

  it('on the corner cases of the rules: ~, epochs, letters before symbols, digit runs, revisions', async () => {
    requireDpkg();
    const corner = [
      '1.0~rc1',
      '1.0~~',
      '1.0~',
      '1.0',
      '1.0-0',
      '1.0-1',
      '1.0-1~bpo1',
      '1.0-1+b1',
      '1.0-1.1',
      '1.0a',
      '1.0+',
      '1.0.',
      '1.00',
      '1.0.0',
      '1.01',
      '1.1',
      '1.10',
      '1.9',
      '0:1.0',
      '1:0.1',
      '2:0~0',
      '1.0+dfsg-1',
      '1.0~dfsg-1',
      '1.0a~1',
      '1.0-a',
      '1.0-A',
      '1.0-~',
      '9999999999999999999999.1',
      '9999999999999999999998.1',
    ];
    const pairs = corner.flatMap((a) => corner.map((b) => [a, b] as const));
    const oracle = await runShellLoop(
      COMPARE,
      pairs.map(([a, b]) => `${a} ${b}`),
      2,
    );
    expect(disagreements(pairs, oracle.map(Number), dpkg, 'dpkg')).toEqual([]);
  }, 60_000);

  it('holds 1.0 and 1.0-0 equal, as a missing revision reads as "" and "" orders as "0"', () => {
    expect(dpkg('1.0', '1.0-0')).toBe(0);
    expect(dpkg('1.0', '0:1.0')).toBe(0);
    expect(dpkg('1.0~rc1', '1.0')).toBeLessThan(0);
  });
});

describe('dpkg validity agrees with dpkg --validate-version', () => {
  it('on real versions and on malformed ones', async () => {
    requireDpkg();
    const malformed = [
      '',
      'a1.0',
      '1.0-',
      ':1.0',
      '1:',
      '1 0',
      '1.0_1',
      '1.0-1_2',
      '-1:1',
      '+1:1',
      '-0:1',
      '1.0:1',
      '1:2:3',
      '2147483647:1',
      '2147483648:1',
      '1.0-a:b',
      '1.0-1-2',
      '1.0-1.2~3+4',
      '~1',
      '1.0!',
      '1.0-@',
      '00:1',
      'x:1',
      '1.0 ',
      ' 1:1.0-1',
    ];
    const versions = [...malformed, ...DEBIAN.filter((_, i) => i % 15 === 0)];
    const oracle = await runShellLoop(VALIDATE, versions, 2);
    expect(oracle).toHaveLength(versions.length);
    const wrong = versions.filter((v, i) => isValidVersion('dpkg', v) !== (oracle[i] === '1'));
    expect(wrong).toEqual([]);
  }, 60_000);
});
