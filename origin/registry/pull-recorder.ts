// When each manifest and tag was last pulled, kept without a database write per pull: a pull is
// noted in memory (no await on the request path), and every pulls.flush_interval the pulls noted
// since are written with one UPDATE per table (metadata/pulls.ts). A crash loses at most the
// pulls of one interval; a clean shutdown flushes (the Lifecycle stops the recorder before the
// database closes). Pulls come from origin's manifest GETs and from the edge's reports
// (http/pull-reports.ts). Many pulls of one manifest between two flushes are one entry. The
// entries pending are bounded (maxPending per table): beyond, a pull of an entry not yet pending is
// dropped and counted, so a database that cannot be written (or a flood of distinct pulls) costs
// bounded memory.
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
   * Distinct entries pending per table (pulls.max_pending): a pull of an entry already pending is
   * always kept; one of a new entry beyond the bound is dropped. A failed flush's entries are kept
   * for the next one within the bound, the most recently pulled first: the oldest are dropped.
   */
  readonly maxPending?: number;
}

const DEFAULT_MAX_PENDING = 1_000_000;

export class PullRecorder {
  private readonly options: PullRecorderOptions;
  private readonly maxPending: number;
  private manifests = new Map<string, Mutable<ManifestPull>>();
  /** Keyed by repository, tag and digest: the tag may move between two flushes. */
  private tags = new Map<string, Mutable<TagPull>>();
  /** The counter's children, bound once (a labelled inc hashes its labels every time). */
  private readonly counters: Record<PullSource, { inc(): void }> | undefined;
  /** The flush running (or done): flushes run one after another. */
  private queue: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PullRecorderOptions) {
    this.options = options;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
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
    if (manifest) {
      if (manifest.at < time) manifest.at = time;
    } else if (this.manifests.size < this.maxPending) {
      this.manifests.set(manifestKey, { repository, digest, at: time });
    } else this.dropped(1);
    if (tag !== null) {
      const tagKey = `${repository}\n${tag}\n${digest}`;
      const known = this.tags.get(tagKey);
      if (known) {
        if (known.at < time) known.at = time;
      } else if (this.tags.size < this.maxPending) {
        this.tags.set(tagKey, { repository, tag, digest, at: time });
      } else this.dropped(1);
    }
    this.counters?.[source].inc();
  }

  /** Entries waiting for the next flush, per table. */
  get pending(): { readonly manifests: number; readonly tags: number } {
    return { manifests: this.manifests.size, tags: this.tags.size };
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

  /**
   * Merges a failed flush's entries into those noted since. An entry also noted since is always
   * merged; of the others, those most recently pulled are kept while room is left, the oldest dropped.
   */
  private restore<T extends { at: number }>(failed: Map<string, T>, current: Map<string, T>): void {
    const fresh: [string, T][] = [];
    for (const [key, entry] of failed) {
      const known = current.get(key);
      if (!known) fresh.push([key, entry]);
      else if (known.at < entry.at) current.set(key, entry);
    }
    const room = Math.max(0, this.maxPending - current.size);
    if (fresh.length > room) fresh.sort((a, b) => b[1].at - a[1].at);
    for (const [key, entry] of fresh.slice(0, room)) current.set(key, entry);
    this.dropped(Math.max(0, fresh.length - room));
  }

  private dropped(count: number): void {
    if (count > 0) this.options.metrics?.pullsDropped.inc(count);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
