// Everything a request handler may use, built once at startup (see server.ts).
import type { Logger } from 'pino';
import type { Permissions } from './auth/permissions.ts';
import type { TokenService } from './auth/token-service.ts';
import type { UserDirectory } from './auth/users.ts';
import type { MetadataCache } from './cache/metadata-cache.ts';
import type { Config } from './config.ts';
import type { Database } from './metadata/database.ts';
import type { Metrics } from './metrics.ts';
import type { PullPolicy } from './policy/pull-policy.ts';
import type { BlobReader } from './registry/blob-reader.ts';
import type { Manifests } from './registry/manifests.ts';
import type { Uploads } from './registry/uploads.ts';
import type { ScanWorker } from './scan/scan-worker.ts';
import type { Scans } from './scan/scans.ts';
import type { BlobStore } from './storage/blob-store.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

export interface Services {
  readonly config: Config;
  readonly db: Database;
  readonly store: BlobStore;
  /** Reads blob bodies for GETs: disk cache, storage, or a redirect to it. */
  readonly blobs: BlobReader;
  readonly cache: MetadataCache;
  readonly uploads: Uploads;
  readonly manifests: Manifests;
  readonly users: UserDirectory;
  readonly permissions: Permissions;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly scans: Scans;
  /** Runs queued scans; started by `serve` (and by `registry scan`, for its one job). */
  readonly scanWorker: ScanWorker;
  readonly policy: PullPolicy;
  readonly webhooks: Webhooks;
  readonly log: Logger;
}
