// npm versions order exactly as npm's `semver` package orders them. The oracle is that package
// itself, on every pair of real npm registry versions (test/fixtures/versions/npm.txt), and in
// loose mode on the spellings npm tolerates.

import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import { allPairs, disagreements, readFixture } from './oracle.ts';

const NPM = readFixture('npm.txt');
const ours = (a: string, b: string): number => compareVersions('semver', a, b);

// Spellings `semver` accepts only in loose mode, and the strict versions they stand for.
const LOOSE = [
  'v1.2.3',
  '=1.2.3',
  'v=1.2.3',
  '= v 1.2.3',
  '  1.2.3\n',
  '01.02.03',
  '1.2.3beta',
  '1.2.3beta.2',
  '1.2.3-01',
  '1.2.3-beta.02',
  '1.2.3-1',
  '1.2.3+build',
  '4.17.21',
  '18.0.0-rc.1',
];

describe('npm semver ordering agrees with the semver package', () => {
  it('on every pair of real npm versions', () => {
    expect(NPM.filter((v) => semver.valid(v) === null)).toEqual([]);
    const pairs = allPairs(NPM);
    expect(pairs.length).toBeGreaterThanOrEqual(2000);
    const oracle = pairs.map(([a, b]) => semver.compare(a, b));
    expect(disagreements(pairs, oracle, ours, 'semver.compare')).toEqual([]);
  });

  it('on loose spellings against the real versions, as semver.compare(…, { loose: true })', () => {
    const versions = [...LOOSE, ...NPM];
    const pairs = allPairs(versions);
    const oracle = pairs.map(([a, b]) => semver.compare(a, b, { loose: true }));
    expect(disagreements(pairs, oracle, ours, 'semver.compare loose')).toEqual([]);
  });

  it('follows the precedence example of Semantic Versioning 2.0.0 §11, ignoring build metadata', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
    ];
    for (let i = 1; i < chain.length; i++) expect(ours(chain[i - 1]!, chain[i]!), chain[i]).toBeLessThan(0);
    expect(ours('1.0.0+20130313144700', '1.0.0')).toBe(0);
    expect(ours('1.0.0-beta+exp.sha.5114f85', '1.0.0-beta')).toBe(0);
  });
});

describe('npm semver validity agrees with semver.valid in loose mode', () => {
  it('on versions, loose spellings and garbage', () => {
    const strings = [
      ...NPM,
      ...LOOSE,
      '',
      '1',
      '1.2',
      '1.2.3.4',
      'v1.2',
      '1.2.3-',
      '1.2.3+',
      '1.2.3-beta..1',
      '1.2.3-beta_1',
      '1.2.3+build+more',
      'latest',
      '^1.2.3',
      '~1.2.3',
      '1.2.x',
      '>=1.2.3',
      '1.2.3 - 2.0.0',
      'a.b.c',
      '1.2.3-ä',
      '9007199254740991.0.0',
      '9007199254740992.0.0',
      '1.9007199254740992.0',
      '1.2.3-9007199254740993',
      `1.2.3-${'a'.repeat(260)}`,
      'vv1.2.3',
      '1.2.3 4',
    ];
    const wrong = strings.filter(
      (v) => isValidVersion('semver', v) !== (semver.valid(v, { loose: true }) !== null),
    );
    expect(wrong).toEqual([]);
  });
});
