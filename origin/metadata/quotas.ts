// Storage quotas: the limits set through the API, and the usage of every counted prefix, kept
// current by the manifest writes themselves (origin/policy/quotas.ts says what counts and why).
//
// Locks, in the order every writer takes them, last in its transaction (after its tag and
// manifest rows, so that no cycle can form with them):
//   1. the counting lock, shared: a write that charges or releases bytes takes it before it reads
//      which prefixes are counted; starting to count a prefix (or stopping) takes it alone, so a
//      write either committed before the first count or sees the new prefix;
//   2. the quota_usage rows of the prefixes covering the repository, FOR UPDATE in prefix order:
//      two pushes under one prefix charge one after the other, and the second sees the first;
//   3. the prefixes' quota_blobs rows, only ever touched by the holder of their usage row.
import type { Queryable } from './database.ts';

export interface QuotaRule {
  /** Repository-name prefix ('' = every repository); every rule whose prefix covers a name applies. */
  readonly prefix: string;
  /** Bytes. */
  readonly limit: number;
}

/** A counted prefix covering a repository, as a write that charged it left it. */
export interface PrefixCharge {
  readonly prefix: string;
  /** Bytes used once this write commits. */
  readonly used: number;
  /** Bytes this write added (0 when it referenced nothing new there but its manifest). */
  readonly added: number;
  /** The stored rule's limit (null: none; a config file's rule may still apply). */
  readonly storedLimit: number | null;
}

/** What one stored manifest occupies: its own bytes and the blobs it references. */
export interface Footprint {
  readonly repositoryId: number;
  readonly manifestSize: number;
  readonly blobs: readonly string[];
}

const COUNTING_LOCK = 'quota counting';

/**
 * The counting lock (see the top of this file). `try`: not waited for; false when a change holds
 * it (garbage collection never waits).
 */
export async function lockQuotaCounting(
  tx: Queryable,
  mode: 'shared' | 'exclusive' | 'try-shared',
): Promise<boolean> {
  if (mode === 'try-shared') {
    const rows = await tx.query<{ held: boolean }>(
      'SELECT pg_try_advisory_xact_lock_shared(hashtextextended($1, 0)) AS held',
      [COUNTING_LOCK],
    );
    return rows[0]?.held === true;
  }
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await tx.query(`SELECT ${fn}(hashtextextended($1, 0))`, [COUNTING_LOCK]);
  return true;
}

/** The stored manifest's footprint, read before its row is deleted (its references go with it). */
export async function manifestFootprint(
  q: Queryable,
  repositoryId: number,
  digest: string,
): Promise<Footprint | null> {
  const rows = await q.query<{ size: string | number; blobs: string[] | null }>(
    `SELECT m.size, (SELECT array_agg(mr.child_digest) FROM manifest_references mr
                      WHERE mr.repository_id = m.repository_id AND mr.manifest_digest = m.digest
                        AND mr.child_kind = 'blob') AS blobs
       FROM manifests m WHERE m.repository_id = $1 AND m.digest = $2`,
    [repositoryId, digest],
  );
  const row = rows[0];
  return row ? { repositoryId, manifestSize: Number(row.size), blobs: row.blobs ?? [] } : null;
}

interface LockedUsage {
  prefix: string;
  used_bytes: string | number;
  limit_bytes: string | number | null;
}

/** Locks the usage rows of the prefixes covering the repository (see the top of this file). */
async function lockUsage(tx: Queryable, repositoryId: number, nowait: boolean): Promise<LockedUsage[]> {
  return tx.query<LockedUsage>(
    `SELECT u.prefix, u.used_bytes, q.limit_bytes
       FROM quota_usage u LEFT JOIN quota_rules q ON q.prefix = u.prefix
      WHERE starts_with((SELECT name FROM repositories WHERE id = $1), u.prefix)
      ORDER BY u.prefix COLLATE "C" FOR UPDATE OF u${nowait ? ' NOWAIT' : ''}`,
    [repositoryId],
  );
}

/**
 * Charges a manifest just stored (its row new) to every counted prefix covering its repository:
 * its own bytes, and each blob it references that the prefix did not reference yet. Takes the
 * locks of the top of this file; returns each prefix's usage after the charge.
 */
export async function chargeManifest(
  tx: Queryable,
  repositoryId: number,
  digest: string,
  manifestSize: number,
): Promise<PrefixCharge[]> {
  await lockQuotaCounting(tx, 'shared');
  const locked = await lockUsage(tx, repositoryId, false);
  if (locked.length === 0) return [];
  const prefixes = locked.map((r) => r.prefix);
  // A row inserted has refs 1: the blob is new to the prefix, its bytes count.
  const fresh = await tx.query<{ prefix: string; added: string | number }>(
    `WITH counted AS (
       INSERT INTO quota_blobs (prefix, digest, size, refs)
       SELECT p.prefix, b.digest, b.size, 1
         FROM unnest($3::text[]) AS p (prefix)
         CROSS JOIN manifest_references mr
         JOIN blobs b ON b.digest = mr.child_digest
        WHERE mr.repository_id = $1 AND mr.manifest_digest = $2 AND mr.child_kind = 'blob'
        ORDER BY p.prefix COLLATE "C", b.digest
       ON CONFLICT (prefix, digest) DO UPDATE SET refs = quota_blobs.refs + 1
       RETURNING prefix, size, refs
     )
     SELECT prefix, sum(size) AS added FROM counted WHERE refs = 1 GROUP BY prefix`,
    [repositoryId, digest, prefixes],
  );
  const blobBytes = new Map(fresh.map((r) => [r.prefix, Number(r.added)]));
  const added = prefixes.map((p) => manifestSize + (blobBytes.get(p) ?? 0));
  await addUsage(tx, prefixes, added);
  return locked.map((row, i) => ({
    prefix: row.prefix,
    used: Number(row.used_bytes) + (added[i] as number),
    added: added[i] as number,
    storedLimit: row.limit_bytes === null ? null : Number(row.limit_bytes),
  }));
}

/**
 * Releases the footprint of a manifest whose row was just deleted (read before, by
 * `manifestFootprint`): its bytes, and each blob whose last reference in a prefix it was. `nowait`
 * (garbage collection): false, and nothing done, when a push or a rule change holds a lock needed;
 * the caller rolls back.
 */
export async function releaseManifest(tx: Queryable, footprint: Footprint, nowait = false): Promise<boolean> {
  if (!(await lockQuotaCounting(tx, nowait ? 'try-shared' : 'shared'))) return false;
  const locked = await lockUsage(tx, footprint.repositoryId, nowait);
  if (locked.length === 0) return true;
  const prefixes = locked.map((r) => r.prefix);
  const released = new Map<string, number>();
  if (footprint.blobs.length > 0) {
    // The last reference in a prefix takes the blob's bytes with it; the others just go.
    const last = await tx.query<{ prefix: string; size: string | number }>(
      `DELETE FROM quota_blobs WHERE prefix = ANY($1::text[]) AND digest = ANY($2::text[]) AND refs = 1
       RETURNING prefix, size`,
      [prefixes, footprint.blobs],
    );
    for (const row of last) released.set(row.prefix, (released.get(row.prefix) ?? 0) + Number(row.size));
    await tx.query(
      'UPDATE quota_blobs SET refs = refs - 1 WHERE prefix = ANY($1::text[]) AND digest = ANY($2::text[])',
      [prefixes, footprint.blobs],
    );
  }
  await addUsage(
    tx,
    prefixes,
    prefixes.map((p) => -(footprint.manifestSize + (released.get(p) ?? 0))),
  );
  return true;
}

async function addUsage(
  tx: Queryable,
  prefixes: readonly string[],
  deltas: readonly number[],
): Promise<void> {
  await tx.query(
    `UPDATE quota_usage u SET used_bytes = u.used_bytes + d.delta
       FROM unnest($1::text[], $2::bigint[]) AS d (prefix, delta) WHERE u.prefix = d.prefix`,
    [prefixes, deltas],
  );
}

/**
 * Starts counting `prefix` (when it is not counted yet), from the stored manifests: one scan of
 * those under the prefix. Call with the counting lock held alone. Returns whether it started.
 */
export async function startCounting(tx: Queryable, prefix: string): Promise<boolean> {
  const created = await tx.query(
    'INSERT INTO quota_usage (prefix) VALUES ($1) ON CONFLICT (prefix) DO NOTHING RETURNING prefix',
    [prefix],
  );
  if (created.length === 0) return false;
  await tx.query(
    `INSERT INTO quota_blobs (prefix, digest, size, refs)
     SELECT $1, b.digest, b.size, count(*)
       FROM manifest_references mr
       JOIN repositories r ON r.id = mr.repository_id
       JOIN blobs b ON b.digest = mr.child_digest
      WHERE starts_with(r.name, $1) AND mr.child_kind = 'blob'
      GROUP BY b.digest, b.size`,
    [prefix],
  );
  await tx.query(
    `UPDATE quota_usage SET used_bytes =
       (SELECT coalesce(sum(size), 0) FROM quota_blobs WHERE prefix = $1)
       + (SELECT coalesce(sum(m.size), 0) FROM manifests m JOIN repositories r ON r.id = m.repository_id
           WHERE starts_with(r.name, $1))
     WHERE prefix = $1`,
    [prefix],
  );
  return true;
}

/** Stops counting the prefixes not in `kept`. Call with the counting lock held alone. */
export async function stopCountingExcept(tx: Queryable, kept: readonly string[]): Promise<string[]> {
  const rows = await tx.query<{ prefix: string }>(
    'DELETE FROM quota_usage WHERE NOT (prefix = ANY($1::text[])) RETURNING prefix',
    [kept],
  );
  return rows.map((r) => r.prefix);
}

/** Stops counting `prefix`. Call with the counting lock held alone. */
export async function stopCounting(tx: Queryable, prefix: string): Promise<void> {
  await tx.query('DELETE FROM quota_usage WHERE prefix = $1', [prefix]);
}

/** Every counted prefix and its bytes. */
export async function countedUsage(q: Queryable): Promise<Map<string, number>> {
  const rows = await q.query<{ prefix: string; used_bytes: string | number }>(
    'SELECT prefix, used_bytes FROM quota_usage',
  );
  return new Map(rows.map((r) => [r.prefix, Number(r.used_bytes)]));
}

/**
 * The bytes of each repository under `prefix`, counted now (not kept): its manifests and the
 * distinct blobs they reference. A blob two of them share counts in each.
 */
export async function repositoryUsage(
  q: Queryable,
  prefix: string,
): Promise<{ name: string; used: number }[]> {
  const rows = await q.query<{ name: string; used: string | number }>(
    `SELECT r.name,
            coalesce((SELECT sum(b.size) FROM blobs b WHERE b.digest IN (
                       SELECT mr.child_digest FROM manifest_references mr
                        WHERE mr.repository_id = r.id AND mr.child_kind = 'blob')), 0)
            + coalesce((SELECT sum(m.size) FROM manifests m WHERE m.repository_id = r.id), 0) AS used
       FROM repositories r
      WHERE starts_with(r.name, $1) AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
      ORDER BY r.name COLLATE "C"`,
    [prefix],
  );
  return rows.map((r) => ({ name: r.name, used: Number(r.used) }));
}

export async function listQuotaRules(q: Queryable): Promise<QuotaRule[]> {
  const rows = await q.query<{ prefix: string; limit_bytes: string | number }>(
    'SELECT prefix, limit_bytes FROM quota_rules ORDER BY prefix COLLATE "C"',
  );
  return rows.map((r) => ({ prefix: r.prefix, limit: Number(r.limit_bytes) }));
}

/** Sets the prefix's limit; returns the limit it had (null: none). */
export async function putQuotaRule(q: Queryable, rule: QuotaRule): Promise<number | null> {
  const before = await q.query<{ limit_bytes: string | number }>(
    'SELECT limit_bytes FROM quota_rules WHERE prefix = $1 FOR UPDATE',
    [rule.prefix],
  );
  await q.query(
    `INSERT INTO quota_rules (prefix, limit_bytes) VALUES ($1, $2)
     ON CONFLICT (prefix) DO UPDATE SET limit_bytes = EXCLUDED.limit_bytes, updated_at = now()`,
    [rule.prefix, rule.limit],
  );
  return before[0] ? Number(before[0].limit_bytes) : null;
}

/** Removes the prefix's rule; returns the limit it had (null: there was none). */
export async function deleteQuotaRule(q: Queryable, prefix: string): Promise<number | null> {
  const rows = await q.query<{ limit_bytes: string | number }>(
    'DELETE FROM quota_rules WHERE prefix = $1 RETURNING limit_bytes',
    [prefix],
  );
  return rows[0] ? Number(rows[0].limit_bytes) : null;
}
