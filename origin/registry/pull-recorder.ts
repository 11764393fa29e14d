// When each manifest and tag was last pulled, kept without a database write per pull: a pull is
// noted in memory (no await on the request path), and every pulls.flush_interval the pulls noted
// since are written with one UPDATE per table (metadata/pulls.ts). A crash loses at most the
// pulls of one interval; a clean shutdown flushes (the Lifecycle stops the recorder before the
// database closes). Pulls come from origin's manifest GETs and from the edge's reports
// (http/pull-reports.ts). Many pulls of one manifest between two flushes are one entry.
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../metadata/database.ts';
import { type ManifestPull, recordManifestPulls, recordTagPulls, type TagPull } from '../metadata/pulls.ts';
import type { Metrics } from '../metrics.ts';

/** Who saw the pull: origin answering it, or the edge reporting one it served from its cache. */
export type PullSource = 'origin' | 'edge';

export interface PullRecorderOptions {
  readonly db: Database;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics?: Metrics | undefined;
  /** false: nothing is noted or written (pulls.track). */
  readonly track: boolean;
  readonly flushIntervalMs: number;
  /**
   * Distinct entries kept while the database cannot be written (a failed flush keeps its entries
   * for the next one); beyond, the oldest are dropped rather than memory grown without bound.
   */
  readonly maxPending?: number;
}

const DEFAULT_MAX_PENDING = 1_000_000;

export class PullRecorder {
  private readonly options: PullRecorderOptions;
  private manifests = new Map<string, Mutable<ManifestPull>>();
  private tags = new Map<string, Mutable<TagPull>>();
  /** The counter's children, bound once (a labelled inc hashes its labels every time). */
  private readonly counters: Record<PullSource, { inc(): void }> | undefined;
  /** The flush running (or done): flushes run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PullRecorderOptions) {
    this.options = options;
    const counter = options.metrics?.pullsRecorded;
    this.counters = counter && { origin: counter.labels('origin'), edge: counter.labels('edge') };
  }

  get tracking(): boolean {
    return this.options.track;
  }

  /** Notes a pull of `digest` in `repository` (by `tag`, or by digest when null); `at` defaults to now. */
  record(repository: string, digest: string, tag: string | null, source: PullSource, at?: number): void {
    if (!this.options.track) return;
    const time = at ?? this.options.clock.now();
    // A pull of an entry already pending (the common case) allocates nothing.
    const manifestKey = `${repository}\n${digest}`;
    const manifest = this.manifests.get(manifestKey);
    if (!manifest) this.manifests.set(manifestKey, { repository, digest, at: time });
    else if (manifest.at < time) manifest.at = time;
    if (tag !== null) {
      const tagKey = `${repository}\n${tag}`;
      const known = this.tags.get(tagKey);
      if (!known) this.tags.set(tagKey, { repository, tag, at: time });
      else if (known.at < time) known.at = time;
    }
    this.counters?.[source].inc();
  }

  /** Writes what was noted since the last flush. Resolves once written; rejects if the write failed. */
  flush(): Promise<void> {
    const run = this.queue.then(() => this.write());
    this.queue = run.catch(() => {});
    return run;
  }

  start(): void {
    if (!this.options.track || this.timer) return;
    this.timer = setInterval(() => {
      // A failure is counted and logged by write(); its entries wait for the next flush.
      this.flush().catch(() => {});
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the schedule and writes what is left (clean shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(): Promise<void> {
    const manifests = this.manifests;
    const tags = this.tags;
    if (manifests.size === 0 && tags.size === 0) return;
    this.manifests = new Map();
    this.tags = new Map();
    const { db, log, metrics } = this.options;
    try {
      // Two statements, not a transaction: each stands alone, and a row lock held by one never
      // waits for the other table.
      await recordManifestPulls(db, [...manifests.values()]);
      await recordTagPulls(db, [...tags.values()]);
      metrics?.pullFlushes.inc({ outcome: 'written' });
    } catch (error) {
      metrics?.pullFlushes.inc({ outcome: 'failed' });
      log.warn({ err: error, manifests: manifests.size, tags: tags.size }, 'writing pull times failed');
      // Kept for the next flush (merged with what was noted meanwhile), within the bound.
      this.restore(manifests, this.manifests);
      this.restore(tags, this.tags);
      throw error;
    }
  }

  private restore<T extends { at: number }>(failed: Map<string, T>, current: Map<string, T>): void {
    const max = this.options.maxPending ?? DEFAULT_MAX_PENDING;
    for (const [key, entry] of failed) {
      if (current.size >= max) break;
      note(current, key, entry);
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Keeps the latest time of each entry. */
function note<T extends { at: number }>(pending: Map<string, T>, key: string, entry: T): void {
  const known = pending.get(key);
  if (!known || known.at < entry.at) pending.set(key, entry);
}
