// Blob records and the repository -> blob links that decide who may see a blob.
import type { Queryable } from './database.ts';

/** Records a verified blob and links it to the repository, in one statement each. */
export async function linkBlob(
  q: Queryable,
  repositoryId: number,
  digest: string,
  size: number,
): Promise<void> {
  await q.query('INSERT INTO blobs (digest, size) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING', [
    digest,
    size,
  ]);
  await q.query(
    'INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [repositoryId, digest],
  );
}

export async function findBlob(q: Queryable, digest: string): Promise<{ size: number } | null> {
  const rows = await q.query<{ size: number }>('SELECT size FROM blobs WHERE digest = $1', [digest]);
  return rows[0] ?? null;
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

/** Which of `digests` the repository may see. */
export async function visibleBlobs(
  q: Queryable,
  repositoryId: number,
  digests: readonly string[],
): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const rows = await q.query<{ digest: string }>(
    'SELECT digest FROM repository_blobs WHERE repository_id = $1 AND digest = ANY($2::text[])',
    [repositoryId, digests],
  );
  return new Set(rows.map((r) => r.digest));
}
