// How the origin is put together. Each part is opened by one function, from the parts below it,
// and registered with the Lifecycle that closes it (last opened, first closed). `registry serve`
// opens everything (the Application); every other command opens only what it uses: `registry gc`
// opens no scanner, no webhook dispatcher and no HTTP server.
//
//   core        config, log, clock, database
//   store       the blob store (filesystem or S3)
//   events      domain events and the listeners that keep rows: webhook outbox, scan queue
//   registry    metadata cache, disk cache; manifests, uploads, blobs, repositories, retention
//   scanning    scanner, scans (results, rematch), scan worker
//   serving     users, robot accounts, permissions, tokens, pull policy, webhook dispatcher, metrics,
//               the pull recorder, background jobs (upload expiry, scheduled retention and GC)
import path from 'node:path';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../shared/clock.ts';
import { AuditTrail } from './audit/audit-trail.ts';
import { Permissions } from './auth/permissions.ts';
import { robotWriteLog } from './auth/robot-write-log.ts';
import { RobotAccounts } from './auth/robots.ts';
import { TokenService } from './auth/token-service.ts';
import { UserDirectory } from './auth/users.ts';
import { InMemoryMetadataCache, type MetadataCache } from './cache/metadata-cache.ts';
import type { Config } from './config.ts';
import { ConsoleSessions } from './console/console-sessions.ts';
import { gcDependencies } from './gc/collect.ts';
import { scheduleGc } from './gc/schedule.ts';
import { Lifecycle } from './lifecycle.ts';
import { createLogger } from './log.ts';
import { type Database, openDatabase } from './metadata/database.ts';
import { Metrics } from './metrics.ts';
import { ImmutableTags } from './policy/immutable-tags.ts';
import { PolicyRules } from './policy/policy-rules.ts';
import { PullPolicy } from './policy/pull-policy.ts';
import { Quotas } from './policy/quotas.ts';
import { BlobReader } from './registry/blob-reader.ts';
import { Blobs } from './registry/blobs.ts';
import { DomainEvents } from './registry/events.ts';
import { Manifests } from './registry/manifests.ts';
import { PullRecorder } from './registry/pull-recorder.ts';
import { Repositories } from './registry/repositories.ts';
import { TagDetails } from './registry/tag-details.ts';
import { Uploads } from './registry/uploads.ts';
import { Retention } from './retention/retention.ts';
import { createScanner } from './scan/create-scanner.ts';
import { ScanQueue } from './scan/scan-queue.ts';
import { ScanWorker } from './scan/scan-worker.ts';
import type { ImageScanner } from './scan/scanner.ts';
import { Scans } from './scan/scans.ts';
import type { Services } from './services.ts';
import type { BlobStore } from './storage/blob-store.ts';
import { DiskCache } from './storage/disk-cache.ts';
import { FilesystemBlobStore } from './storage/filesystem.ts';
import { VulnDataSources } from './vulndb/sources.ts';
import { WebhookDispatcher } from './webhooks/dispatcher.ts';
import { WebhookOutbox } from './webhooks/outbox.ts';
import { WebhookSubscriptions } from './webhooks/subscriptions.ts';

export interface ApplicationOptions {
  /** Where time comes from (tests pass a clock they move). */
  readonly clock?: Clock;
  /** Who opens the database, as another process would be told (PGlite); default: `registry serve`. */
  readonly holder?: string;
}

/** What every command needs. Close `lifecycle` to close everything opened on top of it. */
export interface Core {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly db: Database;
  readonly lifecycle: Lifecycle;
}

export async function openCore(config: Config, options: ApplicationOptions = {}): Promise<Core> {
  const lifecycle = new Lifecycle();
  const log = createLogger(config.log.level);
  const db = await openDatabase({
    url: config.database.url,
    dataDir: config.data_dir,
    poolSize: config.database.pool_size,
    holder: options.holder ?? `registry serve on ${config.http.addr}`,
  });
  lifecycle.own('database', db, (d) => d.close());
  return { config, log, clock: options.clock ?? systemClock, db, lifecycle };
}

export async function openStore(core: Core): Promise<BlobStore> {
  return core.lifecycle.own('blob store', await createBlobStore(core), (s) => s.close?.());
}

/**
 * The domain events and their listeners: those that keep rows (the audit trail, the webhook outbox
 * and the scan queue), and the log line of each push and delete made by a robot account.
 */
export interface EventParts {
  readonly events: DomainEvents;
  readonly outbox: WebhookOutbox;
  readonly scanQueue: ScanQueue;
  readonly audit: AuditTrail;
}

export function openEvents(core: Core): EventParts {
  const outbox = new WebhookOutbox(core.clock);
  const scanQueue = new ScanQueue(core.config.scan.on_push);
  const audit = new AuditTrail(core.db, core.clock, core.log);
  return {
    events: new DomainEvents([audit, outbox, scanQueue, robotWriteLog(core.log)]),
    outbox,
    scanQueue,
    audit,
  };
}

/** What reads and writes images: the metadata cache and the registry's domain. */
export interface RegistryParts {
  readonly manifests: Manifests;
  /** The rules manifest writes obey, and their changes. */
  readonly immutableTags: ImmutableTags;
  /** The storage quotas manifest puts are charged to, and their changes. */
  readonly quotas: Quotas;
  readonly uploads: Uploads;
  readonly blobs: Blobs;
  readonly repositories: Repositories;
  /** Retention rules and runs over manifests' removals. */
  readonly retention: Retention;
}

export async function openRegistry(
  core: Core,
  store: BlobStore,
  { events }: EventParts,
  metrics?: Metrics,
): Promise<RegistryParts> {
  const { config, log, clock, db, lifecycle } = core;
  const cache = lifecycle.own('metadata cache', await createMetadataCache(config, log), (c) => c.close?.());
  const { disk_path, disk_size_bytes } = config.storage.cache;
  const s3 = config.storage.backend === 's3' ? config.storage.s3 : undefined;
  const reader = new BlobReader({
    store,
    disk: disk_path && disk_size_bytes ? await DiskCache.open(disk_path, disk_size_bytes) : undefined,
    redirectExpiry: s3?.redirect ? Math.round(s3.redirect_expiry / 1000) : undefined,
    backendName: s3 ? 'S3' : 'storage',
    log,
    metrics,
  });
  const immutableTags = new ImmutableTags(db, events, config.immutable_tags);
  const quotas = new Quotas(db, events, config.quotas);
  const manifests = new Manifests({ db, store, cache, events, clock, immutableTags, quotas });
  return {
    manifests,
    retention: new Retention({ db, events, clock, manifests, immutableTags, configured: config.retention }),
    immutableTags,
    quotas,
    uploads: new Uploads(db, store, clock, config.uploads.max_sessions_per_user),
    blobs: new Blobs({ db, store, cache, reader, immutableTags, events }),
    repositories: new Repositories(db),
  };
}

export interface ScanningParts {
  readonly scanner: ImageScanner;
  readonly scans: Scans;
  /** Not started: `serve` starts it, and `registry scan` for its own job. */
  readonly worker: ScanWorker;
}

export async function openScanning(
  core: Core,
  store: BlobStore,
  { scanQueue, outbox }: EventParts,
  observers: { decisionsChanged(): void; metrics?: Metrics | undefined } = { decisionsChanged: () => {} },
): Promise<ScanningParts> {
  const { config, log, db, lifecycle } = core;
  const scanner = await createScanner(config, { db, store, log });
  const scans = new Scans({
    db,
    scanner,
    queue: scanQueue,
    outbox,
    log,
    decisionsChanged: observers.decisionsChanged,
    readManifest: (repository, digest) => store.getManifest(repository, digest),
  });
  const { metrics } = observers;
  const worker = new ScanWorker({
    db,
    queued: scanQueue.queued,
    store,
    scanner,
    log,
    concurrency: config.scan.concurrency,
    timeoutMs: config.scan.timeout,
    pollIntervalMs: config.scan.poll_interval,
    onResult: (digest, _repository, added) => scans.resultStored(digest, added),
    onOutcome: (outcome, layers) => {
      metrics?.scans.inc({ outcome });
      metrics?.layersAnalyzed.inc(layers);
    },
  });
  lifecycle.own('scan worker', worker, (w) => w.stop());
  return { scanner, scans, worker };
}

/** scan.sources: fetched by `registry vulndb update`, and on a schedule by `serve` (once started). */
export function openVulnDataSources(core: Core, scans: Scans): VulnDataSources {
  const { config, log, clock, db, lifecycle } = core;
  const sources = new VulnDataSources(
    { db, scans, log, clock },
    {
      sources: config.scan.sources,
      // Trivy keeps data of its own: the schedule would fill tables nothing reads.
      intervalMs: config.scan.scanner === 'builtin' ? config.scan.update_interval : 0,
      retries: config.scan.update_retries,
      backoffMs: config.scan.update_backoff,
      maxBytes: config.scan.vulndb_upload_max,
      stagingDir: path.join(config.data_dir, 'tmp'),
    },
  );
  return lifecycle.own('vulnerability data updates', sources, (s) => s.stop());
}

/** Everything `registry serve` runs; `start()` starts its background work. */
export class Application {
  readonly services: Services;
  private readonly core: Core;
  private readonly worker: ScanWorker;
  private readonly dispatcher: WebhookDispatcher;

  private constructor(core: Core, services: Services, worker: ScanWorker, dispatcher: WebhookDispatcher) {
    this.core = core;
    this.services = services;
    this.worker = worker;
    this.dispatcher = dispatcher;
  }

  static async open(config: Config, options: ApplicationOptions = {}): Promise<Application> {
    const core = await openCore(config, options);
    try {
      return await Application.build(core);
    } catch (error) {
      await core.lifecycle.close();
      throw error;
    }
  }

  private static async build(core: Core): Promise<Application> {
    const { config, log, clock, db } = core;
    const store = await openStore(core);
    const events = openEvents(core);
    const metrics = new Metrics(
      () => registry.uploads.count(),
      () => registry.quotas.usage(),
    );
    const registry = await openRegistry(core, store, events, metrics);
    const counting = await registry.quotas.start();
    if (counting.started.length > 0 || counting.stopped.length > 0)
      log.info(
        counting,
        "quota usage counted for the config file's new prefixes, dropped for those no rule names",
      );
    const policy = new PullPolicy(db, log, clock);
    const scanning = await openScanning(core, store, events, {
      decisionsChanged: () => void policy.refresh().catch(() => {}),
      metrics,
    });
    const permissions = new Permissions(config.auth.access, config.auth.admins);
    const robots = new RobotAccounts(db, clock, events.events);
    const users = core.lifecycle.own(
      'password checks',
      await UserDirectory.create(config, db, clock, robots, metrics, events.audit),
      (u) => u.close(),
    );
    const tokens = await TokenService.create(db, {
      issuer: config.auth.issuer,
      service: config.auth.service,
      lifetimeMs: config.auth.token_expiry,
      clock,
    });
    const dispatcher = new WebhookDispatcher(db, log, clock, events.outbox.queued, {
      timeoutMs: config.webhooks.timeout,
      maxAttempts: config.webhooks.max_attempts,
      initialBackoffMs: config.webhooks.initial_backoff,
      pollIntervalMs: config.webhooks.poll_interval,
    });
    await policy.refresh();
    const services: Services = {
      config,
      log,
      clock,
      db,
      store,
      audit: events.audit,
      manifests: registry.manifests,
      pulls: new PullRecorder({
        db,
        clock,
        log,
        metrics,
        track: config.pulls.track,
        flushIntervalMs: config.pulls.flush_interval,
        maxPending: config.pulls.max_pending,
      }),
      uploads: registry.uploads,
      blobs: registry.blobs,
      repositories: registry.repositories,
      tagDetails: new TagDetails({
        db,
        manifests: registry.manifests,
        immutableTags: registry.immutableTags,
        scans: scanning.scans,
        policy,
      }),
      users,
      robots,
      permissions,
      tokens,
      metrics,
      scans: scanning.scans,
      policy,
      policyRules: new PolicyRules(db, policy, events.events),
      immutableTags: registry.immutableTags,
      quotas: registry.quotas,
      retention: registry.retention,
      webhookSubscriptions: new WebhookSubscriptions(db, events.events),
      vulnData: openVulnDataSources(core, scanning.scans),
      consoleSessions: new ConsoleSessions(db, clock),
    };
    return new Application(core, services, scanning.worker, dispatcher);
  }

  /**
   * Starts the background work: policy refresh, webhook sends, scans, vulnerability data updates,
   * upload expiry, scheduled GC.
   */
  async start(): Promise<void> {
    const { config, log, lifecycle } = this.core;
    const s = this.services;
    await s.policy.start(config.policy.refresh_interval);
    lifecycle.own('policy refresh', s.policy, (p) => p.stop());
    this.dispatcher.start();
    lifecycle.own('webhook dispatcher', this.dispatcher, (d) => d.stop());
    this.worker.start();
    s.pulls.start();
    // Stopped after the HTTP server (owned later) has drained: its last pulls are written.
    lifecycle.own('pull recorder', s.pulls, (p) => p.stop());
    s.vulnData.start();
    const sweep = setInterval(() => {
      s.uploads
        .purgeExpired(config.uploads.expiry)
        .then((n) => n > 0 && log.info({ removed: n }, 'expired upload sessions removed'))
        .catch((error: unknown) => log.error({ err: error }, 'upload expiry sweep failed'));
    }, config.uploads.purge_interval);
    sweep.unref();
    lifecycle.own('upload expiry', sweep, (t) => clearInterval(t));
    const gc = scheduleGc(config.gc, gcDependencies(s), log, s.retention);
    if (gc) lifecycle.own('scheduled gc', gc, (g) => g.stop());
  }

  /** Registers something opened on top of the application (the HTTP server), closed first. */
  own<T>(name: string, value: T, stop: (value: T) => Promise<void> | void): T {
    return this.core.lifecycle.own(name, value, stop);
  }

  stop(): Promise<void> {
    return this.core.lifecycle.close((part, error) =>
      this.core.log.error({ err: error, part }, `stopping ${part} failed`),
    );
  }
}

async function createBlobStore({ config, log }: Core): Promise<BlobStore> {
  const s3 = config.storage.s3;
  if (config.storage.backend !== 's3' || !s3) {
    const { root } = config.storage.filesystem;
    const store = new FilesystemBlobStore(root);
    // Found now rather than by the first push (a 500): a root that is a file, or not writable.
    const problem = await store.writeProblem();
    if (problem) throw new Error(`storage.filesystem.root: ${problem}`);
    const moved = await store.upgradeLayout();
    if (moved > 0)
      log.info({ moved, root }, 'manifest files moved to the {repository}/{algorithm}:{hex} layout');
    return store;
  }
  // Loaded only when configured: unused, the SDK would only enlarge the heap every GC marks.
  const { S3BlobStore } = await import('./storage/s3.ts');
  return new S3BlobStore({
    bucket: s3.bucket,
    region: s3.region,
    prefix: s3.prefix,
    endpoint: s3.endpoint,
    forcePathStyle: s3.force_path_style,
    credentials:
      s3.access_key_id && s3.secret_access_key
        ? {
            accessKeyId: s3.access_key_id,
            secretAccessKey: s3.secret_access_key,
            ...(s3.session_token ? { sessionToken: s3.session_token } : {}),
          }
        : undefined,
    maxSockets: s3.max_sockets,
    partSize: s3.part_size,
    concurrency: s3.upload_concurrency,
  });
}

// Redis: shared by every origin process (one with its own in-memory cache could serve a tag
// another one moved). A Redis outage degrades to the database, never to failed requests. ioredis
// is loaded only when configured.
async function createMetadataCache(config: Config, log: Logger): Promise<MetadataCache> {
  const { type, redis_url, redis_prefix } = config.storage.cache;
  if (type !== 'redis' || !redis_url) return new InMemoryMetadataCache();
  const { RedisMetadataCache } = await import('./cache/redis-metadata-cache.ts');
  return new RedisMetadataCache({ url: redis_url, prefix: redis_prefix, log });
}
