// One GC at a time across every origin process sharing the database: a lease row that the running
// GC renews while it works. A process that dies leaves a lease that expires by itself (no session
// advisory lock, which would need one dedicated connection for the whole run; this works alike on
// PGlite and on a PostgreSQL pool).
import { hostname } from 'node:os';
import type { Database } from '../metadata/database.ts';
import { leaseHolder, releaseLease, renewLease, takeLease } from '../metadata/garbage.ts';

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
  if (!(await takeLease(db, NAME, holder, ttlMs))) {
    const current = await leaseHolder(db, NAME);
    throw new GcBusyError(current?.holder ?? 'unknown', current?.startedAt ?? new Date());
  }
  let lost = false;
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewLease(db, NAME, holder, ttlMs).then(
      (held) => {
        if (!held) lost = true;
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
      await releaseLease(db, NAME, holder);
    },
  };
}
