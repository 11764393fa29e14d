// Runs queued scans: `concurrency` loops per process, each claiming one job at a time from the
// database queue (so any origin process picks up jobs, and jobs survive restarts). A job whose
// image was already scanned against the current data is finished without scanning again.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { parseManifest, scanSubject } from '../../shared/manifest.ts';
import type { Database } from '../metadata/database.ts';
import {
  claimScanJob,
  findScanResults,
  finishScanJob,
  markScanRunning,
  type ScanJob,
  saveScanResult,
} from '../metadata/scans.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { type Finding, recordInventoryPackages } from '../vulndb/match.ts';
import type { Wakeup } from '../wakeup.ts';
import type { ImageScanner } from './scanner.ts';

export interface ScanWorkerOptions {
  db: Database;
  /** Notified when this process queued a job: look at once rather than at the next poll. */
  queued: Wakeup;
  store: BlobStore;
  scanner: ImageScanner;
  log: Logger;
  concurrency: number;
  timeoutMs: number;
  pollIntervalMs: number;
  /** Called after a result is stored: findings that were not in the previous result. */
  onResult(
    digest: string,
    repository: string,
    added: Finding[],
    outcome: 'completed' | 'failed',
  ): Promise<void>;
  onOutcome?(outcome: 'completed' | 'failed' | 'skipped', layersAnalyzed: number): void;
}

/** Warnings written to the log per scan; the API has them all. */
const MAX_LOGGED_WARNINGS = 20;

export class ScanWorker {
  private readonly options: ScanWorkerOptions;
  private readonly id = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private stopping = false;
  private readonly aborter = new AbortController();
  private wakeUp: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loops: Promise<void>[] = [];

  constructor(options: ScanWorkerOptions) {
    this.options = options;
  }

  start(): void {
    this.unsubscribe = this.options.queued.subscribe(() => this.wakeUp?.());
    for (let i = 0; i < this.options.concurrency; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    // A scan cut short stays claimed until its lease expires, then another process takes it.
    this.aborter.abort(new Error('the origin is shutting down'));
    this.wakeUp?.();
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let job: ScanJob | null = null;
      try {
        job = await claimScanJob(this.options.db, this.id, this.options.timeoutMs + 60_000);
      } catch (error) {
        if (!this.stopping) this.options.log.error({ err: error }, 'scan queue: claiming a job failed');
      }
      if (job) {
        await this.run(job);
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        timer.unref();
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async run(job: ScanJob): Promise<void> {
    const { db, log, scanner } = this.options;
    const started = performance.now();
    try {
      const previous = (await findScanResults(db, [job.digest])).get(job.digest);
      const generation = await scanner.dataGeneration();
      if (
        !job.force &&
        previous?.status === 'completed' &&
        previous.scanner === scanner.name &&
        previous.vulndbGeneration >= generation
      ) {
        await finishScanJob(db, job.id, null);
        log.info(
          { digest: job.digest, repository: job.repository },
          'scan skipped: already scanned against the current data',
        );
        this.options.onOutcome?.('skipped', 0);
        return;
      }
      const bytes = await this.options.store.getManifest(job.repository, job.digest);
      if (!bytes) return await this.fail(job, 'the manifest no longer exists');
      const manifest = parseManifest(bytes, undefined);
      if (!manifest.ok)
        return await this.fail(job, `the stored manifest cannot be read: ${manifest.error.message}`);
      const kind = scanSubject(manifest.value);
      if (kind.kind !== 'image')
        return await this.fail(job, `a ${kind.kind} is not scanned (only images are)`);
      await markScanRunning(db, job.digest);
      const signal = AbortSignal.any([this.aborter.signal, AbortSignal.timeout(this.options.timeoutMs)]);
      const outcome = await scanner.scan(
        {
          repository: job.repository,
          digest: job.digest,
          configDigest: kind.configDigest,
          layers: kind.layers,
        },
        signal,
      );
      if (this.stopping) return;
      if (!outcome.ok) return await this.fail(job, outcome.error);
      // Counted before the result is visible, so that whoever sees the result sees the count.
      this.options.onOutcome?.('completed', outcome.layersAnalyzed);
      await saveScanResult(db, job.digest, {
        ok: true,
        scanner: scanner.name,
        generation: outcome.generation,
        inventory: outcome.inventory,
        findings: outcome.findings,
      });
      await recordInventoryPackages(db, job.digest, outcome.inventory);
      await finishScanJob(db, job.id, null);
      const known = new Set((previous?.findings ?? []).map(findingKey));
      const added = outcome.findings.filter((f) => !known.has(findingKey(f)));
      log.info(
        {
          digest: job.digest,
          repository: job.repository,
          reason: job.reason,
          packages: outcome.inventory.packages.length,
          vulnerabilities: outcome.findings.length,
          new_vulnerabilities: added.length,
          warnings: outcome.inventory.warnings.length,
          layers_analyzed: outcome.layersAnalyzed,
          duration_ms: Math.round(performance.now() - started),
        },
        'scan completed',
      );
      // A result with warnings may miss packages: operators hear of it without asking the API.
      if (outcome.inventory.warnings.length > 0) {
        log.warn(
          {
            digest: job.digest,
            repository: job.repository,
            warnings: outcome.inventory.warnings.slice(0, MAX_LOGGED_WARNINGS),
            total: outcome.inventory.warnings.length,
          },
          'scan completed with warnings',
        );
      }
      await this.options.onResult(job.digest, job.repository, added, 'completed');
    } catch (error) {
      if (this.stopping) return;
      await this.fail(job, error instanceof Error ? error.message : String(error)).catch((e: unknown) =>
        log.error({ err: e, digest: job.digest }, 'scan queue: recording a failure failed'),
      );
    }
  }

  private async fail(job: ScanJob, reason: string): Promise<void> {
    const { db, log, scanner } = this.options;
    this.options.onOutcome?.('failed', 0);
    await saveScanResult(db, job.digest, { ok: false, scanner: scanner.name, error: reason });
    await finishScanJob(db, job.id, reason);
    log.warn({ digest: job.digest, repository: job.repository, reason }, 'scan failed');
    await this.options.onResult(job.digest, job.repository, [], 'failed');
  }
}

/** Two findings are the same vulnerability of the same package at the same place. */
export function findingKey(f: Finding): string {
  return `${f.id}\0${f.package}\0${f.installedVersion}\0${f.path}`;
}
