// Immutable-tag rules set through the API, and the lock that orders their changes with the
// manifest writes that obey them (origin/policy/immutable-tags.ts says how).
import type { Queryable } from './database.ts';

export interface ImmutableTagRule {
  /** Repository-name prefix ('' = every repository); the longest matching prefix applies. */
  readonly prefix: string;
  /** Tag patterns (origin/policy/tag-pattern.ts); none: the prefix's tags are all mutable. */
  readonly tags: readonly string[];
}

const RULES_LOCK = 'immutable tag rules';

/**
 * The rules' advisory lock until the transaction ends: shared by manifest writes while they read
 * and obey the rules, held alone by a change to them.
 */
export async function lockImmutableTagRules(tx: Queryable, mode: 'shared' | 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await tx.query(`SELECT ${fn}(hashtextextended($1, 0))`, [RULES_LOCK]);
}

export async function listImmutableTagRules(q: Queryable): Promise<ImmutableTagRule[]> {
  const rows = await q.query<{ prefix: string; patterns: string[] }>(
    'SELECT prefix, patterns FROM immutable_tag_rules ORDER BY prefix COLLATE "C"',
  );
  return rows.map((r) => ({ prefix: r.prefix, tags: r.patterns }));
}

/** The rules whose prefix `repository` starts with. */
export async function immutableTagRulesOf(q: Queryable, repository: string): Promise<ImmutableTagRule[]> {
  const rows = await q.query<{ prefix: string; patterns: string[] }>(
    'SELECT prefix, patterns FROM immutable_tag_rules WHERE starts_with($1, prefix)',
    [repository],
  );
  return rows.map((r) => ({ prefix: r.prefix, tags: r.patterns }));
}

/** Sets the prefix's rule; returns the patterns it had (null: none). */
export async function putImmutableTagRule(q: Queryable, rule: ImmutableTagRule): Promise<string[] | null> {
  const before = await q.query<{ patterns: string[] }>(
    'SELECT patterns FROM immutable_tag_rules WHERE prefix = $1 FOR UPDATE',
    [rule.prefix],
  );
  await q.query(
    `INSERT INTO immutable_tag_rules (prefix, patterns) VALUES ($1, $2::text[])
     ON CONFLICT (prefix) DO UPDATE SET patterns = EXCLUDED.patterns, updated_at = now()`,
    [rule.prefix, rule.tags],
  );
  return before[0]?.patterns ?? null;
}

/** Removes the prefix's rule; returns the patterns it had (null: there was none). */
export async function deleteImmutableTagRule(q: Queryable, prefix: string): Promise<string[] | null> {
  const rows = await q.query<{ patterns: string[] }>(
    'DELETE FROM immutable_tag_rules WHERE prefix = $1 RETURNING patterns',
    [prefix],
  );
  return rows[0]?.patterns ?? null;
}
