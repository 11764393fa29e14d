// Fuzzing the version orders (origin/scan/versions/): OSV records and package databases hand them
// any string. Comparing never throws, is antisymmetric (compare(a, b) = -compare(b, a)) and puts
// every string equal to itself; validity is a yes or no for anything.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compareVersions, isValidVersion, type VersionScheme } from '../../origin/scan/versions/index.ts';
import { anyText, fuzz, mutated } from './fuzz-settings.ts';

const SCHEMES: VersionScheme[] = [
  'dpkg',
  'apk',
  'rpm',
  'semver',
  'go',
  'pep440',
  'maven',
  'rubygems',
  'nuget',
  'composer',
];

// Version-shaped strings from the characters the schemes give meaning to.
const versionChar = fc.constantFrom(
  ...'0123456789'.split(''),
  ...'0123456789'.split(''),
  'a',
  'b',
  'c',
  'r',
  'p',
  'v',
  'z',
  'A',
  'Z',
  '.',
  '.',
  '-',
  '+',
  '~',
  '^',
  ':',
  '_',
  '!',
);
const shaped = fc.string({ unit: versionChar, maxLength: 16 });
const WORDS = [
  '1.0.0',
  'v1.2.3-rc.1+build',
  '1:2.3-4ubuntu1~20.04',
  '1.2.3_alpha1-r0',
  '1.0a1.post2.dev3',
  '2!1.0',
  '1.0-SNAPSHOT',
  '1.0.0.Final',
  'v0.0.0-20210101000000-abcdef123456',
  '1.2_git20200101',
  '0.9.8zh-r1',
  '00001',
  '1.0rc',
  '1.0-sp1',
  '1-ga',
  '1.0.0.beta1',
  '2.2.6.3',
  'v5.4.31',
  '1.0.0-patch1',
  '1.0.0-RC1-dev',
  '2023.01.15',
  '13.0.1.0-Beta.2',
  '1..2',
  '~',
  '^',
  '',
];
const version = fc.oneof(shaped, mutated(fc.constantFrom(...WORDS)), anyText);

const sign = (n: number) => (n > 0 ? 1 : n < 0 ? -1 : 0);

describe.each(SCHEMES)('%s versions', (scheme) => {
  test('compare is antisymmetric and reflexive for any strings; isValid is a boolean', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const ab = compareVersions(scheme, a, b);
        const ba = compareVersions(scheme, b, a);
        expect(Number.isNaN(ab)).toBe(false);
        expect(sign(ab)).toBe(0 - sign(ba) || 0);
        expect(compareVersions(scheme, a, a)).toBe(0);
        expect(typeof isValidVersion(scheme, a)).toBe('boolean');
      }),
      fuzz(),
    );
  });
});

// Not Maven: its ComparableVersion is not transitive, and ours orders as it does. maven-artifact
// 3.9.6 itself answers 1.0rc < 1.0.0 < 1.x- < 1.0rc (a list item, [rc], sorts above a string
// qualifier, x, but below release, and x sorts above release).
describe.each(SCHEMES.filter((s) => s !== 'maven'))('%s order among valid versions', (scheme) => {
  test('is transitive: a ≤ b and b ≤ c give a ≤ c, with equality kept', () => {
    const valid = fc
      .oneof(shaped, mutated(fc.constantFrom(...WORDS)))
      .filter((v) => isValidVersion(scheme, v));
    fc.assert(
      fc.property(valid, valid, valid, (a, b, c) => {
        const [x, y, z] = [a, b, c].sort((p, q) => compareVersions(scheme, p, q)) as [string, string, string];
        expect(compareVersions(scheme, x, y)).toBeLessThanOrEqual(0);
        expect(compareVersions(scheme, y, z)).toBeLessThanOrEqual(0);
        expect(compareVersions(scheme, x, z)).toBeLessThanOrEqual(0);
        if (compareVersions(scheme, x, y) === 0 && compareVersions(scheme, y, z) === 0)
          expect(compareVersions(scheme, x, z)).toBe(0);
      }),
      fuzz(),
    );
  });
});
