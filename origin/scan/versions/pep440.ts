// Python versions, ordered as PEP 440 (and the `packaging` library's Version) orders them:
//
//   [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]
//
// Input is normalised as PEP 440 allows: case-insensitive, surrounding whitespace and a leading
// "v" dropped, separators `.`, `-`, `_` (or none) around pre/post/dev markers, alpha/beta/c/pre/
// preview spelled for a/b/rc, rev/r for post, a missing number as 0, and "1.0-1" as the implicit
// post-release 1.0.post1. So 1.0-RC1 == 1.0rc1 and 1.0 == 1.0.0 (trailing zeros of the release
// do not count).
//
// Order within one release: X.devN < XaN < XbN < XrcN < X < X.postN, where a dev marker also
// sorts its pre or post release before the one without (1.0a1.dev1 < 1.0a1, 1.0.post1.dev1 <
// 1.0.post1). The epoch sorts before all that. A local version sorts after the same version
// without one; local segments compare as integers when numeric, else as lowercase strings, and a
// numeric segment is newer than an alphanumeric one. An invalid version sorts before every valid
// one, and all invalid versions are equal.

import { compareDigits, compareStrings, sign } from './digits.ts';

export interface Pep440Version {
  epoch: string;
  release: string[];
  pre: { label: 'a' | 'b' | 'rc'; n: string } | undefined;
  post: string | undefined;
  dev: string | undefined;
  local: string[];
}

// PEP 440 appendix B, verbatim in meaning.
const PATTERN = new RegExp(
  String.raw`^\s*v?` +
    String.raw`(?:(\d+)!)?` + // epoch
    String.raw`(\d+(?:\.\d+)*)` + // release
    String.raw`(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?` + // pre
    String.raw`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` + // post
    String.raw`(?:[-_.]?(dev)[-_.]?(\d+)?)?` + // dev
    String.raw`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`, // local
  'i',
);

const PRE_LABELS: Record<string, 'a' | 'b' | 'rc'> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

export function parsePep440(version: string): Pep440Version | undefined {
  const m = PATTERN.exec(version);
  if (!m) return undefined;
  const [, epoch, release, preLabel, preN, postImplicit, postLabel, postN, devLabel, devN, local] = m;
  return {
    epoch: epoch ?? '0',
    release: release!.split('.'),
    pre: preLabel ? { label: PRE_LABELS[preLabel.toLowerCase()]!, n: preN ?? '0' } : undefined,
    post: postImplicit ?? (postLabel ? (postN ?? '0') : undefined),
    dev: devLabel ? (devN ?? '0') : undefined,
    local: local ? local.toLowerCase().split(/[-_.]/) : [],
  };
}

export function isValidPep440(version: string): boolean {
  return parsePep440(version) !== undefined;
}

export function comparePep440(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  return sign(
    compareDigits(x.epoch, y.epoch) ||
      compareRelease(x.release, y.release) ||
      comparePhase(x, y) ||
      compareOptional(x.post, y.post, -1) ||
      compareOptional(x.dev, y.dev, 1) ||
      compareLocal(x.local, y.local),
  );
}

/** Release numbers pairwise, with trailing zeros dropped (so a shorter list is padded with 0s). */
function compareRelease(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const byPart = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (byPart !== 0) return byPart;
  }
  return 0;
}

/**
 * The pre-release phase: a bare dev release (no pre, no post) comes first, then a, b, rc by
 * number, then the final release and its post releases.
 */
function comparePhase(x: Pep440Version, y: Pep440Version): number {
  const rank = (v: Pep440Version): number => {
    if (v.pre) return { a: 1, b: 2, rc: 3 }[v.pre.label];
    return v.post === undefined && v.dev !== undefined ? 0 : 4;
  };
  const byRank = rank(x) - rank(y);
  if (byRank !== 0 || !x.pre || !y.pre) return byRank;
  return compareDigits(x.pre.n, y.pre.n);
}

/** Compares optional numbers; an absent one sorts before (-1) or after (1) every present one. */
function compareOptional(a: string | undefined, b: string | undefined, absent: -1 | 1): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? absent : -absent;
  return compareDigits(a, b);
}

function compareLocal(a: string[], b: string[]): number {
  // No local version sorts before any local version; otherwise segment by segment, a prefix first.
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const p = a[i];
    const q = b[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const numP = /^\d+$/.test(p);
    const numQ = /^\d+$/.test(q);
    const bySegment =
      numP && numQ ? compareDigits(p, q) : numP !== numQ ? (numP ? 1 : -1) : compareStrings(p, q);
    if (bySegment !== 0) return bySegment;
  }
  return 0;
}
