// Tag patterns of immutable-tag rules: a small glob. `*` stands for any run of characters (none
// too), `?` for exactly one; every other character stands for itself, case included (tags are
// case-sensitive). A pattern matches a whole tag: `v1.*` matches v1.2.0, not xv1.2. Tags are made
// of [A-Za-z0-9_.-], so no character needs escaping and a pattern is those plus `*` and `?`.
import { z } from 'zod';

/** What a pattern may be: a tag's characters and the two wildcards, 1 to 128 of them. */
export const TAG_PATTERN = /^[A-Za-z0-9_.*?-]{1,128}$/;

/** A rule's patterns, as the config file and the admin API take them (none: no tag is immutable). */
export const tagPatterns = z
  .array(
    z.string().regex(TAG_PATTERN, 'a tag pattern is 1 to 128 of A-Z a-z 0-9 _ . - and the wildcards * ?'),
  )
  .max(100);

/**
 * Whether `tag` matches `pattern`. Greedy with one backtrack point (the last `*` seen): linear in
 * practice, and at worst the product of the two lengths, both at most 128.
 */
export function matchesTag(pattern: string, tag: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < tag.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === tag[t])) {
      p += 1;
      t += 1;
    } else if (c === '*') {
      // Let the star match nothing for now; on a mismatch, give it one more character.
      star = p;
      resume = t;
      p += 1;
    } else if (star >= 0) {
      p = star + 1;
      resume += 1;
      t = resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}

/** Whether any of `patterns` matches `tag`. */
export const matchesAnyTag = (patterns: readonly string[], tag: string): boolean =>
  patterns.some((pattern) => matchesTag(pattern, tag));
