// RPM versions, [epoch:]version[-release], ordered as rpm 4.18 orders them (rpmvercmp for each
// part; rpm's EVR comparison to combine them).
//
// rpmvercmp splits a string into runs of digits and runs of ASCII letters; every other character
// only separates runs, and which separator it was does not matter. Runs compare pairwise: a
// number beats letters, numbers compare as integers, letters as bytes. `~` sorts before
// everything, the end of the string included (1.0~rc1 < 1.0); `^` sorts after the end of the
// string but before anything else (1.0 < 1.0^git1 < 1.0.1).
//
// An EVR splits at the epoch (leading digits before a colon; none is 0) and at the last hyphen.
// Epoch, version and release compare in that order; a version with no release at all sorts
// before the same version with one (rpm.vercmp("1.0", "1.0-1") is -1).

import { compareDigits, compareStrings, isAsciiLetter, isDigit, sign } from './digits.ts';

export interface RpmVersion {
  epoch: string;
  version: string;
  release: string | undefined;
}

export function parseRpm(evr: string): RpmVersion {
  const epochEnd = /^\d*/.exec(evr)![0].length;
  const hasEpoch = evr[epochEnd] === ':';
  const epoch = hasEpoch ? evr.slice(0, epochEnd) || '0' : '0';
  const rest = hasEpoch ? evr.slice(epochEnd + 1) : evr;
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, version: rest, release: undefined };
  return { epoch, version: rest.slice(0, hyphen), release: rest.slice(hyphen + 1) };
}

export function compareRpm(a: string, b: string): number {
  const x = parseRpm(a);
  const y = parseRpm(b);
  const byEpoch = rpmvercmp(x.epoch, y.epoch);
  if (byEpoch !== 0) return byEpoch;
  const byVersion = rpmvercmp(x.version, y.version);
  if (byVersion !== 0) return byVersion;
  if (x.release === undefined || y.release === undefined) {
    return x.release === y.release ? 0 : x.release === undefined ? -1 : 1;
  }
  return rpmvercmp(x.release, y.release);
}

/**
 * What rpmbuild would write into a package: an optional numeric epoch, then a version and an
 * optional release made of alphanumerics and `._+~^` (neither may hold a hyphen).
 */
export function isValidRpm(evr: string): boolean {
  return /^(?:\d+:)?[A-Za-z0-9._+~^]+(?:-[A-Za-z0-9._+~^]+)?$/.test(evr);
}

const isAlnum = (c: string | undefined): boolean => isDigit(c) || isAsciiLetter(c);

/** rpm's segment-wise comparison of one version or release string; returns -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a[i]) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]) && b[j] !== '~' && b[j] !== '^') j++;

    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;

    const numeric = isDigit(a[i]);
    const inRun = numeric ? isDigit : isAsciiLetter;
    let ei = i;
    while (ei < a.length && inRun(a[ei])) ei++;
    let ej = j;
    while (ej < b.length && inRun(b[ej])) ej++;
    // b has a run of the other kind here: a number is newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    const runA = a.slice(i, ei);
    const runB = b.slice(j, ej);
    const byRun = numeric ? compareDigits(runA, runB) : compareStrings(runA, runB);
    if (byRun !== 0) return sign(byRun);
    i = ei;
    j = ej;
  }
  // Every run matched; whichever string has something left (other than separators) is newer.
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}
