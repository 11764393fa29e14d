// npm versions: Semantic Versioning 2.0.0 precedence, as npm's `semver` package orders them.
//
// MAJOR.MINOR.PATCH compare as integers; a version with a prerelease sorts before the same version
// without one; prereleases compare identifier by identifier (numeric identifiers as integers and
// before alphanumeric ones, alphanumeric ones in ASCII order, a shorter list first when it is a
// prefix of the longer); build metadata is ignored. Input is read as `semver` reads it in loose
// mode, which accepts every strict version and also what npm tolerates in the wild: surrounding
// blanks, leading `v`, `=` and blanks ("v1.2.3", "=1.2.3"), leading zeros ("01.02.03") and a
// prerelease without its hyphen ("1.2.3beta"). One deliberate difference: numeric identifiers
// past 2^53 compare exactly here, where `semver` compares them as rounded floats.

import { compareDigits, compareStrings, sign } from './digits.ts';

export interface SemVer {
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
  build: string[];
}

const MAX_LENGTH = 256;
const MAX_SAFE_INTEGER = String(Number.MAX_SAFE_INTEGER);

const PRE_ID = String.raw`(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|\d+)`;
const BUILD_ID = '[a-zA-Z0-9-]+';
const LOOSE = new RegExp(
  String.raw`^[v=\s]*(\d+)\.(\d+)\.(\d+)` +
    `(?:-?(${PRE_ID}(?:\\.${PRE_ID})*))?` +
    `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);

/** The version's parts, or undefined where `semver` (in loose mode) throws "Invalid Version". */
export function parseSemver(version: string): SemVer | undefined {
  if (version.length > MAX_LENGTH) return undefined;
  const m = LOOSE.exec(version.trim());
  if (!m) return undefined;
  const [major, minor, patch] = [m[1]!, m[2]!, m[3]!];
  // semver refuses a component it cannot hold as a safe integer.
  if ([major, minor, patch].some((n) => compareDigits(n, MAX_SAFE_INTEGER) > 0)) return undefined;
  return {
    major,
    minor,
    patch,
    prerelease: m[4] ? m[4].split('.') : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

export function isValidSemver(version: string): boolean {
  return parseSemver(version) !== undefined;
}

/** Precedence of two versions; an invalid version sorts before every valid one. */
export function compareSemver(a: string, b: string): number {
  return compareParsed(parseSemver(a), parseSemver(b));
}

/** Precedence of two parsed versions (shared with the Go scheme); undefined stands for invalid. */
export function compareParsed(x: SemVer | undefined, y: SemVer | undefined): number {
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  const byMain =
    compareDigits(x.major, y.major) || compareDigits(x.minor, y.minor) || compareDigits(x.patch, y.patch);
  if (byMain !== 0) return sign(byMain);
  return comparePrerelease(x.prerelease, y.prerelease);
}

function comparePrerelease(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 0 : a.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = a[i];
    const q = b[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const byId = compareIdentifier(p, q);
    if (byId !== 0) return byId;
  }
  return 0;
}

function compareIdentifier(a: string, b: string): number {
  const numA = /^\d+$/.test(a);
  const numB = /^\d+$/.test(b);
  if (numA && numB) return sign(compareDigits(a, b));
  if (numA !== numB) return numA ? -1 : 1;
  return compareStrings(a, b);
}
