// Maven versions order as Maven 3.9's ComparableVersion orders them. No oracle runs here (there is
// no JVM or Maven on the test machines); the expected orders are facts stated by Maven's own
// ComparableVersionTest, by the POM reference's version order specification where Maven 3.9 still
// agrees with it, and by the release histories of well-known artifacts.

import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';

const maven = (a: string, b: string): number => compareVersions('maven', a, b);

function expectAscending(versions: string[]): void {
  for (let i = 0; i < versions.length; i++) {
    for (let j = i + 1; j < versions.length; j++) {
      expect(maven(versions[i]!, versions[j]!), `${versions[i]} < ${versions[j]}`).toBeLessThan(0);
      expect(maven(versions[j]!, versions[i]!), `${versions[j]} > ${versions[i]}`).toBeGreaterThan(0);
    }
  }
}

function expectEqual(pairs: [string, string][]): void {
  for (const [a, b] of pairs) {
    expect(maven(a, b), `${a} == ${b}`).toBe(0);
    expect(maven(b, a), `${b} == ${a}`).toBe(0);
  }
}

describe("Maven versions order as ComparableVersion orders them (Maven's ComparableVersionTest)", () => {
  it('orders qualifiers alpha < beta < milestone < rc = cr < snapshot < release < sp < other words < numbers', () => {
    expectAscending([
      '1-alpha2snapshot',
      '1-alpha2',
      '1-alpha-123',
      '1-beta-2',
      '1-beta123',
      '1-m2',
      '1-m11',
      '1-rc',
      '1-cr2',
      '1-rc123',
      '1-SNAPSHOT',
      '1',
      '1-sp',
      '1-sp2',
      '1-sp123',
      '1-abc',
      '1-def',
      '1-pom-1',
      '1-1-snapshot',
      '1-1',
      '1-2',
      '1-123',
    ]);
  });

  it('orders numbers, dots and hyphens: 2.0 < 2.0.a < 2-1 < 2.0.2 … < 11m', () => {
    expectAscending([
      '2.0',
      '2.0.a',
      '2-1',
      '2.0.2',
      '2.0.123',
      '2.1.0',
      '2.1-a',
      '2.1b',
      '2.1-c',
      '2.1-1',
      '2.1.0.1',
      '2.2',
      '2.123',
      '11.a2',
      '11.a11',
      '11.b2',
      '11.b11',
      '11.m2',
      '11.m11',
      '11',
      '11.a',
      '11b',
      '11c',
      '11m',
    ]);
  });

  it('holds trailing zeros, separators around words, aliases and case as equal', () => {
    expectEqual([
      ['1', '1.0'],
      ['1', '1.0.0'],
      ['1.0', '1.0.0'],
      ['1', '1-0'],
      ['1', '1.0-0'],
      ['1.0', '1.0-0'],
      ['1a', '1-a'],
      ['1a', '1.0-a'],
      ['1a', '1.0.0-a'],
      ['1.0a', '1-a'],
      ['1.0.0a', '1-a'],
      ['1x', '1-x'],
      ['1x', '1.0-x'],
      ['1x', '1.0.0-x'],
      ['1.0x', '1-x'],
      ['1.0.0x', '1-x'],
      ['1cr', '1rc'],
      ['1a1', '1-alpha-1'],
      ['1b2', '1-beta-2'],
      ['1m3', '1-milestone-3'],
      ['1X', '1x'],
      ['1A', '1a'],
      ['1m3', '1MILESTONE3'],
      ['1Cr', '1Rc'],
      ['1ga', '1'],
      ['1GA', '1'],
      ['1release', '1'],
      ['1RELeaSE', '1'],
      ['1final', '1'],
      ['1FINAL', '1'],
      ['1.0.0-ALPHA1', '1.0.0-alpha1'],
      ['1-abcdefghijklmnopqrstuvwxyz', '1-ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
    ]);
    expectEqual(Array.from({ length: 19 }, (_, i) => [`${'0'.repeat(i)}1`, '1'] as [string, string]));
    expectEqual(Array.from({ length: 19 }, (_, i) => [`${'0'.repeat(i)}0`, '0'] as [string, string]));
  });

  it.each([
    ['1', '2'],
    ['1.5', '2'],
    ['1', '2.5'],
    ['1.0', '1.1'],
    ['1.0.0', '1.1'],
    ['1.0.1', '1.1'],
    ['1.1', '1.2.0'],
    ['1.0-alpha-1', '1.0'],
    ['1.0-alpha-1', '1.0-alpha-2'],
    ['1.0-alpha-1', '1.0-beta-1'],
    ['1.0-beta-1', '1.0-SNAPSHOT'],
    ['1.0-SNAPSHOT', '1.0'],
    ['1.0-alpha-1-SNAPSHOT', '1.0-alpha-1'],
    ['1.0', '1.0-1'],
    ['1.0-1', '1.0-2'],
    ['1.0.0', '1.0-1'],
    ['2.0-1', '2.0.1'],
    ['2.0.1-klm', '2.0.1-lmn'],
    ['2.0.1', '2.0.1-xyz'],
    ['2.0.1', '2.0.1-123'],
    ['2.0.1-xyz', '2.0.1-123'],
    ['0.7', '2'],
    ['0.2', '1.0.7'],
    ['aardvark', 'zebra'],
    ['J', '7'],
    ['c', '7'],
    // MNG-5568: transitive with an unusual version.
    ['6.1.0rc3', '6.1.0'],
    ['6.1.0rc3', '6.1H.5-beta'],
    ['6.1.0', '6.1H.5-beta'],
    // MNG-6572: numbers past int and long.
    ['20190126.230843', '1234567890.12345'],
    ['1234567890.12345', '123456789012345.1H.5-beta'],
    ['123456789012345.1H.5-beta', '12345678901234567890.1H.5-beta'],
    // MNG-6964: a qualifier list after -0 still counts.
    ['1-0.alpha', '1'],
    ['1-0.beta', '1'],
    ['1-0.alpha', '1-0.beta'],
    // MNG-7714: final is a release, sp after it.
    ['1.0.final-redhat', '1.0-sp1-redhat'],
    ['1.0.final-redhat', '1.0-sp-1-redhat'],
    ['1.0.final-redhat', '1.0-sp.1-redhat'],
  ])('%s < %s', (a, b) => {
    expect(maven(a, b)).toBeLessThan(0);
    expect(maven(b, a)).toBeGreaterThan(0);
  });

  it.each(['abc', 'alpha', 'a', 'beta', 'b', 'def', 'milestone', 'm', 'RC'])(
    'reads .%s like -%s (MNG-7644): 1.0.0.X1 < 1.0.0-X2, 2-X == 2.0.X == 2.0.0.X',
    (x) => {
      expect(maven(`1.0.0.${x}1`, `1.0.0-${x}2`)).toBeLessThan(0);
      expectEqual([
        [`2-${x}`, `2.0.${x}`],
        [`2-${x}`, `2.0.0.${x}`],
        [`2.0.${x}`, `2.0.0.${x}`],
      ]);
    },
  );
});

describe('Maven versions follow the POM reference where Maven 3.9 agrees with it', () => {
  it('pads the shorter version with "null" values matching the other prefix', () => {
    expectAscending(['1', '1.1']);
    expectAscending(['1-snapshot', '1', '1-sp']);
    expectAscending(['1-foo2', '1-foo10']);
    expectAscending(['1-foo', '1-1', '1.1']);
    expectEqual([
      ['1.foo', '1-foo'],
      ['1.ga', '1-ga'],
      ['1-ga', '1-0'],
      ['1-0', '1.0'],
      ['1.0', '1'],
      ['1-a1', '1-alpha-1'],
    ]);
    expect(maven('1-sp', '1-ga')).toBeGreaterThan(0);
    expect(maven('1-sp.1', '1-ga.1')).toBeGreaterThan(0);
  });

  it('reads a qualifier followed by -number as one item, unlike the POM reference\'s "1-sp-1 < 1-ga-1 = 1-1"', () => {
    // Since Maven 3.9 "sp-1" and "ga-1" are combinations (qualifier, then number), compared by
    // qualifier first; a combination sorts before a bare number.
    expect(maven('1-sp-1', '1-ga-1')).toBeGreaterThan(0);
    expect(maven('1-ga-1', '1-1')).toBeLessThan(0);
  });
});

describe('Maven versions of real artifacts', () => {
  it.each([
    [
      'log4j-core',
      [
        '2.0-alpha1',
        '2.0-beta9',
        '2.0-rc1',
        '2.0-rc2',
        '2.0',
        '2.14.1',
        '2.15.0',
        '2.16.0',
        '2.17.0',
        '2.17.1',
      ],
    ],
    [
      'spring-core',
      ['5.0.0.M1', '5.0.0.RC1', '5.0.0.RELEASE', '5.3.30', '6.0.0-M1', '6.0.0-RC1', '6.0.0', '6.1.5'],
    ],
    [
      'hibernate-core',
      ['5.6.15.Final', '6.0.0.Alpha1', '6.0.0.Beta1', '6.0.0.CR1', '6.0.0.Final', '6.4.4.Final'],
    ],
    ['jackson-databind', ['2.13.4', '2.13.4.1', '2.13.4.2', '2.14.0-rc1', '2.14.0', '2.15.0']],
    ['guava', ['30.1-jre', '31.1-android', '31.1-jre', '32.0.0-android', '32.0.0-jre', '33.0.0-jre']],
    ['netty', ['4.1.9.Final', '4.1.94.Final', '4.1.100.Final']],
    ['commons-collections', ['3.2.1', '3.2.2', '20040616']],
    ['junit-jupiter', ['5.10.0-M1', '5.10.0-RC1', '5.10.0', '5.10.1']],
  ])('%s releases in order', (_, versions) => expectAscending(versions as string[]));

  it('holds .RELEASE and .Final equal to the plain version', () => {
    expectEqual([
      ['5.0.0.RELEASE', '5.0.0'],
      ['6.0.0.Final', '6.0.0'],
      ['1.0.GA', '1.0'],
    ]);
  });
});

describe('Maven version validity', () => {
  it('takes any non-empty string without blanks, as Maven orders any string', () => {
    for (const v of ['1', '1.0-SNAPSHOT', '31.1-jre', 'abc', '1.0.0.Final'])
      expect(isValidVersion('maven', v), v).toBe(true);
    for (const v of ['', ' ', '1.0 beta', '1.0\t'])
      expect(isValidVersion('maven', v), JSON.stringify(v)).toBe(false);
  });
});
