// One GC at a time across every origin process sharing the database: a lease row that the running
// GC renews while it works. A process that dies leaves a lease that expires by itself (no session
// advisory lock, which would need one dedicated connection for the whole run; this works alike on
// PGlite and on a PostgreSQL pool).
import { hostname } from 'node:os';
import type { Database } from '../metadata/database.ts';

const NAME = 'gc';

/** Another GC holds the lease. */
export class GcBusyError extends Error {
  readonly holder: string;
  readonly startedAt: Date;
  constructor(holder: string, startedAt: Date) {
    super(`a garbage collection is already running (${holder}, since ${startedAt.toISOString()})`);
    this.holder = holder;
    this.startedAt = startedAt;
  }
}

export interface GcLease {
  readonly holder: string;
  /** True once a renewal found the lease taken over (the run must stop). */
  readonly lost: boolean;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** How long the lease lasts without renewal (renewed every third of it). Default 60 s. */
  ttlMs?: number;
  holder?: string;
}

/** Takes the GC lease, or throws GcBusyError naming who holds it. */
export async function acquireGcLease(db: Database, options: LeaseOptions = {}): Promise<GcLease> {
  const ttlMs = options.ttlMs ?? 60_000;
  const holder = options.holder ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const taken = await db.query(
    `INSERT INTO gc_lease (name, holder, started_at, expires_at)
     VALUES ($1, $2, now(), now() + $3::double precision * interval '1 millisecond')
     ON CONFLICT (name) DO UPDATE
       SET holder = EXCLUDED.holder, started_at = EXCLUDED.started_at, expires_at = EXCLUDED.expires_at
       WHERE gc_lease.expires_at < now()
     RETURNING holder`,
    [NAME, holder, ttlMs],
  );
  if (taken.length === 0) {
    const rows = await db.query<{ holder: string; started_at: Date }>(
      'SELECT holder, started_at FROM gc_lease WHERE name = $1',
      [NAME],
    );
    throw new GcBusyError(rows[0]?.holder ?? 'unknown', new Date(rows[0]?.started_at ?? Date.now()));
  }
  let lost = false;
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = db
      .query(
        `UPDATE gc_lease SET expires_at = now() + $3::double precision * interval '1 millisecond'
          WHERE name = $1 AND holder = $2 RETURNING holder`,
        [NAME, holder, ttlMs],
      )
      .then(
        (rows) => {
          if (rows.length === 0) lost = true;
        },
        // A failed renewal is retried at the next tick; the lease lasts three ticks.
        () => {},
      );
  }, ttlMs / 3);
  timer.unref();
  return {
    holder,
    get lost() {
      return lost;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      await db.query('DELETE FROM gc_lease WHERE name = $1 AND holder = $2', [NAME, holder]);
    },
  };
}
