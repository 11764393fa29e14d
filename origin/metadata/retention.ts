// Retention: the rules set through the API, and the rows a retention plan is made from, each
// loaded by one set-based query over the repositories a rule applies to (origin/retention/plan.ts).
import type { Queryable } from './database.ts';

/** A retention rule (origin/retention/rule.ts reads it from the config and the API). */
export interface RetentionRule {
  /** Repository-name prefix ('' = every repository). */
  readonly prefix: string;
  /** Keep the N most recently pushed tags in consideration. */
  readonly keepLast: number | null;
  /** Keep tags pulled within this many ms. */
  readonly keepPulledWithinMs: number | null;
  /** Remove tags in consideration pushed more than this many ms ago. */
  readonly removeOlderThanMs: number | null;
  /** Tags matching one of these are always kept (and not in consideration). */
  readonly keepTags: readonly string[];
  /** Only tags matching one of these are in consideration (none: every tag). */
  readonly onlyTags: readonly string[];
  /** Remove untagged manifests stored more than this many ms ago. */
  readonly untaggedOlderThanMs: number | null;
}

/** A stored rule (jsonb) read back; durations in ms. */
function storedRule(prefix: string, value: Record<string, unknown>): RetentionRule {
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  return {
    prefix,
    keepLast: num(value.keepLast),
    keepPulledWithinMs: num(value.keepPulledWithinMs),
    removeOlderThanMs: num(value.removeOlderThanMs),
    keepTags: list(value.keepTags),
    onlyTags: list(value.onlyTags),
    untaggedOlderThanMs: num(value.untaggedOlderThanMs),
  };
}

export async function listRetentionRules(q: Queryable): Promise<RetentionRule[]> {
  const rows = await q.query<{ prefix: string; rule: Record<string, unknown> }>(
    'SELECT prefix, rule FROM retention_rules ORDER BY prefix COLLATE "C"',
  );
  return rows.map((r) => storedRule(r.prefix, r.rule));
}

/** Sets the prefix's rule; returns the one it had (null: none). */
export async function putRetentionRule(q: Queryable, rule: RetentionRule): Promise<RetentionRule | null> {
  const before = await q.query<{ rule: Record<string, unknown> }>(
    'SELECT rule FROM retention_rules WHERE prefix = $1 FOR UPDATE',
    [rule.prefix],
  );
  const { prefix, ...clauses } = rule;
  await q.query(
    `INSERT INTO retention_rules (prefix, rule) VALUES ($1, $2::jsonb)
     ON CONFLICT (prefix) DO UPDATE SET rule = EXCLUDED.rule, updated_at = now()`,
    [prefix, JSON.stringify(clauses)],
  );
  return before[0] ? storedRule(prefix, before[0].rule) : null;
}

/** Removes the prefix's rule; returns it (null: there was none). */
export async function deleteRetentionRule(q: Queryable, prefix: string): Promise<RetentionRule | null> {
  const rows = await q.query<{ rule: Record<string, unknown> }>(
    'DELETE FROM retention_rules WHERE prefix = $1 RETURNING rule',
    [prefix],
  );
  return rows[0] ? storedRule(prefix, rows[0].rule) : null;
}

export interface RepositoryRow {
  readonly id: number;
  readonly name: string;
}

export interface TagRow {
  readonly repositoryId: number;
  readonly name: string;
  readonly digest: string;
  /** Push time (ms). */
  readonly pushedAt: number;
  /** max(tag's, its manifest's last pull) in ms; null: never pulled since tracking began. */
  readonly pulledAt: number | null;
  /** The manifest it names has a subject: a referrer (signature, SBOM, …). */
  readonly referrer: boolean;
}

export interface ManifestRow {
  readonly repositoryId: number;
  readonly digest: string;
  /** When it was first stored (ms). */
  readonly storedAt: number;
  readonly subjectDigest: string | null;
  /** Its last pull (ms), by digest or through a tag; null: never pulled since tracking began. */
  readonly pulledAt: number | null;
}

export interface IndexEdge {
  readonly repositoryId: number;
  readonly parent: string;
  readonly child: string;
}

/** Repositories whose name starts with `prefix`. */
export async function repositoriesUnder(q: Queryable, prefix: string): Promise<RepositoryRow[]> {
  const rows = await q.query<{ id: number; name: string }>(
    'SELECT id, name FROM repositories WHERE starts_with(name, $1)',
    [prefix],
  );
  return rows.map((r) => ({ id: Number(r.id), name: r.name }));
}

// Times as float8 milliseconds: no Date per row.
const MS = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

export async function tagsOf(q: Queryable, repositoryIds: readonly number[]): Promise<TagRow[]> {
  if (repositoryIds.length === 0) return [];
  const rows = await q.query<{
    repository_id: number;
    name: string;
    digest: string;
    pushed: number;
    pulled: number | null;
    referrer: boolean;
  }>(
    `SELECT t.repository_id, t.name, t.manifest_digest AS digest, ${MS('t.updated_at')} AS pushed,
            ${MS('greatest(t.last_pulled_at, m.last_pulled_at)')} AS pulled,
            m.subject_digest IS NOT NULL AS referrer
       FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
      WHERE t.repository_id = ANY($1::bigint[])`,
    [repositoryIds],
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    name: r.name,
    digest: r.digest,
    pushedAt: r.pushed,
    pulledAt: r.pulled,
    referrer: r.referrer,
  }));
}

export async function manifestsOf(q: Queryable, repositoryIds: readonly number[]): Promise<ManifestRow[]> {
  if (repositoryIds.length === 0) return [];
  const rows = await q.query<{
    repository_id: number;
    digest: string;
    stored: number;
    subject_digest: string | null;
    pulled: number | null;
  }>(
    `SELECT repository_id, digest, ${MS('created_at')} AS stored, subject_digest,
            ${MS('last_pulled_at')} AS pulled
       FROM manifests WHERE repository_id = ANY($1::bigint[])`,
    [repositoryIds],
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    digest: r.digest,
    storedAt: r.stored,
    subjectDigest: r.subject_digest,
    pulledAt: r.pulled,
  }));
}

/** The manifest's last pull (ms; null: never), read in the removal's transaction after its row lock. */
export async function manifestPulledAt(
  q: Queryable,
  repositoryId: number,
  digest: string,
): Promise<number | null> {
  const rows = await q.query<{ pulled: number | null }>(
    `SELECT ${MS('last_pulled_at')} AS pulled FROM manifests WHERE repository_id = $1 AND digest = $2`,
    [repositoryId, digest],
  );
  return rows[0]?.pulled ?? null;
}

export async function indexEdgesOf(q: Queryable, repositoryIds: readonly number[]): Promise<IndexEdge[]> {
  if (repositoryIds.length === 0) return [];
  const rows = await q.query<{ repository_id: number; manifest_digest: string; child_digest: string }>(
    `SELECT repository_id, manifest_digest, child_digest FROM manifest_references
      WHERE repository_id = ANY($1::bigint[]) AND child_kind = 'manifest'`,
    [repositoryIds],
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    parent: r.manifest_digest,
    child: r.child_digest,
  }));
}

/**
 * The blobs only the given manifests reference (no other manifest, in any repository, does):
 * what GC would reclaim once they are gone, with their bytes.
 */
export async function blobsOnlyReferencedBy(
  q: Queryable,
  manifests: readonly { repositoryId: number; digest: string }[],
): Promise<{ count: number; bytes: number }> {
  if (manifests.length === 0) return { count: 0, bytes: 0 };
  const rows = await q.query<{ count: number; bytes: number }>(
    `WITH removed (repository_id, digest) AS (SELECT * FROM unnest($1::bigint[], $2::text[])),
     referenced AS (
       SELECT DISTINCT mr.child_digest AS digest FROM manifest_references mr
         JOIN removed r ON r.repository_id = mr.repository_id AND r.digest = mr.manifest_digest
        WHERE mr.child_kind = 'blob'
     )
     SELECT count(*)::float8 AS count, coalesce(sum(b.size), 0)::float8 AS bytes
       FROM referenced x JOIN blobs b ON b.digest = x.digest
      WHERE NOT EXISTS (
        SELECT 1 FROM manifest_references o
         WHERE o.child_digest = x.digest AND o.child_kind = 'blob'
           AND NOT EXISTS (SELECT 1 FROM removed r WHERE r.repository_id = o.repository_id AND r.digest = o.manifest_digest)
      )`,
    [manifests.map((m) => m.repositoryId), manifests.map((m) => m.digest)],
  );
  return { count: Number(rows[0]?.count ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
}

/**
 * The tag's row locked until commit, as a retention removal re-checks it: what it names, when it
 * was pushed and last pulled (ms). Null: no such tag.
 */
export async function lockTagForRemoval(
  tx: Queryable,
  repository: string,
  tag: string,
): Promise<{ digest: string; pushedAt: number; pulledAt: number | null } | null> {
  const rows = await tx.query<{ digest: string; pushed: number; pulled: number | null }>(
    `SELECT t.manifest_digest AS digest, ${MS('t.updated_at')} AS pushed,
            ${MS('greatest(t.last_pulled_at, m.last_pulled_at)')} AS pulled
       FROM tags t JOIN repositories r ON r.id = t.repository_id
       JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
      WHERE r.name = $1 AND t.name = $2
        FOR UPDATE OF t`,
    [repository, tag],
  );
  const row = rows[0];
  return row ? { digest: row.digest, pushedAt: row.pushed, pulledAt: row.pulled } : null;
}
