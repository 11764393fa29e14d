// NuGet versions, ordered as NuGet.Versioning's VersionComparer.Default orders them:
//
//   Major[.Minor[.Patch[.Revision]]][-prerelease][+metadata]
//
// Missing parts are 0 (1.0 == 1.0.0 == 1.0.0.0) and leading zeros do not count; the fourth part
// (Revision, from the .NET Framework's System.Version) orders after Patch. A prerelease sorts
// before its release; prerelease labels compare one by one, numeric ones as integers and before
// alphanumeric ones, alphanumeric ones case-insensitively (1.0.0-Beta == 1.0.0-beta, and
// 1.0.0-beta10 < 1.0.0-beta2 since they compare as text), fewer labels first when one list is a
// prefix of the other. Build metadata is ignored. An invalid version sorts before every valid one.

import { compareDigits, compareStrings, sign } from './digits.ts';

const MAX_LENGTH = 256;
const LABEL = '[0-9A-Za-z-]+';
const PATTERN = new RegExp(
  String.raw`^\s*(\d+(?:\.\d+){0,3})(?:-(${LABEL}(?:\.${LABEL})*))?(?:\+${LABEL}(?:\.${LABEL})*)?\s*$`,
);

interface NuGetVersion {
  parts: string[];
  labels: string[];
}

function parseNuGet(version: string): NuGetVersion | undefined {
  if (version.length > MAX_LENGTH) return undefined;
  const m = PATTERN.exec(version);
  if (!m) return undefined;
  const parts = m[1]!.split('.');
  while (parts.length < 4) parts.push('0');
  return { parts, labels: m[2] ? m[2].split('.') : [] };
}

export function isValidNuGet(version: string): boolean {
  return parseNuGet(version) !== undefined;
}

export function compareNuGet(a: string, b: string): number {
  const x = parseNuGet(a);
  const y = parseNuGet(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  for (let i = 0; i < 4; i++) {
    const c = compareDigits(x.parts[i]!, y.parts[i]!);
    if (c !== 0) return sign(c);
  }
  const [p, q] = [x.labels, y.labels];
  if (p.length === 0 || q.length === 0) return p.length === q.length ? 0 : p.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(p.length, q.length); i++) {
    const l = p[i];
    const r = q[i];
    if (l === undefined) return -1;
    if (r === undefined) return 1;
    const numL = /^\d+$/.test(l);
    const numR = /^\d+$/.test(r);
    const c =
      numL && numR
        ? sign(compareDigits(l, r))
        : numL !== numR
          ? numL
            ? -1
            : 1
          : compareStrings(l.toUpperCase(), r.toUpperCase());
    if (c !== 0) return c;
  }
  return 0;
}
