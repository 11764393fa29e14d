// Blob records and the repository -> blob links that decide who may see a blob.
import type { Queryable } from './database.ts';

/**
 * Records a verified blob and links it to the repository, in one statement each. The blob row is
 * upserted: in a transaction it stays locked until commit, and its linked_at (from which GC measures
 * a blob's age) moves to `now`.
 */
export async function linkBlob(
  q: Queryable,
  repositoryId: number,
  digest: string,
  size: number,
  now: number,
): Promise<void> {
  await q.query(
    `INSERT INTO blobs (digest, size, created_at, linked_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (digest) DO UPDATE SET linked_at = EXCLUDED.linked_at`,
    [digest, size, new Date(now)],
  );
  await q.query(
    'INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [repositoryId, digest],
  );
}

/**
 * Links a blob that is already recorded (a mount) and makes it young again; false when it is not
 * recorded (any more). Never creates the blob row: a row GC just removed must not come back without
 * its bytes. In a transaction, the row stays locked until commit.
 */
export async function relinkBlob(
  q: Queryable,
  repositoryId: number,
  digest: string,
  now: number,
): Promise<boolean> {
  const rows = await q.query('UPDATE blobs SET linked_at = $2 WHERE digest = $1 RETURNING digest', [
    digest,
    new Date(now),
  ]);
  if (rows.length === 0) return false;
  await q.query(
    'INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [repositoryId, digest],
  );
  return true;
}

/** The blob's size when the repository may see it. */
export async function findRepositoryBlob(
  q: Queryable,
  repository: string,
  digest: string,
): Promise<{ size: number } | null> {
  const rows = await q.query<{ size: number }>(
    `SELECT b.size FROM repository_blobs rb
       JOIN repositories r ON r.id = rb.repository_id
       JOIN blobs b ON b.digest = rb.digest
      WHERE r.name = $1 AND rb.digest = $2`,
    [repository, digest],
  );
  return rows[0] ?? null;
}

export async function unlinkBlob(q: Queryable, repository: string, digest: string): Promise<boolean> {
  const rows = await q.query(
    `DELETE FROM repository_blobs rb USING repositories r
      WHERE r.id = rb.repository_id AND r.name = $1 AND rb.digest = $2 RETURNING rb.digest`,
    [repository, digest],
  );
  return rows.length > 0;
}

/**
 * Which of `digests` the repository may see, with their sizes. In a transaction, the blob rows seen
 * stay share-locked until commit, so GC (which takes FOR UPDATE on a blob row before removing it)
 * cannot remove a blob between this check and the commit of the manifest that references it.
 */
export async function visibleBlobs(
  q: Queryable,
  repositoryId: number,
  digests: readonly string[],
): Promise<Map<string, number>> {
  if (digests.length === 0) return new Map();
  const rows = await q.query<{ digest: string; size: number }>(
    `SELECT b.digest, b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
      WHERE rb.repository_id = $1 AND rb.digest = ANY($2::text[])
      ORDER BY b.digest FOR KEY SHARE OF b`,
    [repositoryId, digests],
  );
  return new Map(rows.map((r) => [r.digest, r.size]));
}
