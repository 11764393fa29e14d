// Builds the origin from its config and runs it: services, HTTP server, background sweeps,
// graceful shutdown (stop accepting, let in-flight uploads and pulls finish, then close).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Permissions } from './auth/permissions.ts';
import { TokenService } from './auth/token-service.ts';
import { DEFAULT_USER, UserDirectory } from './auth/users.ts';
import { InMemoryMetadataCache, type MetadataCache } from './cache/metadata-cache.ts';
import type { Config } from './config.ts';
import { scheduleGc } from './gc/schedule.ts';
import { createApp } from './http/app.ts';
import { createLogger } from './log.ts';
import { openDatabase } from './metadata/database.ts';
import { countUploadSessions } from './metadata/uploads.ts';
import { Metrics } from './metrics.ts';
import { PullPolicy } from './policy/pull-policy.ts';
import { BlobReader } from './registry/blob-reader.ts';
import { Manifests } from './registry/manifests.ts';
import { Uploads } from './registry/uploads.ts';
import { createScanner } from './scan/create-scanner.ts';
import { ScanWorker } from './scan/scan-worker.ts';
import { Scans } from './scan/scans.ts';
import type { Services } from './services.ts';
import type { BlobStore } from './storage/blob-store.ts';
import { DiskCache } from './storage/disk-cache.ts';
import { FilesystemBlobStore } from './storage/filesystem.ts';
import { Webhooks } from './webhooks/webhooks.ts';

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  /** Stops accepting, waits for in-flight requests (up to the shutdown timeout), then closes. */
  close(): Promise<void>;
}

export async function buildServices(config: Config): Promise<Services> {
  const log = createLogger(config.log.level);
  const db = await openDatabase({
    url: config.database.url,
    dataDir: config.data_dir,
    poolSize: config.database.pool_size,
  });
  const store = await createBlobStore(config);
  const { redis_url, redis_prefix } = config.storage.cache;
  // Redis: shared by every origin process (one with its own in-memory cache could serve a tag
  // another one moved). A Redis outage degrades to the database, never to failed requests.
  // The S3 SDK and ioredis are loaded only when configured: unused, they would only enlarge the
  // heap that every garbage collection of the serving thread marks.
  const cache: MetadataCache =
    config.storage.cache.type === 'redis' && redis_url
      ? new (await import('./cache/redis-metadata-cache.ts')).RedisMetadataCache({
          url: redis_url,
          prefix: redis_prefix,
          log,
        })
      : new InMemoryMetadataCache();
  const metrics = new Metrics(() => countUploadSessions(db));
  const { disk_path, disk_size_bytes } = config.storage.cache;
  const s3 = config.storage.backend === 's3' ? config.storage.s3 : undefined;
  const blobs = new BlobReader({
    store,
    disk: disk_path && disk_size_bytes ? await DiskCache.open(disk_path, disk_size_bytes) : undefined,
    redirectExpiry: s3?.redirect ? Math.round(s3.redirect_expiry / 1000) : undefined,
    backendName: s3 ? 'S3' : 'storage',
    log,
    metrics,
  });
  const permissions = new Permissions(config.auth.access);
  const users = await UserDirectory.create(config, db);
  const tokens = await TokenService.create(db, {
    issuer: config.auth.issuer,
    service: config.auth.service,
    lifetimeMs: config.auth.token_expiry,
    permissions,
  });
  const policy = new PullPolicy(db, log);
  const webhooks = new Webhooks(db, log, {
    timeoutMs: config.webhooks.timeout,
    maxAttempts: config.webhooks.max_attempts,
    initialBackoffMs: config.webhooks.initial_backoff,
    pollIntervalMs: 500,
  });
  const scanner = await createScanner(config, { db, store, log });
  // The worker and the service call each other (a queued job wakes the worker; a stored result
  // reaches the service), so the service is bound once both exist.
  let scans: Scans | undefined;
  const scanWorker = new ScanWorker({
    db,
    store,
    scanner,
    log,
    concurrency: config.scan.concurrency,
    timeoutMs: config.scan.timeout,
    pollIntervalMs: config.scan.poll_interval,
    onResult: (digest, _repository, added) => (scans as Scans).resultStored(digest, added),
    onOutcome: (outcome, layers) => {
      metrics.scans.inc({ outcome });
      metrics.layersAnalyzed.inc(layers);
    },
  });
  scans = new Scans({
    db,
    scanner,
    webhooks,
    log,
    decisionsChanged: () => void policy.refresh().catch(() => {}),
    queued: () => scanWorker.wake(),
    readManifest: (repository, digest) => store.getManifest(repository, digest),
  });
  await policy.refresh();
  return {
    config,
    db,
    store,
    blobs,
    cache,
    uploads: new Uploads(db, store),
    manifests: new Manifests(db, store, cache),
    users,
    permissions,
    tokens,
    metrics,
    scans,
    scanWorker,
    policy,
    webhooks,
    log,
  };
}

async function createBlobStore(config: Config): Promise<BlobStore> {
  const s3 = config.storage.s3;
  if (config.storage.backend !== 's3' || !s3) return new FilesystemBlobStore(config.storage.filesystem.root);
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

export async function startRegistry(config: Config): Promise<RunningRegistry> {
  const services = await buildServices(config);
  const { log } = services;
  if (await services.users.usesDefaultCredentials()) {
    log.warn(
      `no users configured: accepting the default ${DEFAULT_USER.name}/${DEFAULT_USER.password}; ` +
        'add users (registry user add, auth.users or auth.htpasswd) before exposing this registry',
    );
  }
  const app = createApp(services);
  const server = createAdaptorServer({ fetch: app.fetch, hostname: config.http.host }) as Server;
  // Large layers take long: no request timeout; idle keep-alive connections close after 65 s.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;

  const inFlight = new Set<Promise<void>>();
  server.on('request', (_req, res) => {
    const done = new Promise<void>((resolve) => res.on('close', () => resolve()));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;
  log.info(
    { addr: url, database: services.db.engine, storage: config.storage.backend },
    'registry listening',
  );

  const sweep = setInterval(() => {
    services.uploads
      .purgeExpired(config.uploads.expiry)
      .then((n) => n > 0 && log.info({ removed: n }, 'expired upload sessions removed'))
      .catch((error: unknown) => log.error({ err: error }, 'upload expiry sweep failed'));
  }, config.uploads.purge_interval);
  sweep.unref();
  const gc = scheduleGc(services);
  await services.policy.start(config.policy.refresh_interval);
  services.webhooks.start();
  services.scanWorker.start();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweep);
      const gcStopped = gc?.stop();
      server.close();
      server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) =>
        setTimeout(resolve, config.http.shutdown_timeout).unref(),
      );
      await Promise.race([Promise.all(inFlight), deadline]);
      server.closeAllConnections();
      await gcStopped;
      services.policy.stop();
      await services.scanWorker.stop();
      await services.webhooks.stop();
      await services.db.close();
      await services.cache.close?.();
      log.info('registry stopped');
    })();
    return closing;
  };
  return { url, port, services, close };
}
