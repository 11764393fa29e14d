// A PostgreSQL connection lost in the middle of a transaction, while the work awaits something
// other than the database (as a push awaits the blob store): that transaction fails (the database
// unavailable, a 503 to a request), the process goes on, and the next one gets a new connection.
// (Only this test's own backend is terminated, on the shared server.)
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Database, openDatabase } from '../../origin/metadata/database.ts';
import { Unavailable } from '../../origin/unavailable.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../harness/registry.ts';

let url: string;
let db: Database;
let admin: pg.Client;

beforeAll(async () => {
  url = await createPostgresDatabase();
  db = await openDatabase({ url, dataDir: '.tmp/unused', poolSize: 2, holder: 'lost-connection test' });
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.close();
  if (url) await dropPostgresDatabase(url);
});

describe('a database connection lost inside a transaction', () => {
  it('fails that transaction, not the process, and the next one runs on a new connection', async () => {
    const transaction = db.transaction(async (tx) => {
      const [own] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [own?.pid]);
      // Between two queries: the connection drops while nothing waits on it.
      await vi.waitFor(
        async () => {
          const { rows } = await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [own?.pid]);
          expect(rows).toEqual([]);
        },
        { timeout: 5_000, interval: 20 },
      );
      // The backend is gone; its socket's end reaches the pool's client in a moment.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query('SELECT 1');
    });
    await expect(transaction).rejects.toBeInstanceOf(Unavailable);
    expect(await db.query<{ one: number }>('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(await db.transaction((tx) => tx.query<{ two: number }>('SELECT 2 AS two'))).toEqual([{ two: 2 }]);
  });
});
