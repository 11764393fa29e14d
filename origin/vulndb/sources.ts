// Vulnerability data that keeps itself current: each of scan.sources is fetched and imported
// (incrementally, then stored inventories re-matched, as `registry vulndb import` does), once by
// `registry vulndb update` and on a schedule by `registry serve`.
//
// An http(s) source is an OSV export (osv.dev's all.zip, or a mirror of it) fetched with a
// conditional GET: the ETag and Last-Modified of the copy last imported go back as If-None-Match
// and If-Modified-Since, so an unchanged export costs one 304. The download is staged in a file
// of its own under data_dir/tmp, bounded by scan.vulndb_upload_max, and imported as an archive
// only: a corrupt or truncated zip is refused before any record is written, and its validators
// are not kept, so the next attempt fetches it again. Network errors, 5xx and 429 are retried
// with a doubling wait; what failed is kept per source (status, GET /admin/vulndb) and logged,
// and never stops the registry. Any other source is a local path (an all.zip, a directory of
// records) or a file: URL, for sites without internet: imported as it is, which skips unchanged
// records cheaply.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../metadata/database.ts';
import {
  ecosystemData,
  recordSourceFailure,
  recordSourceSuccess,
  type SourceState,
  sourceState,
  sourceStates,
} from '../metadata/vuln-sources.ts';
import { countAdvisories, currentGeneration, listImports } from '../metadata/vulnerabilities.ts';
import { type DataUpdate, updateVulnerabilityData } from '../scan/data-update.ts';
import type { Scans } from '../scan/scans.ts';
import type { ImportReport } from './import.ts';

export interface SourceSettings {
  sources: readonly string[];
  /** How often the schedule checks each source; 0: no schedule. */
  intervalMs: number;
  retries: number;
  /** The first wait before a retry; it doubles with each. */
  backoffMs: number;
  /** The largest download taken. */
  maxBytes: number;
  /** Where downloads are staged (data_dir/tmp). */
  stagingDir: string;
  /** The most one download may take, headers to last byte. */
  downloadTimeoutMs?: number;
}

export interface SourceDependencies {
  db: Database;
  scans: Scans;
  log: Logger;
  clock: Clock;
}

export type SourceOutcome =
  | {
      source: string;
      status: 'imported';
      report: ImportReport;
      rematch: Extract<DataUpdate, { ok: true }>['rematch'];
    }
  | { source: string; status: 'unchanged' }
  | { source: string; status: 'failed'; error: string; attempts: number };

/** A source whose last attempt failed is tried again after this, or the interval if shorter. */
const FAILED_RETRY_MS = 15 * 60_000;
/** The schedule looks at the clock at least this often (a clock moved forward is noticed). */
const MAX_SLEEP_MS = 60_000;
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

export class VulnDataSources {
  private readonly deps: SourceDependencies;
  private readonly settings: SourceSettings;
  /** One update at a time in this process: the schedule's and one asked for. */
  private running: Promise<unknown> = Promise.resolve();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: { wake: () => void } | undefined;

  constructor(deps: SourceDependencies, settings: SourceSettings) {
    this.deps = deps;
    this.settings = settings;
  }

  /** Fetches and imports every source now, one after another. */
  update(): Promise<SourceOutcome[]> {
    return this.exclusive(async () => {
      const outcomes: SourceOutcome[] = [];
      for (const source of this.settings.sources) outcomes.push(await this.updateOne(source));
      return outcomes;
    });
  }

  /** Fetches the sources whose next check is due by the clock; what the schedule runs. */
  updateDue(): Promise<SourceOutcome[]> {
    return this.exclusive(async () => {
      const outcomes: SourceOutcome[] = [];
      for (const source of this.settings.sources) {
        if (this.stopping.signal.aborted) break;
        const due = this.dueAt(await sourceState(this.deps.db, source));
        if (due <= this.deps.clock.now()) outcomes.push(await this.updateOne(source));
      }
      return outcomes;
    });
  }

  /** Starts the schedule (nothing when there is no source or no interval). */
  start(): void {
    const { sources, intervalMs } = this.settings;
    if (sources.length === 0 || intervalMs === 0 || this.loop) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.timer?.wake();
    await this.loop;
    await this.running.catch(() => {});
  }

  /** What the data is and how each source fared: `registry vulndb status`, GET /admin/vulndb. */
  async status(): Promise<VulnDataStatus> {
    const { db } = this.deps;
    const states = new Map((await sourceStates(db)).map((s) => [s.source, s]));
    const configured = new Set(this.settings.sources);
    const names = [...this.settings.sources, ...[...states.keys()].filter((s) => !configured.has(s))];
    const counts = await countAdvisories(db);
    const scheduled = this.settings.intervalMs > 0;
    return {
      generation: await currentGeneration(db),
      records: counts.records,
      withdrawn: counts.withdrawn,
      update_interval_ms: this.settings.intervalMs,
      ecosystems: (await ecosystemData(db)).map((e) => ({
        ecosystem: e.ecosystem,
        records: e.records,
        imported_at: e.importedAt.toISOString(),
      })),
      sources: names.map((source) => {
        const s = states.get(source);
        return {
          source,
          configured: configured.has(source),
          last_checked: iso(s?.checkedAt),
          last_success: iso(s?.succeededAt),
          last_change: iso(s?.changedAt),
          last_error: s?.error ?? null,
          last_error_at: iso(s?.errorAt),
          failures: s?.failures ?? 0,
          etag: s?.etag ?? null,
          last_modified: s?.lastModified ?? null,
          // Due already (never checked, or overdue): the next check is now.
          next_check:
            scheduled && configured.has(source)
              ? new Date(Math.max(this.dueAt(s), this.deps.clock.now())).toISOString()
              : null,
        };
      }),
      imports: (await listImports(db)).map((i) => ({
        source: i.source,
        imported_at: i.importedAt.toISOString(),
        newest_record: i.lastModified?.toISOString() ?? null,
      })),
    };
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.running.catch(() => {}).then(work);
    this.running = next;
    return next;
  }

  /** When a source is next due: now if never checked; after the interval, or sooner after a failure. */
  private dueAt(state: SourceState | undefined): number {
    if (!state?.checkedAt) return 0;
    const wait =
      state.failures > 0 ? Math.min(this.settings.intervalMs, FAILED_RETRY_MS) : this.settings.intervalMs;
    return state.checkedAt.getTime() + wait;
  }

  private async run(): Promise<void> {
    const { log, clock, db } = this.deps;
    log.info(
      { sources: this.settings.sources, interval_ms: this.settings.intervalMs },
      'vulnerability data: scheduled updates on',
    );
    while (!this.stopping.signal.aborted) {
      try {
        await this.updateDue();
      } catch (error) {
        // The database failing, say: logged, and tried again at the next wake.
        log.error({ err: error }, 'vulnerability data: scheduled update failed');
      }
      if (this.stopping.signal.aborted) break;
      let next = Number.POSITIVE_INFINITY;
      try {
        for (const source of this.settings.sources)
          next = Math.min(next, this.dueAt(await sourceState(db, source)));
      } catch {
        next = clock.now() + MAX_SLEEP_MS;
      }
      await this.sleep(Math.min(Math.max(next - clock.now(), 1000), MAX_SLEEP_MS));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(handle);
        this.timer = undefined;
        resolve();
      };
      const handle = setTimeout(wake, ms);
      handle.unref();
      this.timer = { wake };
    });
  }

  private async updateOne(source: string): Promise<SourceOutcome> {
    const { db, log, clock } = this.deps;
    const started = new Date(clock.now());
    let outcome: SourceOutcome;
    try {
      outcome = isRemote(source) ? await this.fetchRemote(source) : await this.importLocal(source);
    } catch (error) {
      // Unexpected (the staging directory cannot be written): reported like any failure.
      outcome = { source, status: 'failed', error: (error as Error).message, attempts: 1 };
    }
    if (outcome.status === 'failed') {
      await recordSourceFailure(db, source, started, outcome.error);
      log.error(
        { source, error: outcome.error, attempts: outcome.attempts },
        `vulnerability data: ${source} failed`,
      );
    } else {
      if (outcome.status === 'imported') {
        const { report, rematch } = outcome;
        log.info(
          { source, added: report.added, updated: report.updated, withdrawn: report.withdrawn, ...rematch },
          `vulnerability data: ${source} imported: ${report.added} added, ${report.updated} updated; ${rematch.rematched} images re-matched`,
        );
      } else {
        log.debug({ source }, `vulnerability data: ${source} unchanged`);
      }
    }
    return outcome;
  }

  private async importLocal(source: string): Promise<SourceOutcome> {
    const location = source.startsWith('file:') ? fileURLToPath(source) : source;
    const update = await updateVulnerabilityData(this.deps, location, { source });
    if (!update.ok) return { source, status: 'failed', error: update.error, attempts: 1 };
    const { report } = update;
    const changed = report.added + report.updated + report.withdrawn > 0;
    await recordSourceSuccess(
      this.deps.db,
      source,
      new Date(this.deps.clock.now()),
      changed ? { etag: null, lastModified: null } : undefined,
    );
    return changed ? { source, status: 'imported', ...update } : { source, status: 'unchanged' };
  }

  private async fetchRemote(source: string): Promise<SourceOutcome> {
    const { db, clock, log } = this.deps;
    const { retries, backoffMs, maxBytes, stagingDir } = this.settings;
    const state = await sourceState(db, source);
    await mkdir(stagingDir, { recursive: true });
    const dir = await mkdtemp(path.join(stagingDir, 'vulndb-source-'));
    try {
      const file = path.join(dir, 'all.zip');
      let attempt = 0;
      for (;;) {
        attempt++;
        const fetched = await download(source, file, state, maxBytes, this.downloadSignal());
        if (fetched.kind === 'not-modified') {
          await recordSourceSuccess(db, source, new Date(clock.now()));
          return { source, status: 'unchanged' };
        }
        if (fetched.kind === 'fetched') {
          const update = await updateVulnerabilityData(this.deps, file, { source, archiveOnly: true });
          if (!update.ok) return { source, status: 'failed', error: update.error, attempts: attempt };
          await recordSourceSuccess(db, source, new Date(clock.now()), fetched.validators);
          return { source, status: 'imported', ...update };
        }
        if (!fetched.retry || attempt > retries || this.stopping.signal.aborted)
          return { source, status: 'failed', error: fetched.error, attempts: attempt };
        const wait = backoffMs * 2 ** (attempt - 1);
        log.warn(
          { source, error: fetched.error, attempt, retry_in_ms: wait },
          `vulnerability data: ${source}: ${fetched.error}; retrying`,
        );
        await this.sleep(wait);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private downloadSignal(): AbortSignal {
    return AbortSignal.any([
      this.stopping.signal,
      AbortSignal.timeout(this.settings.downloadTimeoutMs ?? DOWNLOAD_TIMEOUT_MS),
    ]);
  }
}

export interface VulnDataStatus {
  generation: number;
  records: number;
  withdrawn: number;
  update_interval_ms: number;
  ecosystems: { ecosystem: string; records: number; imported_at: string }[];
  sources: {
    source: string;
    /** In scan.sources (a source dropped from the config keeps its row). */
    configured: boolean;
    last_checked: string | null;
    last_success: string | null;
    last_change: string | null;
    last_error: string | null;
    last_error_at: string | null;
    failures: number;
    etag: string | null;
    last_modified: string | null;
    next_check: string | null;
  }[];
  /** The import ledger: every import (sources, `vulndb import`, uploads) and when it ran. */
  imports: { source: string; imported_at: string; newest_record: string | null }[];
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

export function isRemote(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

type Download =
  | { kind: 'not-modified' }
  | { kind: 'fetched'; validators: { etag: string | null; lastModified: string | null } }
  | { kind: 'failed'; error: string; retry: boolean };

/** One conditional GET of `url` into `file`. */
async function download(
  url: string,
  file: string,
  state: SourceState | undefined,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Download> {
  const headers: Record<string, string> = {};
  if (state?.etag) headers['if-none-match'] = state.etag;
  if (state?.lastModified) headers['if-modified-since'] = state.lastModified;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal, redirect: 'follow' });
  } catch (error) {
    return { kind: 'failed', error: networkError(error), retry: true };
  }
  if (response.status === 304) {
    await response.body?.cancel();
    return { kind: 'not-modified' };
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    const retry = response.status >= 500 || response.status === 429 || response.status === 408;
    return { kind: 'failed', error: `HTTP ${response.status}`, retry };
  }
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (length > maxBytes) {
    await response.body?.cancel();
    return {
      kind: 'failed',
      error: `${length} bytes, over scan.vulndb_upload_max (${maxBytes})`,
      retry: false,
    };
  }
  if (!response.body) return { kind: 'failed', error: 'the response has no body', retry: true };
  let received = 0;
  const bound = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received > maxBytes) done(new OverLimit());
      else done(null, chunk);
    },
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      bound,
      createWriteStream(file),
    );
  } catch (error) {
    if (error instanceof OverLimit)
      return { kind: 'failed', error: `over scan.vulndb_upload_max (${maxBytes} bytes)`, retry: false };
    return { kind: 'failed', error: `download interrupted: ${networkError(error)}`, retry: true };
  }
  return {
    kind: 'fetched',
    validators: { etag: response.headers.get('etag'), lastModified: response.headers.get('last-modified') },
  };
}

class OverLimit extends Error {}

/** fetch's own message is "fetch failed"; the reason is its cause's. */
function networkError(error: unknown): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  const base = (error as Error).message;
  return cause?.message ? `${base}: ${cause.message}` : base;
}
