// Maven versions, ordered as Maven 3.9's ComparableVersion orders them (the POM reference's
// "Version Order Specification"; where that page and Maven 3.9 disagree, Maven 3.9 wins).
//
// Every string is a version. Lowercased, it splits into items at `.`, at `-` and where digits
// and non-digits meet; a `-` (or such a transition) opens a nested list, so "1.2-alpha-1" reads
// as [1, 2, [alpha-1]]. Items are:
//   - numbers, compared as integers;
//   - qualifiers, in the order alpha < beta < milestone < rc = cr < snapshot < "" = ga = final =
//     release < sp < any other word (other words alphabetically); a, b, m stand for alpha,
//     beta, milestone when a number follows them;
//   - combinations of a qualifier and a number ("rc1", "alpha-2"), by qualifier then number;
//   - lists.
// A number beats everything else at the same position (1.1 > 1-1 > 1-sp); trailing zeros and
// empty qualifiers are dropped, so 1 == 1.0 == 1-0 == 1.0.0, and a missing item compares as
// "nothing": 1-rc < 1 < 1-sp, 1 < 1.1.

import { compareDigits, compareStrings, isDigit, sign } from './digits.ts';

type Item =
  | { kind: 'number'; digits: string }
  | { kind: 'qualifier'; word: string }
  | { kind: 'combination'; word: string; digits: string }
  | { kind: 'list'; items: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE = QUALIFIERS.indexOf('');
const RELEASE_WORDS = new Set(['ga', 'final', 'release']);

/** A sortable key for a qualifier word: known ones by position, any other word after them. */
function qualifierKey(word: string): string {
  if (RELEASE_WORDS.has(word)) return String(RELEASE);
  const i = QUALIFIERS.indexOf(word);
  return i < 0 ? `${QUALIFIERS.length}-${word}` : String(i);
}

/** A qualifier as Maven spells it internally: cr is rc; a, b, m before a number are alpha, beta, milestone. */
function qualifierWord(word: string, followedByDigit: boolean): string {
  if (followedByDigit && word.length === 1) {
    if (word === 'a') return 'alpha';
    if (word === 'b') return 'beta';
    if (word === 'm') return 'milestone';
  }
  return word === 'cr' ? 'rc' : word;
}

function number(digits: string): Item {
  return { kind: 'number', digits };
}

function parseItem(text: string, digits: boolean, combination: boolean): Item {
  if (combination) {
    const joined = text.replaceAll('-', '');
    const at = joined.search(/[0-9]/);
    return { kind: 'combination', word: qualifierWord(joined.slice(0, at), true), digits: joined.slice(at) };
  }
  if (digits) return number(text);
  return { kind: 'qualifier', word: qualifierWord(text, false) };
}

function isNull(item: Item): boolean {
  switch (item.kind) {
    case 'number':
      return compareDigits(item.digits, '0') === 0;
    case 'qualifier':
      return item.word === '';
    case 'combination':
      return false;
    case 'list':
      return item.items.length === 0;
  }
}

export function parseMaven(version: string): Item {
  const v = version.toLowerCase();
  const root: Item[] = [];
  const lists: Item[][] = [root];
  let list = root;
  const openList = (): void => {
    const inner: Item[] = [];
    list.push({ kind: 'list', items: inner });
    lists.push(inner);
    list = inner;
  };
  let digits = false;
  let combination = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '.') {
      list.push(i === start ? number('0') : parseItem(v.slice(start, i), digits, combination));
      combination = false;
      start = i + 1;
    } else if (c === '-') {
      if (i === start) {
        list.push(number('0'));
      } else {
        // A word, a hyphen and a number ("alpha-1") read as one combination ("alpha1").
        if (!digits && i !== v.length - 1 && isDigit(v[i + 1])) {
          combination = true;
          continue;
        }
        list.push(parseItem(v.slice(start, i), digits, combination));
      }
      start = i + 1;
      if (list.length > 0) openList();
      combination = false;
    } else if (isDigit(c)) {
      if (!digits && i > start) {
        // A word followed by digits ("rc1"): a combination, in a list of its own.
        combination = true;
        if (list.length > 0) openList();
      }
      digits = true;
    } else {
      if (digits && i > start) {
        // Digits followed by a word ("1rc"): the number ends, and the word opens a list.
        list.push(parseItem(v.slice(start, i), true, combination));
        start = i;
        openList();
        combination = false;
      }
      digits = false;
    }
  }
  if (v.length > start) {
    // A trailing word after a dot reads as after a hyphen: 1.0.0.rc1 < 1.0.0-rc2.
    if (!digits && list.length > 0) openList();
    list.push(parseItem(v.slice(start), digits, combination));
  }
  // Innermost lists first, as Maven normalises them.
  for (const items of lists.reverse()) normalize(items);
  return { kind: 'list', items: root };
}

/**
 * Drops "null" items (0, "", an empty list) at the end of a list, and before a qualifier or
 * before a list that starts with a qualifier or combination: 1.0-alpha == 1-alpha, 1.0.0 == 1.
 */
function normalize(items: Item[]): void {
  for (let i = items.length - 1; i >= 0; i--) {
    if (!isNull(items[i]!)) continue;
    const next = items[i + 1];
    if (next === undefined || next.kind === 'qualifier') {
      items.splice(i, 1);
    } else if (next.kind === 'list') {
      const head = next.items[0];
      if (head?.kind === 'combination' || head?.kind === 'qualifier') items.splice(i, 1);
    }
  }
}

/** Compares an item with a missing one ("nothing"): how a shorter list is padded. */
function compareWithNothing(item: Item): number {
  switch (item.kind) {
    case 'number':
      return isNull(item) ? 0 : 1;
    case 'qualifier':
    case 'combination':
      // rc < nothing < sp, and a combination pads by its qualifier alone: rc1 < nothing < sp1.
      return compareStrings(qualifierKey(item.word), String(RELEASE));
    case 'list':
      for (const inner of item.items) {
        const byItem = compareWithNothing(inner);
        if (byItem !== 0) return byItem;
      }
      return 0;
  }
}

function compareItems(a: Item, b: Item): number {
  switch (a.kind) {
    case 'number':
      return b.kind === 'number' ? compareDigits(a.digits, b.digits) : 1;
    case 'qualifier':
      if (b.kind === 'qualifier') return compareStrings(qualifierKey(a.word), qualifierKey(b.word));
      if (b.kind === 'combination') {
        // rc < rc1: a bare qualifier sorts before the same qualifier with a number.
        return compareStrings(qualifierKey(a.word), qualifierKey(b.word)) || -1;
      }
      return -1;
    case 'combination':
      if (b.kind === 'combination') {
        return (
          compareStrings(qualifierKey(a.word), qualifierKey(b.word)) || compareDigits(a.digits, b.digits)
        );
      }
      if (b.kind === 'qualifier') return compareStrings(qualifierKey(a.word), qualifierKey(b.word)) || 1;
      return -1;
    case 'list':
      if (b.kind === 'number') return -1;
      if (b.kind !== 'list') return 1;
      for (let i = 0; i < Math.max(a.items.length, b.items.length); i++) {
        const p = a.items[i];
        const q = b.items[i];
        // The loop runs to the longer list's end, so at most one side is missing.
        const byItem =
          p === undefined
            ? -compareWithNothing(q!)
            : q === undefined
              ? compareWithNothing(p)
              : compareItems(p, q);
        if (byItem !== 0) return byItem;
      }
      return 0;
  }
}

export function compareMaven(a: string, b: string): number {
  return sign(compareItems(parseMaven(a), parseMaven(b)));
}

/** Maven orders any string; what it cannot mean as a version is an empty or blank-containing one. */
export function isValidMaven(version: string): boolean {
  return version !== '' && !/\s/.test(version);
}
