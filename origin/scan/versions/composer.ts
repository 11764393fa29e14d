// Packagist (Composer) versions, ordered as Composer orders them: each version is first
// normalised by Composer's VersionParser::normalize, then compared with PHP's version_compare.
//
// normalize reads "v1.2", "1.2.3.4", "1.2.3-beta2", "1.2.3RC1", "1.2-p1", "2023.01.15" (dates)
// and an optional "-dev": 1.2 becomes 1.2.0.0, a → alpha, b → beta, rc → RC, p and pl → patch,
// build metadata ("+…") is dropped. version_compare then cuts the string at ".", "-", "_", "+"
// and between digits and letters, and compares the pieces: numbers as numbers; words by rank
// (dev < alpha = a < beta = b < RC = rc < a number < pl = p; any other word lowest); a number
// against a word as "#" against it. Where one version has more pieces, a number there makes it
// newer and a word is ranked against "#": so 1.0.0-RC1 < 1.0.0 < 1.0.0-patch1.
// A version Composer cannot normalise (a branch such as dev-main) is invalid: it sorts before
// every valid one and all invalid versions are equal.

import { compareDigits, isDigit, sign } from './digits.ts';

const MAX_LENGTH = 256;
// Composer's $modifierRegex, with its (?:[.-]?\d+)*+ written unambiguously (no backtracking).
const MODIFIER = String.raw`[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)(\d*(?:[.-]\d+)*))?([.-]?dev)?`;
const CLASSICAL = new RegExp(String.raw`^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?${MODIFIER}$`, 'i');
const DATE = new RegExp(String.raw`^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})${MODIFIER}$`, 'i');

const STABILITY: Record<string, string> = { a: 'alpha', b: 'beta', p: 'patch', pl: 'patch', rc: 'RC' };

/** VersionParser::normalize for tagged versions; undefined for what it refuses or a dev branch. */
export function normalizeComposer(version: string): string | undefined {
  if (version.length > MAX_LENGTH) return undefined;
  let v = version.trim();
  // Build metadata is dropped; an alias ("1.0 as 2.0") keeps the real version.
  v = v.replace(/^([^,\s+]+)\+\S+$/, '$1');
  const alias = / as /.exec(v);
  if (alias) v = v.slice(0, alias.index);
  let release: string;
  let m = CLASSICAL.exec(v);
  let index: number;
  if (m) {
    release = `${m[1]}${m[2] || '.0'}${m[3] || '.0'}${m[4] || '.0'}`;
    index = 5;
  } else {
    m = DATE.exec(v);
    if (!m) return undefined;
    release = m[1]!.replace(/\D/g, '.');
    index = 2;
  }
  const stability = m[index];
  if (stability) {
    const lower = stability.toLowerCase();
    if (lower === 'stable') return release;
    release += `-${STABILITY[lower] ?? lower}${(m[index + 1] ?? '').replace(/^[.-]+/, '')}`;
  }
  if (m[index + 2]) release += '-dev';
  return release;
}

export function isValidComposer(version: string): boolean {
  return normalizeComposer(version) !== undefined;
}

export function compareComposer(a: string, b: string): number {
  const x = normalizeComposer(a);
  const y = normalizeComposer(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  return phpVersionCompare(x, y);
}

/** PHP's version_compare(a, b). */
export function phpVersionCompare(a: string, b: string): number {
  const x = canonicalPieces(a);
  const y = canonicalPieces(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = comparePiece(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  if (x.length > n) return isDigit(x[n]![0]) ? 1 : sign(rank(x[n]!) - rank('#'));
  if (y.length > n) return isDigit(y[n]![0]) ? -1 : sign(rank('#') - rank(y[n]!));
  return 0;
}

function comparePiece(p: string, q: string): number {
  const numP = isDigit(p[0]);
  const numQ = isDigit(q[0]);
  if (numP && numQ) return sign(compareDigits(p, q));
  return sign(rank(numP ? '#' : p) - rank(numQ ? '#' : q));
}

// php_canonicalize_version then the split at ".": runs of digits and of letters; every other
// character only cuts. (Normalised versions hold nothing else.)
function canonicalPieces(version: string): string[] {
  return version.match(/[0-9]+|[a-zA-Z]+/g) ?? [];
}

// compare_special_version_forms: the first form the piece starts with (strncmp), else -1.
const FORMS: [string, number][] = [
  ['dev', 0],
  ['alpha', 1],
  ['a', 1],
  ['beta', 2],
  ['b', 2],
  ['RC', 3],
  ['rc', 3],
  ['#', 4],
  ['pl', 5],
  ['p', 5],
];

function rank(piece: string): number {
  for (const [form, order] of FORMS) if (piece.startsWith(form)) return order;
  return -1;
}
