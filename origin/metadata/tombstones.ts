// Manifest bytes outliving their record. A manifest deleted (through the API, or by GC) leaves a
// tombstone in the same transaction; GC removes the bytes later, once no record of that repository
// and digest exists. Every transaction that creates, deletes or reclaims the bytes of one
// repository + digest first takes that pair's advisory lock, so they run one at a time.
import type { Queryable } from './database.ts';

const lockKey = (repository: string, digest: string): string => `manifest ${repository}@${digest}`;

/** Waits for the manifest's lock, held until the transaction ends. */
export async function lockManifestDigest(tx: Queryable, repository: string, digest: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockKey(repository, digest)]);
}

/** Takes the manifest's lock if nobody holds it (held until the transaction ends). */
export async function tryLockManifestDigest(
  tx: Queryable,
  repository: string,
  digest: string,
): Promise<boolean> {
  const rows = await tx.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked',
    [lockKey(repository, digest)],
  );
  return rows[0]?.locked === true;
}

/** Records that the manifest's bytes may go (call in the transaction that deleted its record, at `now`). */
export async function recordDeletedManifest(
  tx: Queryable,
  repository: string,
  digest: string,
  now: number,
): Promise<void> {
  await tx.query(
    `INSERT INTO manifest_tombstones (repository_id, digest, deleted_at)
     SELECT id, $2, $3 FROM repositories WHERE name = $1
     ON CONFLICT (repository_id, digest) DO UPDATE SET deleted_at = EXCLUDED.deleted_at`,
    [repository, digest, new Date(now)],
  );
}

/** The manifest is stored again: its bytes must stay. */
export async function forgetDeletedManifest(
  tx: Queryable,
  repositoryId: number,
  digest: string,
): Promise<void> {
  await tx.query('DELETE FROM manifest_tombstones WHERE repository_id = $1 AND digest = $2', [
    repositoryId,
    digest,
  ]);
}
