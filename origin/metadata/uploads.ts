// Upload sessions: the durable part of an upload's state (its repository and confirmed size).
import type { Database, Queryable } from './database.ts';

export interface UploadSession {
  readonly id: string;
  readonly repository: string;
  readonly repositoryId: number;
  readonly size: number;
  /** sha256 hex of the first `size` bytes, when the process that wrote them recorded it. */
  readonly sha256SoFar: string | null;
  readonly createdAt: Date;
}

/** The first key of the advisory locks that serialise session starts per owner. */
const OWNER_LOCK = 7_204_120;

/**
 * Opens a session for `owner` unless it already holds `limit` open ones; false then. The count and
 * the insert run under a lock on the owner (held to the transaction's end), so parallel starts,
 * in this process or another, never pass the bound together.
 */
export async function createUploadSession(
  db: Database,
  session: { id: string; repositoryId: number; owner: string; now: number },
  limit: number,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // The two-key form: its key space is apart from the one-key locks (migrations).
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [OWNER_LOCK, session.owner]);
    const rows = await tx.query<{ id: string }>(
      `INSERT INTO upload_sessions (id, repository_id, owner, created_at, updated_at)
         SELECT $1, $2, $3, $4, $4
         WHERE (SELECT count(*) FROM upload_sessions WHERE owner = $3) < $5
         RETURNING id`,
      [session.id, session.repositoryId, session.owner, new Date(session.now), limit],
    );
    return rows.length > 0;
  });
}

export async function findUploadSession(
  q: Queryable,
  repository: string,
  id: string,
): Promise<UploadSession | null> {
  const rows = await q.query<{
    id: string;
    repository_id: number;
    size: number;
    sha256_so_far: string | null;
    created_at: Date;
  }>(
    `SELECT u.id, u.repository_id, u.size, u.sha256_so_far, u.created_at FROM upload_sessions u
       JOIN repositories r ON r.id = u.repository_id WHERE r.name = $1 AND u.id = $2`,
    [repository, id],
  );
  const row = rows[0];
  return row
    ? {
        id: row.id,
        repository,
        repositoryId: row.repository_id,
        size: row.size,
        sha256SoFar: row.sha256_so_far,
        createdAt: row.created_at,
      }
    : null;
}

export async function recordUploadSize(
  q: Queryable,
  id: string,
  size: number,
  sha256SoFar: string | null,
  now: number,
): Promise<void> {
  await q.query('UPDATE upload_sessions SET size = $2, sha256_so_far = $3, updated_at = $4 WHERE id = $1', [
    id,
    size,
    sha256SoFar,
    new Date(now),
  ]);
}

export async function deleteUploadSession(q: Queryable, id: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM upload_sessions WHERE id = $1 RETURNING id', [id]);
  return rows.length > 0;
}

/** Sessions last written before `cutoff` (ms). */
export async function expiredUploadSessions(q: Queryable, cutoff: number): Promise<string[]> {
  const rows = await q.query<{ id: string }>('SELECT id FROM upload_sessions WHERE updated_at < $1', [
    new Date(cutoff),
  ]);
  return rows.map((r) => r.id);
}

export async function countUploadSessions(q: Queryable): Promise<number> {
  const rows = await q.query<{ count: number }>('SELECT count(*)::int AS count FROM upload_sessions');
  return rows[0]?.count ?? 0;
}
