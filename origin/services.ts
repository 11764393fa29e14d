// What request handlers may use: the domain and the services of a serving origin, built once by
// the Application (application.ts). Handlers parse, authorize and answer; reads and writes go
// through these.
import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.ts';
import type { AuditTrail } from './audit/audit-trail.ts';
import type { Permissions } from './auth/permissions.ts';
import type { RobotAccounts } from './auth/robots.ts';
import type { TokenService } from './auth/token-service.ts';
import type { UserDirectory } from './auth/users.ts';
import type { Config } from './config.ts';
import type { ConsoleSessions } from './console/console-sessions.ts';
import type { Database } from './metadata/database.ts';
import type { Metrics } from './metrics.ts';
import type { ImmutableTags } from './policy/immutable-tags.ts';
import type { PolicyRules } from './policy/policy-rules.ts';
import type { PullPolicy } from './policy/pull-policy.ts';
import type { Quotas } from './policy/quotas.ts';
import type { Blobs } from './registry/blobs.ts';
import type { Manifests } from './registry/manifests.ts';
import type { PullRecorder } from './registry/pull-recorder.ts';
import type { Repositories } from './registry/repositories.ts';
import type { TagDetails } from './registry/tag-details.ts';
import type { Uploads } from './registry/uploads.ts';
import type { Retention } from './retention/retention.ts';
import type { Scans } from './scan/scans.ts';
import type { BlobStore } from './storage/blob-store.ts';
import type { VulnDataSources } from './vulndb/sources.ts';
import type { WebhookSubscriptions } from './webhooks/subscriptions.ts';

export interface Services {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  /** For readiness checks (and GC's lease); reads and writes go through the domain below. */
  readonly db: Database;
  readonly store: BlobStore;
  /** Every write, recorded in its transaction: read by GET /admin/audit. */
  readonly audit: AuditTrail;
  readonly manifests: Manifests;
  /** Notes manifest pulls (no await), written in batches: last-pull tracking. */
  readonly pulls: PullRecorder;
  readonly uploads: Uploads;
  readonly blobs: Blobs;
  readonly repositories: Repositories;
  /** A repository's tags with what people ask of them (GET /admin/repositories/{name}/tags). */
  readonly tagDetails: TagDetails;
  readonly users: UserDirectory;
  readonly robots: RobotAccounts;
  readonly permissions: Permissions;
  readonly tokens: TokenService;
  readonly metrics: Metrics;
  readonly scans: Scans;
  readonly policy: PullPolicy;
  readonly policyRules: PolicyRules;
  readonly immutableTags: ImmutableTags;
  readonly quotas: Quotas;
  /** Retention rules and runs (/admin/retention, gc.schedule). */
  readonly retention: Retention;
  readonly webhookSubscriptions: WebhookSubscriptions;
  /** scan.sources: their state, and updates asked for. */
  readonly vulnData: VulnDataSources;
  /** Who is signed in to the web console. */
  readonly consoleSessions: ConsoleSessions;
}
