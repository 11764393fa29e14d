// Alpine versions, ordered as apk-tools (2.14 / 3.x) orders them. The grammar is
//
//   number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}
//
// read as a sequence of tokens, each of which may only follow certain others. Two versions
// compare token by token while both have a token of the same kind:
//   - the first number, suffix numbers and the -r revision as integers;
//   - later dot-separated numbers as integers, except that when either starts with 0 they compare
//     as strings (1.01 < 1.1, 8.2.0015 < 8.2.002), as Gentoo's rules have it;
//   - the letter by its character; a ~commit hash as a string;
//   - suffixes by rank: _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p.
// When one version runs out of tokens, or the kinds differ, a pre-release suffix (alpha … rc)
// makes its version older; otherwise the version whose token comes earlier in the grammar is the
// newer one: 1.0 < 1.0a < 1.0.1, 1.0 < 1.0-r1 < 1.0_p1, 1.0_rc1 < 1.0. Where one version turns
// invalid, the other (if still valid there) is the newer one.

import { compareDigits, compareStrings, isDigit, sign } from './digits.ts';

// Token kinds, in grammar order; the order is the comparison rule above.
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

const SUFFIXES = ['alpha', 'beta', 'pre', 'rc', '', 'cvs', 'svn', 'git', 'hg', 'p'];
const NO_SUFFIX = SUFFIXES.indexOf('');

interface Token {
  kind: number;
  /** The token's text: digits, the letter, the suffix word or the hash. */
  text: string;
  /** For suffixes, the rank in SUFFIXES. */
  rank: number;
}

const INVALID_TOKEN: Token = { kind: INVALID, text: '', rank: 0 };

/** Reads version token by token, as apk's tokenizer does. */
class Tokens {
  private readonly version: string;
  private pos = 0;
  token: Token;

  constructor(version: string) {
    this.version = version;
    const first = this.run(isDigit);
    this.token = first === '' ? INVALID_TOKEN : { kind: INITIAL_DIGIT, text: first, rank: 0 };
  }

  next(): void {
    this.token = this.read(this.token.kind);
  }

  /** The token at the current position, given the kind of the one before it. */
  private read(previous: number): Token {
    const s = this.version;
    if (this.pos >= s.length) return { kind: END, text: '', rank: 0 };
    const c = s[this.pos]!;
    if (c >= 'a' && c <= 'z') {
      if (previous > DIGIT) return INVALID_TOKEN;
      this.pos++;
      return { kind: LETTER, text: c, rank: 0 };
    }
    if (c === '.' || isDigit(c)) {
      if (c === '.') {
        if (previous > DIGIT) return INVALID_TOKEN;
        this.pos++;
      }
      let kind: number;
      if (previous === INITIAL_DIGIT || previous === DIGIT) kind = DIGIT;
      else if (previous === SUFFIX) kind = SUFFIX_NO;
      else return INVALID_TOKEN;
      const text = this.run(isDigit);
      return text === '' ? INVALID_TOKEN : { kind, text, rank: 0 };
    }
    if (c === '_') {
      if (previous > SUFFIX_NO) return INVALID_TOKEN;
      this.pos++;
      const text = this.run((x) => x !== undefined && x >= 'a' && x <= 'z');
      const rank = text === '' ? -1 : SUFFIXES.indexOf(text);
      return rank < 0 ? INVALID_TOKEN : { kind: SUFFIX, text, rank };
    }
    if (c === '~') {
      if (previous >= COMMIT_HASH) return INVALID_TOKEN;
      this.pos++;
      const text = this.run((x) => x !== undefined && /[0-9a-f]/.test(x));
      return text === '' ? INVALID_TOKEN : { kind: COMMIT_HASH, text, rank: 0 };
    }
    if (c === '-') {
      if (previous >= REVISION_NO || s[this.pos + 1] !== 'r') return INVALID_TOKEN;
      this.pos += 2;
      const text = this.run(isDigit);
      return text === '' ? INVALID_TOKEN : { kind: REVISION_NO, text, rank: 0 };
    }
    return INVALID_TOKEN;
  }

  private run(accept: (c: string | undefined) => boolean): string {
    const start = this.pos;
    while (this.pos < this.version.length && accept(this.version[this.pos])) this.pos++;
    return this.version.slice(start, this.pos);
  }
}

/** Compares two tokens of the same kind. */
function compareTokens(a: Token, b: Token): number {
  switch (a.kind) {
    case DIGIT:
      if (a.text.startsWith('0') || b.text.startsWith('0')) return compareStrings(a.text, b.text);
      return compareDigits(a.text, b.text);
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return compareDigits(a.text, b.text);
    case SUFFIX:
      return a.rank - b.rank;
    default:
      // LETTER and COMMIT_HASH: byte order (a prefix sorts first).
      return compareStrings(a.text, b.text);
  }
}

export function compareApk(a: string, b: string): number {
  const x = new Tokens(a);
  const y = new Tokens(b);
  while (x.token.kind === y.token.kind && x.token.kind < END) {
    const byToken = compareTokens(x.token, y.token);
    if (byToken !== 0) return sign(byToken);
    x.next();
    y.next();
  }
  const s = x.token;
  const t = y.token;
  if (s.kind === t.kind) return 0;
  if (s.kind === SUFFIX && s.rank < NO_SUFFIX) return -1;
  if (t.kind === SUFFIX && t.rank < NO_SUFFIX) return 1;
  return s.kind > t.kind ? -1 : 1;
}

/** What `apk version --check` accepts: the whole string reads as tokens up to the end. */
export function isValidApk(version: string): boolean {
  const tokens = new Tokens(version);
  while (tokens.token.kind < END) tokens.next();
  return tokens.token.kind === END;
}
