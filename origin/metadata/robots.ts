// Robot accounts, by name (without the robot$ of their login name), with the hash of their secret
// and their scopes. Generating and checking secrets, and what scopes allow, is origin/auth/'s.
import type { RepositoryAction } from '../../shared/scope.ts';
import type { Queryable } from './database.ts';

/** What a robot may do in the repositories whose names start with `prefix`. */
export interface RobotScope {
  readonly prefix: string;
  readonly actions: readonly RepositoryAction[];
}

export interface StoredRobot {
  readonly name: string;
  readonly secretHash: string;
  readonly scopes: readonly RobotScope[];
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
}

interface Row {
  name: string;
  secret_hash: string;
  scopes: RobotScope[];
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'name, secret_hash, scopes, created_at, expires_at, last_used_at';

const time = (value: Date | null) => (value === null ? null : new Date(value).getTime());

const robotOf = (r: Row): StoredRobot => ({
  name: r.name,
  secretHash: r.secret_hash,
  scopes: r.scopes,
  createdAt: new Date(r.created_at).getTime(),
  expiresAt: time(r.expires_at),
  lastUsedAt: time(r.last_used_at),
});

/** Adds the robot; false when one of that name exists (it is left as it was). */
export async function insertRobot(q: Queryable, robot: StoredRobot): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO robots (name, secret_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3::jsonb, $4, $5)
     ON CONFLICT (name) DO NOTHING RETURNING name`,
    [
      robot.name,
      robot.secretHash,
      JSON.stringify(robot.scopes),
      new Date(robot.createdAt),
      robot.expiresAt === null ? null : new Date(robot.expiresAt),
    ],
  );
  return rows.length > 0;
}

export async function findRobot(q: Queryable, name: string): Promise<StoredRobot | undefined> {
  const rows = await q.query<Row>(`SELECT ${COLUMNS} FROM robots WHERE name = $1`, [name]);
  return rows[0] && robotOf(rows[0]);
}

export async function listRobots(q: Queryable): Promise<StoredRobot[]> {
  const rows = await q.query<Row>(`SELECT ${COLUMNS} FROM robots ORDER BY name`);
  return rows.map(robotOf);
}

export async function deleteRobot(q: Queryable, name: string): Promise<boolean> {
  const rows = await q.query('DELETE FROM robots WHERE name = $1 RETURNING name', [name]);
  return rows.length > 0;
}

/** Records a use at `at`, unless one at or after it is recorded already. */
export async function recordRobotUse(q: Queryable, name: string, at: number): Promise<void> {
  await q.query(
    'UPDATE robots SET last_used_at = $2 WHERE name = $1 AND (last_used_at IS NULL OR last_used_at < $2)',
    [name, new Date(at)],
  );
}
