// Packagist versions order exactly as Composer orders them: the oracle is Composer's own
// composer/semver library (Debian's `composer` package, run by `php`): VersionParser::normalize,
// as Composer applies to every package version it loads, then Comparator on
// every pair of a list built around the traps: "v" prefixes, 1 to 4 parts, stability suffixes
// and their spellings, patch releases after the release, dev versions, dates.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { normalizeComposer } from '../../../origin/scan/versions/composer.ts';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import { allPairs, disagreements, requireTool } from './oracle.ts';

const ours = (a: string, b: string): number => compareVersions('composer', a, b);
const SEMVER = '/usr/share/php/Composer/Semver/autoload.php';

const VERSIONS = [
  '0.1',
  '1',
  '1.0',
  '1.0.0',
  'v1.0.0',
  '1.0.0.0',
  '1.0.0.1',
  'v1.0.1',
  '1.0.10',
  '1.0.9',
  '1.0.0-alpha',
  '1.0.0-alpha1',
  '1.0.0-a2',
  '1.0.0-alpha10',
  '1.0.0-beta',
  '1.0.0-b1',
  '1.0.0-beta.2',
  '1.0.0-BETA3',
  '1.0.0-RC1',
  '1.0.0rc2',
  '1.0.0-RC10',
  '1.0.0-patch1',
  '1.0.0-pl2',
  '1.0.0-p3',
  '1.0.0-dev',
  '1.0.0-beta1-dev',
  '1.0.0-stable',
  '1.0.0+build.5',
  '2.0',
  'v5.4.31',
  '5.4.31',
  '5.4.4',
  '6.0.0-BETA1',
  '10.0.0',
  '2023.01.15',
  '2023-01-16',
  '20230117',
];

function composerCompare(pairs: readonly (readonly [string, string])[]): number[] {
  requireTool('PHP', 'php', ['-r', 'exit(0);'], 'apt-get install php-cli composer');
  requireTool('composer/semver', 'test', ['-f', SEMVER], 'apt-get install composer');
  const script = `require '${SEMVER}';
use Composer\\Semver\\Comparator;
$p = new Composer\\Semver\\VersionParser();
foreach (json_decode(stream_get_contents(STDIN)) as [$a, $b]) {
  [$a, $b] = [$p->normalize($a), $p->normalize($b)];
  echo Comparator::lessThan($a, $b) ? -1 : (Comparator::greaterThan($a, $b) ? 1 : 0), "\\n";
}`;
  const run = spawnSync('php', ['-r', script], { input: JSON.stringify(pairs), maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`php failed: ${run.stderr}${run.stdout}`);
  return run.stdout.toString().trim().split('\n').map(Number);
}

function composerNormalize(versions: readonly string[]): string[] {
  const script = `require '${SEMVER}';
$p = new Composer\\Semver\\VersionParser();
foreach (json_decode(stream_get_contents(STDIN)) as $v) {
  try { echo $p->normalize($v), "\\n"; } catch (Exception $e) { echo "!\\n"; }
}`;
  const run = spawnSync('php', ['-r', script], { input: JSON.stringify(versions) });
  if (run.status !== 0) throw new Error(`php failed: ${run.stderr}`);
  return run.stdout.toString().trim().split('\n');
}

describe("Packagist version ordering agrees with Composer's", () => {
  it('on every pair of versions around the traps of the scheme', () => {
    const pairs = allPairs(VERSIONS);
    expect(disagreements(pairs, composerCompare(pairs), ours, 'Composer')).toEqual([]);
  });

  it('normalises as VersionParser::normalize does', () => {
    requireTool('PHP', 'php', ['-r', 'exit(0);'], 'apt-get install php-cli composer');
    const expected = composerNormalize(VERSIONS);
    expect(VERSIONS.map((v) => normalizeComposer(v) ?? '!')).toEqual(expected);
  });

  it('the traps, spelled out', () => {
    expect(ours('v5.4.31', '5.4.31')).toBe(0);
    expect(ours('1.0', '1.0.0.0')).toBe(0);
    expect(ours('1.0.0-RC1', '1.0.0')).toBeLessThan(0);
    expect(ours('1.0.0-patch1', '1.0.0')).toBeGreaterThan(0);
    expect(ours('1.0.0-b1', '1.0.0-beta1')).toBe(0);
    expect(ours('1.0.0-dev', '1.0.0-alpha')).toBeLessThan(0);
    expect(ours('1.0.0-alpha10', '1.0.0-alpha9')).toBeGreaterThan(0);
  });

  it('a branch or a constraint is not a version', () => {
    for (const v of ['dev-main', 'dev-master', '^1.0', '1.0.*', '>=1.0', 'main', '1'.repeat(300)]) {
      expect(isValidVersion('composer', v)).toBe(false);
    }
  });
});
