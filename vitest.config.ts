import { defineConfig } from 'vitest/config';

// Each test file runs on the backends its behaviour depends on, and no more. Three parts of a
// registry can change what it does: the metadata engine (PGlite in the process or a PostgreSQL
// server: one SQL dialect, but transactions, locking and concurrency differ), the blob store
// (filesystem or S3) and the metadata cache (in-process or Redis). The projects:
//   unit        no registry: pure code, tools as oracles, the command line refusing bad input
//   embedded    PGlite, filesystem, in-process cache: the default, what runs out of the box
//   postgres    PostgreSQL, filesystem, in-process cache: the engine alone changed
//   production  PostgreSQL, S3 (s3rver), Redis: the production setup
// A file whose behaviour depends on the engine alone runs on embedded and postgres. One that
// depends on the store or the cache runs on embedded and production, which between them give it
// each engine, store and cache. One whose behaviour is the same on every backend runs once, where
// its line says why. test/unit/projects.test.ts fails if a test file is in no project.

/** No registry, no database, store or cache: once, with no service checked or started. */
const UNIT = [
  'test/unit/**/*.test.ts', // parsers, version orders, the scanner's analysis, shared/, the module graph
  'test/config.test.ts', // config loading; the command line refusing bad input before it opens anything
  'test/gc-usage.test.ts', // gc's usage and gc.schedule's validation, refused before anything opens
  'test/vulndb/cvss.test.ts', // CVSS scores and severity bands: functions of a record
  'test/vulndb/osv.test.ts', // the OSV record schema and the keys records are stored under
  'test/fuzz/!(http).test.ts', // property-based fuzzing of the parsers of outside bytes: pure functions
];

/** What the engine decides: embedded and postgres. */
const ENGINE = [
  'test/events.test.ts', // events recorded in the write's transaction; the outbox the dispatcher polls
  'test/conformance/discovery.test.ts', // tags, catalog, referrers: SQL order (collation) and pages
  'test/vulndb/import.test.ts', // batched upserts, the generation counter and the ledger, in transactions
  'test/vulndb/match.test.ts', // the SQL that finds the records affecting an inventory
  'test/vulndb/match-apps.test.ts', // the same SQL for the gem, Composer, NuGet and lockfile packages
  'test/vulndb/sources.test.ts', // per-source state and incremental imports from fetched exports
  'test/scan/scan-queue.test.ts', // a queued scan is a row that outlives the process that queued it
  'test/upload-sessions.test.ts', // the per-owner bound: a count and an insert under an advisory lock
  'test/upload-crash.test.ts', // a registry SIGKILLed mid-PATCH (filesystem), resumed from the session row
  'test/immutable-tags.test.ts', // rules read and tags claimed under locks in the write's transaction
  'test/audit.test.ts', // entries inserted in the write's transaction, paged by id
  'test/tag-details.test.ts', // tag details: pages by push time, ties and cursors in SQL's order
  'test/pull-tracking.test.ts', // batched UPDATEs over unnest arrays: GREATEST, SKIP LOCKED, timestamps
  'test/quotas.test.ts', // usage charged under row and advisory locks in the write's transaction; racing pushes
  'test/retention.test.ts', // the plan's set-based queries; removals re-checked under locks, in transactions
];

/** What the store or the cache decides (and the engine): embedded and production. */
const STORE_OR_CACHE = [
  'test/conformance/push.test.ts', // uploads staged in the store, resumed by another process
  'test/conformance/pull.test.ts', // blobs and ranges read from the store, manifests through the cache
  'test/conformance/management.test.ts', // deletes: from the store, invalidated in the cache
  'test/conformance/errors.test.ts', // the error paths of uploads (store), blobs and manifests (cache, SQL)
  'test/gc.test.ts', // mark (SQL, locks), sweep (store), invalidation (cache), the race with clients
  'test/manifest-storage.test.ts', // where manifest bytes are kept: a name must not collide with a key
];

/** The same on every backend, once on the default setup: what works out of the box. */
const ONCE_EMBEDDED = [
  'test/auth.test.ts', // tokens, access rules, users (the file runs its two-process case on PostgreSQL)
  'test/login-throttle.test.ts', // an in-process throttle
  'test/operations.test.ts', // `registry serve` seen from outside: health, logs, metrics, SIGTERM
  'test/scan/cli.test.ts', // `registry vulndb import` and `registry scan` beside a stopped registry
  'test/password-hashing.test.ts', // password checks on their own threads, away from file reads
  'test/vulndb/admin-import.test.ts', // which paths and uploads the import endpoint accepts
  'test/scan/data-coverage.test.ts', // the data a result was matched against; none: a warning, and unscanned
  'test/login-cost.test.ts', // concurrent logins with the same credentials share one derivation
  'test/robots.test.ts', // robot accounts: scopes, secrets, expiry and revocation, through the API and CLI
  'test/tls.test.ts', // HTTPS: the server's protocols and certificate reloads, the store's streams alike
  'test/fuzz/http.test.ts', // random requests never get a 5xx: the HTTP layer's reading of them, not a backend's
  'test/console.test.ts', // the web console's pages, sessions and CSRF in Chromium: HTTP and domain reads alike everywhere
];

/** The same on every backend, once on the PostgreSQL server. */
const ONCE_POSTGRES = [
  'test/vulndb/throughput.test.ts', // a property of the import code, timed on the engine production runs
];

/** Once, on the production setup. */
const ONCE_PRODUCTION = [
  'test/redis-cache.test.ts', // the Redis cache itself (the file names its PostgreSQL and Redis)
  'test/s3/*.test.ts', // the S3 store itself: multipart uploads, the disk cache, redirects, resume
  'test/deploy.test.ts', // docker-compose's origin on stand-ins for its services (s3rver, PostgreSQL, Redis)
  'test/e2e/*.test.ts', // real docker, podman and skopeo: clients should meet the setup they will meet
  'test/edge/*.test.ts', // the edge in workerd; it fronts a production origin, whose backends it cannot see
  'test/scan/scanning.test.ts', // the scanner's analysis and policies; layers read from production's S3
  'test/scan/non-distributable.test.ts', // a layer the scan must read from the store: production's S3
  'test/scan/trivy.test.ts', // the OCI layout handed to Trivy, exported from production's S3
  'test/faults/*.test.ts', // PostgreSQL, Redis, S3 and the origin failing under load: each its own
];

/** Checks, once per run, the services a project talks to; the PGlite template its registries copy. */
const POSTGRES = 'test/harness/setup-postgres.ts';
const REDIS = 'test/harness/setup-redis.ts';
const DOCKERD = 'test/harness/setup-dockerd.ts';
const PGLITE_TEMPLATE = 'test/harness/pglite-template.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Three files at a time whatever the cores (vitest's default is one fewer than the cores: one
    // on a 2-core machine): most of a test's time is spent waiting on servers, child processes and
    // disks, not on the CPU. Timing assertions are loose enough for that load (they pass at a load
    // average of 9).
    maxWorkers: 3,
    // The JSON report feeds the closing tally that .ci/run prints.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'embedded',
          include: [...ENGINE, ...STORE_OR_CACHE, ...ONCE_EMBEDDED],
          env: { TEST_DATABASE: 'pglite', TEST_STORAGE: 'filesystem', TEST_CACHE: 'memory' },
          // auth.test.ts's two-process case needs PostgreSQL in this project too.
          globalSetup: [POSTGRES, PGLITE_TEMPLATE],
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: [...ENGINE, ...ONCE_POSTGRES],
          env: { TEST_DATABASE: 'postgres', TEST_STORAGE: 'filesystem', TEST_CACHE: 'memory' },
          globalSetup: [POSTGRES],
        },
      },
      {
        extends: true,
        test: {
          name: 'production',
          include: [...STORE_OR_CACHE, ...ONCE_PRODUCTION],
          env: { TEST_DATABASE: 'postgres', TEST_STORAGE: 's3', TEST_CACHE: 'redis' },
          globalSetup: [POSTGRES, REDIS, DOCKERD],
        },
      },
    ],
  },
});
