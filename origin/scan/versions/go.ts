// Go module versions, ordered as golang.org/x/mod/semver orders them, with the leading "v"
// optional (OSV writes Go versions without it).
//
// Strict Semantic Versioning 2.0.0: no leading zeros in numbers or numeric prerelease
// identifiers, plus Go's shorthands v1 and v1.2 for v1.0.0 and v1.2.0 (without prerelease or
// build). Pseudo-versions need no special case: v0.0.0-20191109021931-daa7c04131f5 and
// v1.2.4-0.20191109021931-daa7c04131f5 are prereleases, whose timestamps order as strings of equal
// length. Build metadata, "+incompatible" included, is ignored. An invalid version sorts before
// every valid one, and all invalid versions are equal, as in x/mod/semver.

import { compareParsed, type SemVer } from './semver.ts';

const NUM = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const FULL = new RegExp(
  `^v(${NUM})\\.(${NUM})\\.(${NUM})` +
    `(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?` +
    `(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);
const SHORT = new RegExp(`^v(${NUM})(?:\\.(${NUM}))?$`);

export function parseGo(version: string): SemVer | undefined {
  const v = version.startsWith('v') ? version : `v${version}`;
  const full = FULL.exec(v);
  if (full) {
    return {
      major: full[1]!,
      minor: full[2]!,
      patch: full[3]!,
      prerelease: full[4] ? full[4].split('.') : [],
      build: full[5] ? full[5].split('.') : [],
    };
  }
  const short = SHORT.exec(v);
  if (short) return { major: short[1]!, minor: short[2] ?? '0', patch: '0', prerelease: [], build: [] };
  return undefined;
}

export function isValidGo(version: string): boolean {
  return parseGo(version) !== undefined;
}

export function compareGo(a: string, b: string): number {
  return compareParsed(parseGo(a), parseGo(b));
}
