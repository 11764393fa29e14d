// One garbage collection: take the lease, clean expired uploads, mark, then sweep untagged
// manifests (with --untagged), unreferenced blobs and the bytes of deleted manifests. Online: pushes
// go on meanwhile; sweep.ts says how each removal stays safe against them.
import type { MetadataCache } from '../cache/metadata-cache.ts';
import type { Database } from '../metadata/database.ts';
import { expiredUploadSessions } from '../metadata/uploads.ts';
import type { Uploads } from '../registry/uploads.ts';
import type { Services } from '../services.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { acquireGcLease, type GcLease } from './lease.ts';
import { type ManifestCandidate, mark, pendingManifestBytes } from './mark.ts';
import { type SweepOutcome, sweepBlob, sweepManifest, sweepManifestBytes } from './sweep.ts';

export type GcMode = 'dry-run' | 'delete';

export interface GcDependencies {
  readonly db: Database;
  readonly store: BlobStore;
  readonly uploads: Uploads;
  /** Invalidated for what GC removes (absent: nothing to invalidate, e.g. a CLI run). */
  readonly cache?: MetadataCache | undefined;
  /** Drops a removed blob from local caches (the disk cache of hot layers). */
  readonly forgetBlob?: ((digest: string) => Promise<void>) | undefined;
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
  readonly manifestsTotal: number;
  readonly aborted: boolean;
  readonly durationMs: number;
}

export { GcBusyError } from './lease.ts';

/** The dependencies of a run from the services of a running origin (or of the CLI). */
export function gcDependencies(services: Services): GcDependencies {
  return {
    db: services.db,
    store: services.store,
    uploads: services.uploads,
    cache: services.cache,
    forgetBlob: (digest) => services.blobs.forget(digest),
    uploadExpiryMs: services.config.uploads.expiry,
  };
}

/** Runs one GC; throws GcBusyError when another one (in any origin process) is running. */
export async function collectGarbage(deps: GcDependencies, options: GcOptions): Promise<GcReport> {
  const lease = await acquireGcLease(deps.db);
  try {
    return await run(deps, options, lease);
  } finally {
    await lease.release();
  }
}

async function run(deps: GcDependencies, options: GcOptions, lease: GcLease): Promise<GcReport> {
  const started = Date.now();
  const { db, store } = deps;
  const remove = options.mode === 'delete';
  let aborted = false;
  const stop = (): boolean => {
    if (lease.lost) throw new Error('the GC lease was lost (another run took it over): stopping');
    aborted ||= options.signal?.aborted === true;
    return aborted;
  };

  const uploads = remove
    ? await deps.uploads.purgeExpired(deps.uploadExpiryMs)
    : (await expiredUploadSessions(db, deps.uploadExpiryMs)).length;

  options.onProgress?.({ phase: 'mark', done: 0, total: 1 });
  const marked = await mark(db, options.untagged, options.gracePeriodMs);
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
      const outcome = await sweepManifest(db, m);
      if (outcome === 'removed') {
        report.manifests.items.push(item(m));
        await deps.cache?.deleteManifest(m.repository, m.digest);
      } else if (outcome !== 'gone') report.kept.manifests += 1;
      progress('manifests', i + 1, manifests.length);
    }

    for (const [i, b] of marked.blobs.entries()) {
      if (stop()) break;
      const { outcome, repositories } = await sweepBlob(db, store, b, options.gracePeriodMs);
      if (outcome === 'removed') {
        report.blobs.items.push(b);
        report.blobs.bytes += b.size;
        for (const repository of repositories) await deps.cache?.deleteBlob(repository, b.digest);
        await deps.forgetBlob?.(b.digest);
      } else if (outcome !== 'gone') report.kept.blobs += 1;
      progress('blobs', i + 1, marked.blobs.length);
    }

    // Fresh: the tombstones of the manifests just removed are among them.
    const bytes = aborted ? [] : await pendingManifestBytes(db);
    for (const [i, m] of bytes.entries()) {
      if (stop()) break;
      const outcome: SweepOutcome = await sweepManifestBytes(db, store, m);
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
    manifestsTotal: marked.manifests,
    aborted,
    durationMs: Date.now() - started,
  };
}
