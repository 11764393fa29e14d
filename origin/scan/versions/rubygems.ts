// RubyGems versions, ordered as Gem::Version#<=> orders them (rubygems 3.x):
//
// A version is digits, then ".segment"s of letters and digits, then optionally "-" and dotted
// parts; "-" is read as ".pre." (so 1.0-1 is the prerelease 1.0.pre.1). The string is cut into
// segments, each a run of digits (a number) or of letters (a string): "1.0.0.rc1" is
// [1, 0, 0, "rc", 1]. Trailing zeros of the numeric part and of the part after the first string
// do not count (1.0 == 1 and 1.a.0 == 1.a); a missing segment counts as 0. A string segment
// sorts before a number, so a version with letters is a prerelease of the one without
// (1.0.a < 1.0 < 1.0.1); strings compare byte by byte ("RC" < "a" < "b" < "beta" < "pre" < "rc").
// An invalid version sorts before every valid one and all invalid versions are equal.

import { compareDigits, compareStrings, isDigit, sign } from './digits.ts';

const MAX_LENGTH = 256;
// Gem::Version::ANCHORED_VERSION_PATTERN; an empty (or blank) version is "0".
const PATTERN = /^\s*(?:[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?\s*$/;

export function isValidRubyGems(version: string): boolean {
  return version.length <= MAX_LENGTH && PATTERN.test(version);
}

/** Gem::Version#canonical_segments: digit runs as digit strings, letter runs marked by a leading "~". */
function canonicalSegments(version: string): string[] | undefined {
  if (!isValidRubyGems(version)) return undefined;
  const text = version.trim().replaceAll('-', '.pre.');
  const segments = text.match(/[0-9]+|[a-z]+/gi) ?? ['0'];
  const firstString = segments.findIndex((s) => !isDigit(s[0]));
  const numeric = firstString < 0 ? segments : segments.slice(0, firstString);
  const rest = firstString < 0 ? [] : segments.slice(firstString);
  return [...dropTrailingZeros(numeric), ...dropTrailingZeros(rest)];
}

function dropTrailingZeros(segments: string[]): string[] {
  let end = segments.length;
  while (end > 0 && isDigit(segments[end - 1]![0]) && /^0+$/.test(segments[end - 1]!)) end--;
  return segments.slice(0, end);
}

export function compareRubyGems(a: string, b: string): number {
  const x = canonicalSegments(a);
  const y = canonicalSegments(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i] ?? '0';
    const q = y[i] ?? '0';
    const numP = isDigit(p[0]);
    const numQ = isDigit(q[0]);
    if (numP && numQ) {
      const c = compareDigits(p, q);
      if (c !== 0) return sign(c);
    } else if (numP !== numQ) {
      return numP ? 1 : -1;
    } else {
      const c = compareStrings(p, q);
      if (c !== 0) return c;
    }
  }
  return 0;
}
