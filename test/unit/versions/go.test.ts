// Go module versions order as golang.org/x/mod/semver orders them. No oracle runs here (there is no
// Go toolchain on the test machines); the expected orders are facts stated by x/mod/semver's
// documentation and tests and by the Go modules reference on pseudo-versions.

import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';

const go = (a: string, b: string): number => compareVersions('go', a, b);

function expectAscending(versions: string[]): void {
  for (let i = 0; i < versions.length; i++) {
    for (let j = i + 1; j < versions.length; j++) {
      expect(go(versions[i]!, versions[j]!), `${versions[i]} < ${versions[j]}`).toBeLessThan(0);
      expect(go(versions[j]!, versions[i]!), `${versions[j]} > ${versions[i]}`).toBeGreaterThan(0);
    }
  }
}

describe('Go versions order as x/mod/semver orders them', () => {
  it('in x/mod/semver test order, shorthands and build metadata included', () => {
    expectAscending([
      'v1.0.0-alpha',
      'v1.0.0-alpha.1',
      'v1.0.0-alpha.beta',
      'v1.0.0-beta',
      'v1.0.0-beta.2',
      'v1.0.0-beta.11',
      'v1.0.0-rc.1',
      'v1.0.0',
      'v1.2.0',
      'v1.2.3-456',
      'v1.2.3-456.789',
      'v1.2.3-456-789',
      'v1.2.3-456a',
      'v1.2.3-pre',
      'v1.2.3-pre.1',
      'v1.2.3-zzz',
      'v1.2.3',
    ]);
    expect(go('v1', 'v1.0.0')).toBe(0);
    expect(go('v1.0', 'v1.0.0')).toBe(0);
    expect(go('v1.2', 'v1.2.0')).toBe(0);
    expect(go('v1.2.3-pre+meta', 'v1.2.3-pre')).toBe(0);
    expect(go('v1.2.3+meta-pre.sha.256a', 'v1.2.3')).toBe(0);
  });

  it('with the leading v optional, as OSV writes Go versions', () => {
    expect(go('1.2.3', 'v1.2.3')).toBe(0);
    expect(go('1.2.3', 'v1.2.4')).toBeLessThan(0);
    expect(go('0.0.0-20191109021931-daa7c04131f5', 'v0.0.1')).toBeLessThan(0);
  });

  it('ignores +incompatible, which is build metadata', () => {
    expect(go('v20.10.24+incompatible', 'v20.10.24')).toBe(0);
    expect(go('v20.10.24+incompatible', 'v20.10.25+incompatible')).toBeLessThan(0);
    expect(go('v2.0.0+incompatible', 'v1.9.9')).toBeGreaterThan(0);
  });

  it('orders pseudo-versions as prereleases of the version after their base, by timestamp', () => {
    expectAscending([
      // vX.0.0-timestamp-hash: no base version.
      'v0.0.0-20190101000000-aaaaaaaaaaaa',
      'v0.0.0-20191109021931-daa7c04131f5',
      'v0.0.0-20220722155257-8c9f86f7a55f',
      'v0.0.1',
      // vX.Y.(Z+1)-0.timestamp-hash: after release vX.Y.Z, before any prerelease of vX.Y.(Z+1).
      'v1.2.3',
      'v1.2.4-0.20191109021931-daa7c04131f5',
      'v1.2.4-0.20200101000000-0123456789ab',
      // vX.Y.Z-pre.0.timestamp-hash: after prerelease vX.Y.Z-pre.
      'v1.2.4-pre',
      'v1.2.4-pre.0.20191109021931-daa7c04131f5',
      'v1.2.4-pre.1',
      'v1.2.4',
    ]);
  });

  it('puts every invalid version before every valid one, and holds invalid versions equal', () => {
    expect(go('bad', 'v0.0.0')).toBeLessThan(0);
    expect(go('v1.0.0', 'v1.2-pre')).toBeGreaterThan(0);
    expect(go('bad', 'v1.2-pre')).toBe(0);
  });
});

describe('Go version validity follows x/mod/semver.IsValid', () => {
  it.each([
    'v1',
    'v1.2',
    'v1.2.3',
    '1.2.3',
    'v0.0.0-20191109021931-daa7c04131f5',
    'v1.2.3-pre.1+meta',
    'v2.0.0+incompatible',
    'v1.2.3-456-789',
  ])('accepts %s', (v) => expect(isValidVersion('go', v)).toBe(true));

  it.each([
    '',
    'bad',
    'v',
    'vv1.2.3',
    'v1-alpha.beta.gamma',
    'v1-pre',
    'v1+meta',
    'v1.2-pre',
    'v1.2+meta',
    'v01.2.3',
    'v1.02.3',
    'v1.2.03',
    'v1.2.3-01',
    'v1.2.3-pre..1',
    'v1.2.3-',
    'v1.2.3+',
    'v1.2.3.4',
    'v1.2.3-pre_1',
    ' v1.2.3',
  ])('refuses %j', (v) => expect(isValidVersion('go', v)).toBe(false));
});
