// The glob of immutable-tag rules: `*` any run (none too), `?` one character, the rest literal and
// case-sensitive, always the whole tag.
import { describe, expect, test } from 'vitest';
import { matchesAnyTag, matchesTag, TAG_PATTERN } from '../../origin/policy/tag-pattern.ts';

describe('matchesTag', () => {
  test.each([
    ['v1.2.0', 'v1.2.0', true],
    ['v1.2.0', 'v1.2.1', false],
    ['v*', 'v', true],
    ['v*', 'v1.2.0', true],
    ['v*', 'xv1', false],
    ['v*', 'V1', false],
    ['*', 'anything-at_all.1', true],
    ['release-?', 'release-1', true],
    ['release-?', 'release-10', false],
    ['release-?', 'release-', false],
    ['*-prod', 'eu-west-prod', true],
    ['*-prod', 'eu-west-prod-1', false],
    ['v*.*.*', 'v1.2.3', true],
    ['v*.*.*', 'v1.2', false],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['**', '', true],
    ['?*?', 'ab', true],
    ['?*?', 'a', false],
    // Dots are literal, not any character.
    ['1.0', '1x0', false],
  ])('%s against %s: %s', (pattern, tag, expected) => {
    expect(matchesTag(pattern, tag)).toBe(expected);
  });

  test('a long run of stars against a long tag that just misses ends quickly', () => {
    const started = performance.now();
    expect(matchesTag(`${'*a'.repeat(60)}b`, 'a'.repeat(128))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });

  test('any of several patterns', () => {
    expect(matchesAnyTag(['v*', 'stable'], 'stable')).toBe(true);
    expect(matchesAnyTag(['v*', 'stable'], 'latest')).toBe(false);
    expect(matchesAnyTag([], 'v1')).toBe(false);
  });
});

describe('TAG_PATTERN', () => {
  test('takes tag characters and the wildcards, 1 to 128 of them', () => {
    for (const ok of ['v*', 'release-?', '*', 'A_b.c-1', 'x'.repeat(128)])
      expect(TAG_PATTERN.test(ok), ok).toBe(true);
    for (const bad of ['', 'v/1', 'v 1', '[ab]', 'x'.repeat(129), 'v1\n'])
      expect(TAG_PATTERN.test(bad), bad).toBe(false);
  });
});
