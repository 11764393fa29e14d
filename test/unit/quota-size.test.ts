// The sizes in a quota refusal, as docker prints them: decimal units, one decimal at most, the
// usage rounded down (never more than is used) and the limit to the nearest.
import { describe, expect, test } from 'vitest';
import { formatSize } from '../../origin/policy/quotas.ts';

describe('formatSize', () => {
  test('the issue\'s example: "9.8 GB of 10 GB"', () => {
    expect(formatSize(9_800_000_000, Math.floor)).toBe('9.8 GB');
    expect(formatSize(10_000_000_000, Math.round)).toBe('10 GB');
  });

  test('bytes below 1 kB are whole bytes; a unit up from 1000', () => {
    expect(formatSize(0, Math.floor)).toBe('0 B');
    expect(formatSize(999, Math.floor)).toBe('999 B');
    expect(formatSize(1000, Math.floor)).toBe('1 kB');
    expect(formatSize(1234, Math.floor)).toBe('1.2 kB');
  });

  test('a usage just under a limit is never shown as the limit: rounded down', () => {
    expect(formatSize(9_999_999_999, Math.floor)).toBe('9.9 GB');
    expect(formatSize(9_960_000_000, Math.round)).toBe('10 GB');
  });

  test('rounding up to 1000 of a unit moves to the next unit', () => {
    expect(formatSize(999_960, Math.round)).toBe('1 MB');
    expect(formatSize(999_960, Math.floor)).toBe('999.9 kB');
    expect(formatSize(10 * 1024 ** 3, Math.round)).toBe('10.7 GB');
  });
});
