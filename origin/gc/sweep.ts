// The sweep: each removal is one short transaction that locks what it removes, re-checks with a
// fresh statement that it may still go, removes it from the store and then from the database. The
// other side of each lock is in the push paths (docs/architecture.md, "Garbage collection"):
//   blob rows      manifest put share-locks the blob rows it references (FOR KEY SHARE) until it
//                  commits; an upload upserts its blob row before its bytes move into place;
//                  a mount updates the row (never re-creates it). GC takes FOR UPDATE SKIP LOCKED.
//   manifests      every put, delete and reclaim of one repository + digest takes that pair's
//                  advisory lock; a put share-locks the child manifest rows it references.
// GC never waits for a lock (SKIP LOCKED, NOWAIT, try-lock): a busy candidate is kept this time.
import type { Database, Queryable } from '../metadata/database.ts';
import { recordDeletedManifest, tryLockManifestDigest } from '../metadata/tombstones.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { BlobCandidate, ManifestCandidate } from './mark.ts';

/** removed; kept (in use, young, or reachable after all); busy (locked by a push); gone (removed meanwhile). */
export type SweepOutcome = 'removed' | 'kept' | 'busy' | 'gone';

const ms = "$2::double precision * interval '1 millisecond'";

/** Removes an unreferenced blob older than the grace period: bytes, then its rows. */
export async function sweepBlob(
  db: Database,
  store: BlobStore,
  blob: BlobCandidate,
  gracePeriodMs: number,
): Promise<{ outcome: SweepOutcome; repositories: string[] }> {
  return db.transaction(async (tx) => {
    const locked = await tx.query(
      `SELECT digest FROM blobs WHERE digest = $1 AND linked_at < now() - ${ms} FOR UPDATE SKIP LOCKED`,
      [blob.digest, gracePeriodMs],
    );
    // Absent: removed meanwhile, linked again (young), or locked by a push that is using it.
    if (locked.length === 0) return { outcome: 'kept', repositories: [] };
    // A fresh statement: sees every manifest committed before the lock above was granted.
    if (await referenced(tx, blob.digest)) return { outcome: 'kept', repositories: [] };
    const repositories = await tx.query<{ name: string }>(
      `SELECT r.name FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
        WHERE rb.digest = $1`,
      [blob.digest],
    );
    await store.delete(blob.digest);
    await tx.query('DELETE FROM blobs WHERE digest = $1', [blob.digest]);
    return { outcome: 'removed', repositories: repositories.map((r) => r.name) };
  });
}

async function referenced(tx: Queryable, digest: string): Promise<boolean> {
  const rows = await tx.query(
    "SELECT 1 FROM manifest_references WHERE child_digest = $1 AND child_kind = 'blob' LIMIT 1",
    [digest],
  );
  return rows.length > 0;
}

/**
 * Removes a manifest no tag reaches (`--untagged`), leaving a tombstone for its bytes. Kept when,
 * under the locks, it has a tag, an index still lists it, or its subject chain leads to a tag.
 */
export async function sweepManifest(db: Database, manifest: ManifestCandidate): Promise<SweepOutcome> {
  const { repositoryId, repository, digest } = manifest;
  try {
    return await db.transaction(async (tx): Promise<SweepOutcome> => {
      // Lock the manifest and everything that could make it reachable (indexes listing it, its
      // subject, theirs, …), then look again; repeat while that set grows.
      const locked = new Set<string>();
      for (;;) {
        const up = await reachers(tx, repositoryId, digest);
        if (up.some((m) => m.tagged)) return 'kept';
        if (await listedByIndex(tx, repositoryId, digest)) return 'kept';
        const fresh = up.map((m) => m.digest).filter((d) => !locked.has(d));
        if (fresh.length === 0) break;
        fresh.sort();
        for (const d of fresh) {
          if (!(await tryLockManifestDigest(tx, repository, d))) return 'busy';
          locked.add(d);
        }
        // Puts listing one of these as a child share-lock it: they finish first, or wait for us.
        await tx.query(
          `SELECT digest FROM manifests WHERE repository_id = $1 AND digest = ANY($2::text[])
            ORDER BY digest FOR UPDATE NOWAIT`,
          [repositoryId, fresh],
        );
      }
      const deleted = await tx.query(
        'DELETE FROM manifests WHERE repository_id = $1 AND digest = $2 RETURNING digest',
        [repositoryId, digest],
      );
      if (deleted.length === 0) return 'gone';
      await recordDeletedManifest(tx, repository, digest);
      return 'removed';
    });
  } catch (error) {
    // FOR UPDATE NOWAIT met a push holding the row.
    if ((error as { code?: string }).code === '55P03') return 'busy';
    throw error;
  }
}

/** The manifest and every manifest whose reachability would reach it: indexes listing it, its subject, recursively. */
async function reachers(
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

/** An index (reachable or not) still lists it: removing it would leave that index dangling. */
async function listedByIndex(tx: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  const rows = await tx.query(
    `SELECT 1 FROM manifest_references
      WHERE repository_id = $1 AND child_digest = $2 AND child_kind = 'manifest' LIMIT 1`,
    [repositoryId, digest],
  );
  return rows.length > 0;
}

/** Removes the stored bytes of a deleted manifest, unless a record of it exists again. */
export async function sweepManifestBytes(
  db: Database,
  store: BlobStore,
  manifest: ManifestCandidate,
): Promise<SweepOutcome> {
  const { repositoryId, repository, digest } = manifest;
  return db.transaction(async (tx): Promise<SweepOutcome> => {
    // Held by a put or delete of this digest right now: next time.
    if (!(await tryLockManifestDigest(tx, repository, digest))) return 'busy';
    const tombstone = await tx.query(
      'DELETE FROM manifest_tombstones WHERE repository_id = $1 AND digest = $2 RETURNING digest',
      [repositoryId, digest],
    );
    if (tombstone.length === 0) return 'gone';
    const again = await tx.query('SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2', [
      repositoryId,
      digest,
    ]);
    if (again.length > 0) return 'kept';
    await store.deleteManifest(repository, digest);
    return 'removed';
  });
}
