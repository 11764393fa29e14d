// Retention rules: what one rule says, as the config file (retention:) and PUT /admin/retention
// take it, and as it is stored. A rule applies to the repositories whose name starts with its
// prefix; the longest prefix wins, alone (as pull policies and immutable tags). How the clauses
// combine is the planner's (plan.ts, top of file).
import { z } from 'zod';
import { formatDuration, parseDurationMs } from '../duration.ts';
import type { RetentionRule } from '../metadata/retention.ts';
import { tagPatterns } from '../policy/tag-pattern.ts';

export type { RetentionRule } from '../metadata/retention.ts';

/** The longest duration a clause takes: past it, ages and last pulls lose their meaning. */
const MAX_DURATION_MS = 100 * 365 * 86_400_000;

// Whole milliseconds up to 100 years: what the reasons and the API's answer spell back exactly,
// and what a later PUT of that answer takes again.
const positiveDuration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  const issue = (message: string) => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (ms === null || ms <= 0) return issue(`"${value}" is not a positive duration (examples: 30d, 12h, 90m)`);
  if (ms > MAX_DURATION_MS)
    return issue(`"${value}" is longer than 100 years (36500d), the longest duration`);
  if (!Number.isInteger(ms)) return issue(`"${value}" is not a whole number of milliseconds`);
  return ms;
});

/** A rule as written in the config file and in API bodies (durations as "30d", "12h"). */
export const retentionRuleInput = z
  .object({
    prefix: z.string().default(''),
    keep_last: z.number().int().min(1).max(1_000_000).optional(),
    keep_pulled_within: positiveDuration.optional(),
    remove_older_than: positiveDuration.optional(),
    keep_tags: tagPatterns.default([]),
    only_tags: tagPatterns.default([]),
    untagged_older_than: positiveDuration.optional(),
  })
  .strict()
  .refine(
    (r) =>
      r.keep_last !== undefined || r.remove_older_than !== undefined || r.untagged_older_than !== undefined,
    'a rule removes nothing without keep_last, remove_older_than or untagged_older_than',
  )
  .transform(
    (r): RetentionRule => ({
      prefix: r.prefix,
      keepLast: r.keep_last ?? null,
      keepPulledWithinMs: r.keep_pulled_within ?? null,
      removeOlderThanMs: r.remove_older_than ?? null,
      keepTags: r.keep_tags,
      onlyTags: r.only_tags,
      untaggedOlderThanMs: r.untagged_older_than ?? null,
    }),
  );

/** The rule as the API answers it and the audit trail records it (absent clauses left out). */
export function ruleJson(rule: RetentionRule): Record<string, unknown> {
  const duration = (ms: number | null) => (ms === null ? undefined : formatDuration(ms));
  return {
    prefix: rule.prefix,
    ...(rule.keepLast !== null && { keep_last: rule.keepLast }),
    ...(rule.keepPulledWithinMs !== null && { keep_pulled_within: duration(rule.keepPulledWithinMs) }),
    ...(rule.removeOlderThanMs !== null && { remove_older_than: duration(rule.removeOlderThanMs) }),
    keep_tags: rule.keepTags,
    only_tags: rule.onlyTags,
    ...(rule.untaggedOlderThanMs !== null && { untagged_older_than: duration(rule.untaggedOlderThanMs) }),
  };
}
