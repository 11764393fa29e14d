// Users added with `registry user add`, by name with their password hash. Config and htpasswd
// users are never stored; hashing and checking passwords is origin/auth/'s.
import type { Queryable } from './database.ts';

/** How many users are stored: none (and none configured) means admin/secret is accepted. */
export async function countUsers(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return rows[0]?.n ?? 0;
}

/** The stored password hash of `name`; undefined when no such user is stored. */
export async function findPasswordHash(q: Queryable, name: string): Promise<string | undefined> {
  const rows = await q.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE name = $1', [
    name,
  ]);
  return rows[0]?.password_hash;
}

/** Adds the user, or replaces its password hash. */
export async function saveUserHash(q: Queryable, name: string, passwordHash: string): Promise<void> {
  await q.query(
    `INSERT INTO users (name, password_hash) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET password_hash = EXCLUDED.password_hash`,
    [name, passwordHash],
  );
}
