// What garbage collection reads and removes (see "Garbage collection" in docs/architecture.md):
// the graph the mark walks, the locking re-checks of the sweep, and the lease that lets one run
// at a time. The other side of each lock is in the push paths (blobs.ts, manifests.ts,
// tombstones.ts). GC never waits for a lock: SKIP LOCKED, NOWAIT and try-locks leave a busy item
// for the next run.
import type { Queryable } from './database.ts';
import { manifestFootprint, releaseManifest } from './quotas.ts';

export interface ManifestNode {
  readonly repositoryId: number;
  readonly digest: string;
  readonly size: number;
  readonly subjectDigest: string | null;
}

export interface ManifestEdge {
  readonly repositoryId: number;
  readonly manifestDigest: string;
  readonly childDigest: string;
}

/** A stored manifest (or the bytes of a deleted one) GC may remove. */
export interface ManifestCandidate {
  readonly repositoryId: number;
  readonly repository: string;
  readonly digest: string;
  readonly size: number;
}

export interface BlobCandidate {
  readonly digest: string;
  readonly size: number;
}

// ---- the mark: plain reads, no locks --------------------------------------------------------

export async function repositoryNames(q: Queryable): Promise<Map<number, string>> {
  const rows = await q.query<{ id: number; name: string }>('SELECT id, name FROM repositories');
  return new Map(rows.map((r) => [Number(r.id), r.name]));
}

export async function manifestNodes(q: Queryable): Promise<ManifestNode[]> {
  const rows = await q.query<{
    repository_id: number;
    digest: string;
    size: number;
    subject_digest: string | null;
  }>('SELECT repository_id, digest, size, subject_digest FROM manifests');
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    digest: r.digest,
    size: Number(r.size),
    subjectDigest: r.subject_digest,
  }));
}

/** Manifest → blob edges (config, layers) or index → manifest edges. */
export async function manifestEdges(q: Queryable, kind: 'blob' | 'manifest'): Promise<ManifestEdge[]> {
  const rows = await q.query<{ repository_id: number; manifest_digest: string; child_digest: string }>(
    'SELECT repository_id, manifest_digest, child_digest FROM manifest_references WHERE child_kind = $1',
    [kind],
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    manifestDigest: r.manifest_digest,
    childDigest: r.child_digest,
  }));
}

/** Every blob some manifest references, in any repository. */
export async function referencedBlobs(q: Queryable): Promise<Set<string>> {
  const rows = await q.query<{ digest: string }>(
    "SELECT DISTINCT child_digest AS digest FROM manifest_references WHERE child_kind = 'blob'",
  );
  return new Set(rows.map((r) => r.digest));
}

export async function taggedManifests(q: Queryable): Promise<{ repositoryId: number; digest: string }[]> {
  const rows = await q.query<{ repository_id: number; manifest_digest: string }>(
    'SELECT repository_id, manifest_digest FROM tags',
  );
  return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.manifest_digest }));
}

/** Blobs last pushed or mounted before `cutoff` (ms), in digest order. */
export async function blobsLinkedBefore(q: Queryable, cutoff: number): Promise<BlobCandidate[]> {
  const rows = await q.query<{ digest: string; size: number }>(
    'SELECT digest, size FROM blobs WHERE linked_at < $1 ORDER BY digest',
    [new Date(cutoff)],
  );
  return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

/** Blobs last pushed or mounted at or after `cutoff` (ms): those the grace period keeps. */
export async function blobsLinkedSince(q: Queryable, cutoff: number): Promise<BlobCandidate[]> {
  const rows = await q.query<{ digest: string; size: number }>(
    'SELECT digest, size FROM blobs WHERE linked_at >= $1',
    [new Date(cutoff)],
  );
  return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

/** Tombstones whose manifest has no record (again). */
export async function pendingManifestBytes(q: Queryable): Promise<ManifestCandidate[]> {
  const rows = await q.query<{ repository_id: number; name: string; digest: string }>(
    `SELECT t.repository_id, r.name, t.digest FROM manifest_tombstones t
       JOIN repositories r ON r.id = t.repository_id
      WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = t.repository_id AND m.digest = t.digest)
      ORDER BY r.name, t.digest`,
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    repository: r.name,
    digest: r.digest,
    size: 0,
  }));
}

// ---- the sweep: each in the removal's transaction ---------------------------------------------

/**
 * Locks the blob row for removal when it was last linked before `cutoff` and no push holds it
 * (SKIP LOCKED); false otherwise (removed meanwhile, linked again, or in use).
 */
export async function lockBlobForRemoval(tx: Queryable, digest: string, cutoff: number): Promise<boolean> {
  const rows = await tx.query(
    'SELECT digest FROM blobs WHERE digest = $1 AND linked_at < $2 FOR UPDATE SKIP LOCKED',
    [digest, new Date(cutoff)],
  );
  return rows.length > 0;
}

/** A fresh statement: sees every manifest committed before the blob's lock was granted. */
export async function blobReferenced(tx: Queryable, digest: string): Promise<boolean> {
  const rows = await tx.query(
    "SELECT 1 FROM manifest_references WHERE child_digest = $1 AND child_kind = 'blob' LIMIT 1",
    [digest],
  );
  return rows.length > 0;
}

/** Removes the blob row; its repository links go with it. Returns the repositories it was linked to. */
export async function deleteBlobRecord(tx: Queryable, digest: string): Promise<string[]> {
  const repositories = await tx.query<{ name: string }>(
    `SELECT r.name FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
      WHERE rb.digest = $1`,
    [digest],
  );
  await tx.query('DELETE FROM blobs WHERE digest = $1', [digest]);
  return repositories.map((r) => r.name);
}

/**
 * The manifest and every manifest whose reachability would reach it — indexes listing it, its
 * subject, recursively — each with whether a tag names it.
 */
export async function manifestReachers(
  tx: Queryable,
  repositoryId: number,
  digest: string,
): Promise<{ digest: string; tagged: boolean }[]> {
  return tx.query<{ digest: string; tagged: boolean }>(
    `WITH RECURSIVE up (digest) AS (
       SELECT $2::text
       UNION
       SELECT e.parent FROM up CROSS JOIN LATERAL (
         SELECT mr.manifest_digest AS parent FROM manifest_references mr
          WHERE mr.repository_id = $1 AND mr.child_digest = up.digest AND mr.child_kind = 'manifest'
         UNION ALL
         SELECT m.subject_digest FROM manifests m
          WHERE m.repository_id = $1 AND m.digest = up.digest AND m.subject_digest IS NOT NULL
       ) e
     )
     SELECT up.digest,
            EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = $1 AND t.manifest_digest = up.digest) AS tagged
       FROM up`,
    [repositoryId, digest],
  );
}

/** An index (reachable or not) lists the manifest: removing it would leave that index dangling. */
export async function listedByIndex(tx: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  const rows = await tx.query(
    `SELECT 1 FROM manifest_references
      WHERE repository_id = $1 AND child_digest = $2 AND child_kind = 'manifest' LIMIT 1`,
    [repositoryId, digest],
  );
  return rows.length > 0;
}

/**
 * Locks the manifest rows without waiting; throws PostgreSQL's 55P03 (lock_not_available) when a
 * push holds one (see `isLockBusy`). Puts listing one of them as a child share-lock it.
 */
export async function lockManifestRowsNowait(
  tx: Queryable,
  repositoryId: number,
  digests: readonly string[],
): Promise<void> {
  await tx.query(
    `SELECT digest FROM manifests WHERE repository_id = $1 AND digest = ANY($2::text[])
      ORDER BY digest FOR UPDATE NOWAIT`,
    [repositoryId, digests],
  );
}

/** A NOWAIT lock met a holder. */
export const isLockBusy = (error: unknown): boolean => (error as { code?: string }).code === '55P03';

/**
 * Removes the manifest record (its tags and edges cascade) and its bytes from the quota usage of
 * the prefixes counting them (quotas.ts); false when it was gone. Throws a lock-busy error (see
 * `isLockBusy`) rather than wait for a push or a quota change holding that usage.
 */
export async function deleteManifestRecord(
  tx: Queryable,
  repositoryId: number,
  digest: string,
): Promise<boolean> {
  const footprint = await manifestFootprint(tx, repositoryId, digest);
  const deleted = await tx.query(
    'DELETE FROM manifests WHERE repository_id = $1 AND digest = $2 RETURNING digest',
    [repositoryId, digest],
  );
  if (deleted.length === 0 || !footprint) return false;
  // As PostgreSQL's NOWAIT would: the caller rolls back and leaves the manifest for the next run.
  if (!(await releaseManifest(tx, footprint, true)))
    throw Object.assign(new Error('quota usage is being changed'), { code: '55P03' });
  return true;
}

/** Takes the tombstone away; false when there was none (reclaimed meanwhile). */
export async function takeTombstone(tx: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  const rows = await tx.query(
    'DELETE FROM manifest_tombstones WHERE repository_id = $1 AND digest = $2 RETURNING digest',
    [repositoryId, digest],
  );
  return rows.length > 0;
}

export async function manifestRecorded(
  tx: Queryable,
  repositoryId: number,
  digest: string,
): Promise<boolean> {
  const rows = await tx.query('SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2', [
    repositoryId,
    digest,
  ]);
  return rows.length > 0;
}

// ---- the lease: one run at a time --------------------------------------------------------------
// The lease's times are the database's own (now()): every origin process, whatever its clock,
// agrees on who holds it.

/** Takes the lease named `name` if it is free or expired; false when someone else holds it. */
export async function takeLease(q: Queryable, name: string, holder: string, ttlMs: number): Promise<boolean> {
  const taken = await q.query(
    `INSERT INTO gc_lease (name, holder, started_at, expires_at)
     VALUES ($1, $2, now(), now() + $3::double precision * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE
       SET holder = EXCLUDED.holder, started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at
       WHERE gc_lease.expires_at < now()
     RETURNING holder`,
    [name, holder, ttlMs],
  );
  return taken.length > 0;
}

export async function leaseHolder(
  q: Queryable,
  name: string,
): Promise<{ holder: string; startedAt: Date } | null> {
  const rows = await q.query<{ holder: string; started_at: Date }>(
    'SELECT holder, started_at FROM gc_lease WHERE name = $1',
    [name],
  );
  return rows[0] ? { holder: rows[0].holder, startedAt: new Date(rows[0].started_at) } : null;
}

/** Extends the lease; false when `holder` no longer holds it. */
export async function renewLease(
  q: Queryable,
  name: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE gc_lease SET expires_at = now() + $3::double precision * interval '1 millisecond'
      WHERE name = $1 AND holder = $2 RETURNING holder`,
    [name, holder, ttlMs],
  );
  return rows.length > 0;
}

export async function releaseLease(q: Queryable, name: string, holder: string): Promise<void> {
  await q.query('DELETE FROM gc_lease WHERE name = $1 AND holder = $2', [name, holder]);
}
