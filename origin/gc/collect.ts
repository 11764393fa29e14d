// One garbage collection: take the lease, clean expired uploads, mark, then sweep untagged
// manifests (with --untagged), unreferenced blobs and the bytes of deleted manifests. Online: pushes
// go on meanwhile. Each removal is the domain's (registry/manifests.ts, registry/blobs.ts): it locks
// what it removes, re-checks, records its events and refreshes the caches; GC only decides what to try.
import type { Clock } from '../../shared/clock.ts';
import type { Config } from '../config.ts';
import type { Database } from '../metadata/database.ts';
import { type ManifestCandidate, pendingManifestBytes } from '../metadata/garbage.ts';
import type { Blobs } from '../registry/blobs.ts';
import { systemActor } from '../registry/events.ts';
import type { Manifests, RemovalOutcome } from '../registry/manifests.ts';
import type { Uploads } from '../registry/uploads.ts';
import { acquireGcLease, type GcLease } from './lease.ts';
import { mark } from './mark.ts';

export type GcMode = 'dry-run' | 'delete';

export interface GcDependencies {
  readonly db: Database;
  readonly uploads: Uploads;
  readonly manifests: Manifests;
  readonly blobs: Blobs;
  readonly clock: Clock;
  /** Upload sessions idle for longer are removed. */
  readonly uploadExpiryMs: number;
}

export interface GcOptions {
  readonly mode: GcMode;
  /** Also remove manifests no tag reaches (through indexes and subjects). */
  readonly untagged: boolean;
  readonly gracePeriodMs: number;
  readonly onProgress?: ((progress: GcProgress) => void) | undefined;
  /** Stops the run between two removals (shutdown). */
  readonly signal?: AbortSignal | undefined;
  /**
   * Run under the lease before GC starts (gc.schedule: retention), so that GC reclaims what it
   * freed in the same run, and one process does both.
   */
  readonly before?: (() => Promise<void>) | undefined;
}

export interface GcProgress {
  readonly phase: 'mark' | 'manifests' | 'blobs' | 'manifest bytes';
  readonly done: number;
  readonly total: number;
}

export interface GcReport {
  readonly mode: GcMode;
  readonly untagged: boolean;
  readonly gracePeriodMs: number;
  /** Unreferenced blobs removed (or that would be). */
  readonly blobs: { count: number; bytes: number; items: { digest: string; size: number }[] };
  /** Manifests no tag reaches, removed (only with `untagged`). */
  readonly manifests: { count: number; items: { repository: string; digest: string }[] };
  /** Stored bytes of deleted manifests, removed. */
  readonly manifestBytes: { count: number; items: { repository: string; digest: string }[] };
  /** Expired upload sessions, removed with their staged data. */
  readonly uploads: { count: number };
  /** Candidates of the mark that were in use, young or locked by a push when their turn came. */
  readonly kept: { blobs: number; manifests: number };
  /** Unreferenced blobs kept because they were pushed or mounted within the grace period. */
  readonly youngBlobs: { count: number; bytes: number };
  readonly manifestsTotal: number;
  readonly aborted: boolean;
  readonly durationMs: number;
}

export { GcBusyError } from './lease.ts';

/** A run's dependencies, from the parts of a running origin or of the CLI. */
export function gcDependencies(
  parts: Omit<GcDependencies, 'uploadExpiryMs'> & { readonly config: Config },
): GcDependencies {
  const { db, uploads, manifests, blobs, clock, config } = parts;
  return { db, uploads, manifests, blobs, clock, uploadExpiryMs: config.uploads.expiry };
}

const GC = systemActor('gc');

/** Runs one GC; throws GcBusyError when another one (in any origin process) is running. */
export async function collectGarbage(deps: GcDependencies, options: GcOptions): Promise<GcReport> {
  const lease = await acquireGcLease(deps.db);
  try {
    await options.before?.();
    return await run(deps, options, lease);
  } finally {
    await lease.release();
  }
}

async function run(deps: GcDependencies, options: GcOptions, lease: GcLease): Promise<GcReport> {
  const started = performance.now();
  const { db, clock } = deps;
  const remove = options.mode === 'delete';
  let aborted = false;
  const stop = (): boolean => {
    if (lease.lost) throw new Error('the GC lease was lost (another run took it over): stopping');
    aborted ||= options.signal?.aborted === true;
    return aborted;
  };

  const uploads = remove
    ? await deps.uploads.purgeExpired(deps.uploadExpiryMs)
    : await deps.uploads.countExpired(deps.uploadExpiryMs);

  options.onProgress?.({ phase: 'mark', done: 0, total: 1 });
  const cutoff = clock.now() - options.gracePeriodMs;
  const marked = await mark(db, options.untagged, cutoff);
  const report = {
    blobs: { count: 0, bytes: 0, items: [] as { digest: string; size: number }[] },
    manifests: { count: 0, items: [] as { repository: string; digest: string }[] },
    manifestBytes: { count: 0, items: [] as { repository: string; digest: string }[] },
    kept: { blobs: 0, manifests: 0 },
  };
  const item = (m: ManifestCandidate) => ({ repository: m.repository, digest: m.digest });

  if (!remove) {
    for (const m of marked.removableManifests) report.manifests.items.push(item(m));
    for (const m of marked.deletedManifests) report.manifestBytes.items.push(item(m));
    for (const b of marked.blobs) {
      report.blobs.items.push(b);
      report.blobs.bytes += b.size;
    }
  } else {
    const progress = (phase: GcProgress['phase'], done: number, total: number) =>
      options.onProgress?.({ phase, done, total });

    const manifests = marked.removableManifests;
    for (const [i, m] of manifests.entries()) {
      if (stop()) break;
      const outcome = await deps.manifests.removeUnreachable(m, GC);
      if (outcome === 'removed') report.manifests.items.push(item(m));
      else if (outcome !== 'gone') report.kept.manifests += 1;
      progress('manifests', i + 1, manifests.length);
    }

    for (const [i, b] of marked.blobs.entries()) {
      if (stop()) break;
      const outcome = await deps.blobs.removeUnreferenced(b, cutoff);
      if (outcome === 'removed') {
        report.blobs.items.push(b);
        report.blobs.bytes += b.size;
      } else if (outcome !== 'gone') report.kept.blobs += 1;
      progress('blobs', i + 1, marked.blobs.length);
    }

    // Fresh: the tombstones of the manifests just removed are among them.
    const bytes = aborted ? [] : await pendingManifestBytes(db);
    for (const [i, m] of bytes.entries()) {
      if (stop()) break;
      const outcome: RemovalOutcome = await deps.manifests.reclaimBytes(m);
      if (outcome === 'removed') report.manifestBytes.items.push(item(m));
      progress('manifest bytes', i + 1, bytes.length);
    }
  }

  report.blobs.count = report.blobs.items.length;
  report.manifests.count = report.manifests.items.length;
  report.manifestBytes.count = report.manifestBytes.items.length;
  return {
    mode: options.mode,
    untagged: options.untagged,
    gracePeriodMs: options.gracePeriodMs,
    ...report,
    uploads: { count: uploads },
    youngBlobs: { ...marked.youngBlobs },
    manifestsTotal: marked.manifests,
    aborted,
    durationMs: Math.round(performance.now() - started),
  };
}
