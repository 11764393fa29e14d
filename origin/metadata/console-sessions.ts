// Console sign-ins: one row per session, keyed by the SHA-256 of its cookie (a stolen table
// gives no usable cookie), with the CSRF token its forms carry. Expired rows are purged on sign-in.
import type { Queryable } from './database.ts';

export interface ConsoleSessionRow {
  readonly user: string;
  readonly csrf: string;
  readonly expiresAt: number;
}

export async function insertConsoleSession(
  q: Queryable,
  idHash: string,
  session: ConsoleSessionRow,
  now: number,
): Promise<void> {
  await q.query('DELETE FROM console_sessions WHERE expires_at <= $1', [new Date(now)]);
  await q.query(
    'INSERT INTO console_sessions (id_hash, "user", csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [idHash, session.user, session.csrf, new Date(now), new Date(session.expiresAt)],
  );
}

export async function findConsoleSession(
  q: Queryable,
  idHash: string,
  now: number,
): Promise<ConsoleSessionRow | null> {
  const rows = await q.query<{ user: string; csrf: string; expires_at: string | Date }>(
    'SELECT "user", csrf, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2',
    [idHash, new Date(now)],
  );
  const row = rows[0];
  return row ? { user: row.user, csrf: row.csrf, expiresAt: new Date(row.expires_at).getTime() } : null;
}

export async function deleteConsoleSession(q: Queryable, idHash: string): Promise<void> {
  await q.query('DELETE FROM console_sessions WHERE id_hash = $1', [idHash]);
}
