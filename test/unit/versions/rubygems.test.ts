// RubyGems versions order exactly as Gem::Version#<=> orders them. The oracle is Ruby itself
// (Debian's `ruby`), on every pair of a list built around the scheme's traps.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import { allPairs, disagreements, requireTool } from './oracle.ts';

const ours = (a: string, b: string): number => compareVersions('rubygems', a, b);

const VERSIONS = [
  '0',
  '0.0.1',
  '0.9',
  '1',
  '1.0',
  '1.0.0',
  '1.0.0.0',
  '1.0.1',
  '1.0.10',
  '1.0.9',
  '1.01',
  '1.0.a',
  '1.0.a1',
  '1.0.a.1',
  '1.0.b1',
  '1.0.beta',
  '1.0.rc1',
  '1.0.RC1',
  '1.0.pre',
  '1.0.pre.1',
  '1.0-1',
  '1.0-beta',
  '1.a',
  '1.a.0',
  '1.0.0.a',
  '1.A',
  '2.0.0.rc1',
  '2.0.0.rc10',
  '2.0.0.rc2',
  '2.2.8',
  '2.2.8.1',
  '2.2.10',
  '3.0.0.beta1',
  '3.0.0',
  '7.0.4',
  '7.0.4.2',
  '7.1.0.alpha',
  '10',
  '18446744073709551616',
  '18446744073709551617.1',
  '1.2.3.4.5.6',
  ' 1.2 ',
];

function rubyCompare(pairs: readonly (readonly [string, string])[]): number[] {
  requireTool('Ruby (Gem::Version)', 'ruby', ['-e', 'exit 0'], 'apt-get install ruby');
  const script =
    'require "json"; JSON.parse(STDIN.read).each { |a, b| puts(Gem::Version.new(a) <=> Gem::Version.new(b)) }';
  const run = spawnSync('ruby', ['-e', script], {
    input: JSON.stringify(pairs),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`ruby failed: ${run.stderr}`);
  return run.stdout.toString().trim().split('\n').map(Number);
}

describe('RubyGems version ordering agrees with Gem::Version', () => {
  it('on every pair of versions around the traps of the scheme', () => {
    const pairs = allPairs(VERSIONS);
    expect(disagreements(pairs, rubyCompare(pairs), ours, 'Gem::Version')).toEqual([]);
  });

  it('a version with letters is a prerelease of the one without, and "-" means ".pre."', () => {
    expect(ours('1.0.a', '1.0')).toBeLessThan(0);
    expect(ours('1.0.0.rc1', '1.0.0')).toBeLessThan(0);
    expect(ours('1.0-1', '1.0')).toBeLessThan(0);
    expect(ours('1.0-1', '1.0.pre.1')).toBe(0);
    // Trailing zeros do not count, in the numeric part or after the letters.
    expect(ours('1.0.0', '1')).toBe(0);
    expect(ours('1.a.0', '1.a')).toBe(0);
    // Strings compare byte by byte: upper case before lower case, "rc10" after "rc2" by number.
    expect(ours('1.0.RC1', '1.0.a')).toBeLessThan(0);
    expect(ours('2.0.0.rc10', '2.0.0.rc2')).toBeGreaterThan(0);
  });

  it('accepts what Gem::Version.correct? accepts, and nothing else', () => {
    for (const v of ['1', '1.0', '1.0.a', '1.0-1', ' 1.2 ', '1.2.3-beta.1'])
      expect(isValidVersion('rubygems', v)).toBe(true);
    for (const v of ['a', '1..2', '1.0+build', '1.0 beta', 'v1.0', '1.0.', '1'.repeat(300)]) {
      expect(isValidVersion('rubygems', v)).toBe(false);
    }
  });
});
