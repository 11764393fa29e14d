// Upload sessions: the durable part of an upload's state (its repository and confirmed size).
import type { Queryable } from './database.ts';

export interface UploadSession {
  readonly id: string;
  readonly repository: string;
  readonly repositoryId: number;
  readonly size: number;
  /** sha256 hex of the first `size` bytes, when the process that wrote them recorded it. */
  readonly sha256SoFar: string | null;
  readonly createdAt: Date;
}

export async function createUploadSession(
  q: Queryable,
  id: string,
  repositoryId: number,
  now: number,
): Promise<void> {
  await q.query(
    'INSERT INTO upload_sessions (id, repository_id, created_at, updated_at) VALUES ($1, $2, $3, $3)',
    [id, repositoryId, new Date(now)],
  );
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
