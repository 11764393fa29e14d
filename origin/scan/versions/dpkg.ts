// Debian versions, [epoch:]upstream_version[-debian_revision], ordered as `dpkg --compare-versions`
// orders them (deb-version(7)).
//
// Each of upstream version and revision is compared as alternating runs: a run of non-digits,
// character by character, where `~` sorts before everything (even the end of the string), then
// the end of the string and digits, then letters, then every other character; then a run of
// digits, compared as a number. A missing epoch is 0 and a missing revision is "", which orders
// the same as "0": dpkg holds 1.0 and 1.0-0 equal.

import { isAsciiLetter, isDigit, sign } from './digits.ts';

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

const BLANK = /^[ \t]+|[ \t]+$/g;
const INT_MAX = 2_147_483_647;

/**
 * Splits a version the way dpkg does before comparing: surrounding blanks dropped, the epoch up
 * to the first colon, the revision after the last hyphen. Lenient, as `--compare-versions` is:
 * a version dpkg only warns about still splits; see isValidDpkg for what dpkg accepts.
 */
export function parseDpkg(version: string): DpkgVersion {
  const trimmed = version.replace(BLANK, '');
  let epoch = 0;
  let rest = trimmed;
  const colon = trimmed.indexOf(':');
  if (colon >= 0) {
    const parsed = parseEpoch(trimmed.slice(0, colon));
    if (parsed !== undefined) {
      epoch = parsed;
      rest = trimmed.slice(colon + 1);
    }
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, upstream: rest, revision: '' };
  return { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) };
}

export function compareDpkg(a: string, b: string): number {
  const x = parseDpkg(a);
  const y = parseDpkg(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return sign(compareFragment(x.upstream, y.upstream) || compareFragment(x.revision, y.revision));
}

/**
 * What `dpkg --validate-version` accepts: no embedded blanks, an epoch that is a non-negative
 * integer up to INT_MAX, a non-empty upstream version starting with a digit and made of
 * alphanumerics and `.+~-:` (a colon only after an epoch), a non-empty revision (when there is a
 * hyphen) of alphanumerics and `.+~`.
 */
export function isValidDpkg(version: string): boolean {
  const trimmed = version.replace(BLANK, '');
  if (trimmed === '' || /[ \t]/.test(trimmed)) return false;
  let rest = trimmed;
  const colon = trimmed.indexOf(':');
  if (colon >= 0) {
    if (parseEpoch(trimmed.slice(0, colon)) === undefined) return false;
    rest = trimmed.slice(colon + 1);
    if (rest === '') return false;
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen < 0 ? rest : rest.slice(0, hyphen);
  const revision = hyphen < 0 ? '' : rest.slice(hyphen + 1);
  if (hyphen >= 0 && revision === '') return false;
  return /^[0-9][A-Za-z0-9.+~:-]*$/.test(upstream) && /^[A-Za-z0-9.+~]*$/.test(revision);
}

/** The epoch as C's strtol reads it (an optional sign, then digits), or undefined if dpkg refuses it. */
function parseEpoch(text: string): number | undefined {
  const m = /^([+-]?)(\d+)$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[2]);
  if (value > INT_MAX || (m[1] === '-' && value !== 0)) return undefined;
  return value;
}

/** The weight of one character in a non-digit run; the end of the string weighs 0, as a digit does. */
function weight(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  const code = c.charCodeAt(0);
  if (isAsciiLetter(c)) return code;
  return code + 256;
}

function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // A run of non-digits, character by character.
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = weight(a[i]) - weight(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    // A run of digits, as a number: leading zeros skipped, then the longer run is larger, else
    // the first differing digit decides.
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}
