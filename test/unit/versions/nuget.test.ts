// NuGet versions order as NuGet.Versioning's VersionComparer.Default does. No NuGet client is
// packaged for Debian, so the expectations are NuGet's documented rules
// (learn.microsoft.com/nuget/concepts/package-versioning: "Version precedence"), each trap
// written out, and a chain that must sort strictly.

import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';

const ours = (a: string, b: string): number => compareVersions('nuget', a, b);

describe('NuGet version ordering', () => {
  it('sorts a chain of versions strictly, each before the next', () => {
    const chain = [
      '0.9',
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.0.1',
      '1.0.1',
      '1.2.3.4',
      '1.10',
      '13.0.1',
      '13.0.3',
    ];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++) {
        expect([chain[i], chain[j], Math.sign(ours(chain[i]!, chain[j]!))]).toEqual([
          chain[i],
          chain[j],
          Math.sign(i - j),
        ]);
      }
    }
  });

  it('missing parts are zero, leading zeros and build metadata do not count', () => {
    expect(ours('1.0', '1.0.0.0')).toBe(0);
    expect(ours('1', '1.0.0')).toBe(0);
    expect(ours('1.01.0', '1.1.0')).toBe(0);
    expect(ours('1.0.0+abc', '1.0.0+def')).toBe(0);
  });

  it('prerelease labels compare case-insensitively, numbers before words, as text when not numeric', () => {
    expect(ours('1.0.0-Beta', '1.0.0-beta')).toBe(0);
    expect(ours('1.0.0-BETA.2', '1.0.0-beta.10')).toBeLessThan(0);
    // Legacy SemVer 1 labels: "beta10" is one word, so it sorts before "beta2".
    expect(ours('1.0.0-beta10', '1.0.0-beta2')).toBeLessThan(0);
    expect(ours('1.0.0-1', '1.0.0-a')).toBeLessThan(0);
    expect(ours('1.0.0-preview.1.23110.8', '1.0.0')).toBeLessThan(0);
    // The fourth part orders before the prerelease is looked at.
    expect(ours('8.0.0.1-rc.1', '8.0.0')).toBeGreaterThan(0);
  });

  it('accepts 1 to 4 numeric parts with SemVer 2 labels, and nothing else', () => {
    for (const v of ['1', '1.0', '1.0.0', '1.0.0.0', '1.0.0-beta.1+sha.5', '8.0.0-preview.1.23110.8']) {
      expect(isValidVersion('nuget', v)).toBe(true);
    }
    for (const v of ['1.0.0.0.0', 'v1.0.0', '1.0.0-', '1.0.0-beta..1', '[1.0, )', '*', '', '1'.repeat(300)]) {
      expect(isValidVersion('nuget', v)).toBe(false);
    }
  });
});
