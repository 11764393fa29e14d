// One SQL dialect (PostgreSQL) on two engines: PGlite embedded in the process (the default, in a
// worker thread) and a PostgreSQL server through a pg pool. Everything above this module sees only `Database`.
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { isNetworkError, Unavailable } from '../unavailable.ts';
import { migrate } from './migrations.ts';
import { DataDirInUseError, lockDataDir } from './pglite-lock.ts';
import { openPgliteThread } from './pglite-thread.ts';
import type { Database } from './queryable.ts';

export type { Database, Queryable } from './queryable.ts';

export interface DatabaseOptions {
  /** postgres:// URL; absent means PGlite under `dataDir`. */
  url?: string | undefined;
  dataDir: string;
  poolSize: number;
  /** Who opens it, as a second PGlite opener is told (e.g. "registry serve on 127.0.0.1:5000"). */
  holder: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.url
    ? openPostgres(options.url, options.poolSize)
    : await openPglite(options.dataDir, options.holder);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

// PGlite runs in a worker thread (see pglite-worker.ts for why), for one process at a time
// (pglite-lock.ts).
async function openPglite(dataDir: string, holder: string): Promise<Database> {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // mkdir says "EEXIST: file already exists" of a data_dir that is a file.
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new Error(`data_dir ${dataDir} is not a directory (a file is in the way)`);
    throw new Error(`data_dir ${dataDir} cannot be created: ${(error as Error).message}`);
  }
  let release: () => void;
  try {
    release = lockDataDir(dataDir, holder);
  } catch (error) {
    if (error instanceof DataDirInUseError) throw error;
    throw new Error(`data_dir ${dataDir} cannot be written: ${(error as Error).message}`);
  }
  let db: Database;
  try {
    db = await openPgliteThread(dataDir);
  } catch (error) {
    release();
    throw error;
  }
  return {
    ...db,
    async close() {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
}

// int8 and numeric arrive as strings from pg; sizes fit a JS number (< 2^53), as PGlite returns them.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

// SQLSTATEs of a server that cannot serve now: a connection exception (class 08), shutting down
// or starting up (57P01–57P03), no connection slot left (53300).
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

function isUnreachable(error: unknown): boolean {
  if (error instanceof pg.DatabaseError)
    return error.code?.startsWith('08') === true || UNAVAILABLE_STATES.has(error.code ?? '');
  if (isNetworkError(error)) return true;
  // A server on a unix socket that is not running: its socket file is gone.
  if (
    (error as { code?: unknown }).code === 'ENOENT' &&
    (error as { syscall?: unknown }).syscall === 'connect'
  )
    return true;
  // The driver's own words for a connection that went away; it gives them no code.
  return error instanceof Error && /^Connection terminated|is not queryable/.test(error.message);
}

/** A call to the server: a server that cannot be reached fails it with Unavailable. */
async function onServer<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw isUnreachable(error) ? new Unavailable('database', error) : error;
  }
}

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return {
    engine: 'postgres',
    async query<T extends object>(sql: string, params: readonly unknown[] = []) {
      return onServer(async () => (await pool.query<T>(sql, params as unknown[])).rows);
    },
    async transaction(work) {
      const client = await onServer(() => pool.connect());
      // The pool listens for a lost connection only on idle clients: one lost while the work
      // awaits something else (the blob store) is an 'error' event here, which, unheard, would
      // end the process. Heard, the next query fails the transaction, and the client is dropped.
      let lost: Error | undefined;
      const onError = (error: Error) => {
        lost = error;
      };
      client.on('error', onError);
      try {
        await onServer(() => client.query('BEGIN'));
        const result = await work({
          async query<T extends object>(sql: string, params: readonly unknown[] = []) {
            return onServer(async () => (await client.query<T>(sql, params as unknown[])).rows);
          },
        });
        await onServer(() => client.query('COMMIT'));
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.off('error', onError);
        client.release(lost);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => pool.end(),
  };
}
