// The schema, as an ordered list of migrations; the same SQL runs on PGlite and PostgreSQL.
import type { Database } from './queryable.ts';

const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE repositories (
  id bigserial PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE blobs (
  digest text PRIMARY KEY,
  size bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Which repository may see which blob (pushed there, mounted there, or referenced there).
CREATE TABLE repository_blobs (
  repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest text NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_digest ON repository_blobs (digest);
CREATE TABLE manifests (
  repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest text NOT NULL,
  media_type text NOT NULL,
  size bigint NOT NULL,
  artifact_type text,
  config_digest text,
  subject_digest text,
  annotations jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_subject ON manifests (repository_id, subject_digest) WHERE subject_digest IS NOT NULL;
-- Manifest -> blob (config, layers) and index -> manifest edges.
CREATE TABLE manifest_references (
  repository_id bigint NOT NULL,
  manifest_digest text NOT NULL,
  child_digest text NOT NULL,
  child_kind text NOT NULL CHECK (child_kind IN ('blob', 'manifest')),
  PRIMARY KEY (repository_id, manifest_digest, child_digest),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_references_child ON manifest_references (child_digest);
CREATE TABLE tags (
  repository_id bigint NOT NULL,
  name text NOT NULL,
  manifest_digest text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, name),
  FOREIGN KEY (repository_id, manifest_digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE TABLE upload_sessions (
  id uuid PRIMARY KEY,
  repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  size bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX upload_sessions_updated ON upload_sessions (updated_at);
CREATE TABLE users (
  name text PRIMARY KEY,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Token signing keys live here so that every origin process signs with the same key.
CREATE TABLE signing_keys (
  id text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    sql: `
-- The sha256 of the upload's first \`size\` bytes, so that a PUT landing on another origin
-- process can verify the digest without reading the staged bytes back.
ALTER TABLE upload_sessions ADD COLUMN sha256_so_far text;
`,
  },
  {
    version: 3,
    sql: `
-- Garbage collection (see docs/architecture.md). A blob's age is measured from its last link
-- (upload or mount), so a blob pushed again is young again.
ALTER TABLE blobs ADD COLUMN linked_at timestamptz NOT NULL DEFAULT now();
UPDATE blobs SET linked_at = created_at;
CREATE INDEX blobs_linked_at ON blobs (linked_at);
-- Manifests deleted (through the API or by GC) whose bytes are still in the store.
CREATE TABLE manifest_tombstones (
  repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
  digest text NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (repository_id, digest)
);
-- At most one GC at a time across origin processes: a lease renewed while the run lasts.
CREATE TABLE gc_lease (
  name text PRIMARY KEY,
  holder text NOT NULL,
  started_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
`,
  },
  {
    version: 4,
    sql: `
-- Scanning (see docs/architecture.md). A layer's inventory is computed once per layer digest and
-- shared by every image that uses it; an image's result is keyed by manifest digest alone, so an
-- image pushed to two repositories is scanned once.
CREATE TABLE layer_inventories (
  digest text PRIMARY KEY,
  analyzer integer NOT NULL,
  inventory jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE scan_results (
  digest text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed')),
  scanner text NOT NULL,
  vulndb_generation bigint NOT NULL DEFAULT 0,
  inventory jsonb,
  findings jsonb,
  error text,
  scanned_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- The durable scan queue: any origin process claims a job (FOR UPDATE SKIP LOCKED); a claim
-- expires so that a job held by a process that died is picked up again.
CREATE TABLE scan_jobs (
  id bigserial PRIMARY KEY,
  digest text NOT NULL,
  repository text NOT NULL,
  reason text NOT NULL,
  force boolean NOT NULL DEFAULT false,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  claimed_by text,
  claimed_until timestamptz,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX scan_jobs_one_queued ON scan_jobs (digest) WHERE state = 'queued';
CREATE INDEX scan_jobs_claimable ON scan_jobs (state, created_at);
-- Pull policy per repository prefix ('' = every repository); the longest matching prefix wins.
CREATE TABLE policies (
  prefix text PRIMARY KEY,
  threshold text NOT NULL CHECK (threshold IN ('critical', 'high', 'medium', 'low', 'none')),
  only_fixable boolean NOT NULL DEFAULT false,
  unscanned text NOT NULL CHECK (unscanned IN ('allow', 'block')),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE policy_allowlist (
  prefix text NOT NULL,
  vulnerability text NOT NULL,
  expires_at timestamptz,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (prefix, vulnerability)
);
-- Bumped by every policy or allowlist change and every scan result, so that caches of policy
-- decisions (in other origin processes and at the edge) know when to look again.
CREATE TABLE policy_epoch (
  id integer PRIMARY KEY CHECK (id = 1),
  epoch bigint NOT NULL
);
INSERT INTO policy_epoch (id, epoch) VALUES (1, 1);
CREATE TABLE webhooks (
  id bigserial PRIMARY KEY,
  prefix text NOT NULL,
  url text NOT NULL,
  secret text NOT NULL,
  events text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event text NOT NULL,
  payload jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_status integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
`,
  },
  {
    version: 5,
    sql: `
-- Vulnerability data in OSV terms (origin/vulndb/). One row per OSV record, as imported.
-- cves: the CVEs the record is (its id, its aliases, its single upstream CVE).
CREATE TABLE vuln_advisories (
  id text PRIMARY KEY,
  modified timestamptz NOT NULL,
  published timestamptz,
  withdrawn timestamptz,
  aliases text[] NOT NULL DEFAULT '{}',
  upstream text[] NOT NULL DEFAULT '{}',
  cves text[] NOT NULL DEFAULT '{}',
  summary text,
  details text,
  severity text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'unknown')),
  cvss_score double precision,
  cvss_vector text,
  raw jsonb NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now()
);
-- The records of each CVE, for a record without a severity to borrow one. A plain table with a
-- btree, not a GIN index on cves: looking up thousands of CVEs at once stays one index probe (or
-- one hashed scan) each, with or without planner statistics.
CREATE TABLE vuln_cves (
  cve text NOT NULL,
  advisory_id text NOT NULL REFERENCES vuln_advisories (id) ON DELETE CASCADE,
  PRIMARY KEY (cve, advisory_id)
);
CREATE INDEX vuln_cves_advisory ON vuln_cves (advisory_id);
-- One row per affected package of a live record. Matching looks rows up by the ecosystem without
-- its release and the normalised name (one indexed query per batch of packages) and checks the
-- release and the version ranges in the process, with the ecosystem's version ordering.
CREATE TABLE vuln_affected (
  advisory_id text NOT NULL REFERENCES vuln_advisories (id) ON DELETE CASCADE,
  ecosystem text NOT NULL,
  ecosystem_base text NOT NULL,
  package_key text NOT NULL,
  package_name text NOT NULL,
  ranges jsonb NOT NULL,
  versions jsonb NOT NULL
);
CREATE INDEX vuln_affected_package ON vuln_affected (ecosystem_base, package_key);
CREATE INDEX vuln_affected_advisory ON vuln_affected (advisory_id);
-- Bumped once by every import that changed something, so that stored scan results matched
-- against an older generation are matched again. pending: an import wrote and has not bumped
-- yet (it died), so the next import bumps even if it changes nothing itself.
CREATE TABLE vuln_generation (
  id integer PRIMARY KEY CHECK (id = 1),
  generation bigint NOT NULL,
  pending boolean NOT NULL DEFAULT false
);
INSERT INTO vuln_generation (id, generation) VALUES (1, 0);
-- One row per import source (an all.zip, a directory): the newest modified time seen there.
CREATE TABLE vuln_imports (
  source text PRIMARY KEY,
  last_modified timestamptz,
  imported_at timestamptz NOT NULL DEFAULT now(),
  report jsonb NOT NULL
);
-- Which stored images have a package under a lookup key, kept by whoever stores inventories,
-- so that after an import only the images with a changed package are matched again.
CREATE TABLE vuln_inventory_packages (
  ecosystem_base text NOT NULL,
  package_key text NOT NULL,
  digest text NOT NULL,
  PRIMARY KEY (ecosystem_base, package_key, digest)
);
CREATE INDEX vuln_inventory_packages_digest ON vuln_inventory_packages (digest);
`,
  },
  {
    version: 6,
    sql: `
-- Who opened each upload session ('user:NAME', or 'address:IP' for an anonymous pusher), so that
-- open sessions are bounded per owner across every origin process. Sessions from before have none.
ALTER TABLE upload_sessions ADD COLUMN owner text;
CREATE INDEX upload_sessions_owner ON upload_sessions (owner);
`,
  },
  {
    version: 7,
    sql: `
-- Robot accounts: credentials for CI, limited to their scopes ([{prefix, actions}]). The secret is
-- kept only as a salted SHA-256 (origin/auth/robot-secrets.ts says why that is enough). Last use
-- is written at most once a minute per robot.
CREATE TABLE robots (
  name text PRIMARY KEY,
  secret_hash text NOT NULL,
  scopes jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  last_used_at timestamptz
);
`,
  },
  {
    version: 8,
    sql: `
-- Vulnerability data fetched on a schedule (scan.sources, origin/vulndb/sources.ts): per source,
-- the validators sent back on the next request (ETag, Last-Modified as the server wrote it) and
-- how the last attempts went. Times are the origin's clock, passed in.
CREATE TABLE vuln_sources (
  source text PRIMARY KEY,
  etag text,
  last_modified text,
  checked_at timestamptz,
  succeeded_at timestamptz,
  changed_at timestamptz,
  error text,
  error_at timestamptz,
  failures integer NOT NULL DEFAULT 0
);
-- Records per ecosystem (without its release: "Debian", "npm"), kept by each import for what it
-- touched, so that every scan can say what it was matched against without counting the tables.
CREATE TABLE vuln_ecosystems (
  ecosystem text PRIMARY KEY,
  records integer NOT NULL,
  imported_at timestamptz NOT NULL
);
INSERT INTO vuln_ecosystems (ecosystem, records, imported_at)
  SELECT f.ecosystem_base, count(DISTINCT f.advisory_id)::int, max(a.imported_at)
    FROM vuln_affected f JOIN vuln_advisories a ON a.id = f.advisory_id
   GROUP BY f.ecosystem_base;
`,
  },
  {
    version: 9,
    sql: `
-- Immutable-tag rules set through the API (those of the config file are not stored): per
-- repository-name prefix, the tag patterns (globs) whose tags, once pushed, never move or go.
CREATE TABLE immutable_tag_rules (
  prefix text PRIMARY KEY,
  patterns text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 10,
    sql: `
-- The audit trail: one row per write (push, tag, delete, rule change), inserted in the write's
-- transaction; and failed logins, outside any. Read newest first, by id (the paging cursor).
CREATE TABLE audit_entries (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  action text NOT NULL,
  repository text,
  tag text,
  digest text,
  "user" text,
  address text,
  system text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_entries_repository ON audit_entries (repository, id);
CREATE INDEX audit_entries_user ON audit_entries ("user", id);
CREATE INDEX audit_entries_at ON audit_entries (at);
`,
  },
  {
    version: 11,
    sql: `
-- Image lifecycle: who pushed each tag, and when a manifest or tag was last pulled (written in
-- batches by the pull recorder, never per request; null: not pulled since tracking began).
ALTER TABLE tags ADD COLUMN pushed_by text;
ALTER TABLE tags ADD COLUMN last_pulled_at timestamptz;
ALTER TABLE manifests ADD COLUMN last_pulled_at timestamptz;
CREATE INDEX tags_updated ON tags (repository_id, updated_at);
`,
  },
  {
    version: 12,
    sql: `
-- Web console sign-ins (origin/console/): the SHA-256 of the session cookie, never the cookie.
CREATE TABLE console_sessions (
  id_hash text PRIMARY KEY,
  "user" text NOT NULL,
  csrf text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
`,
  },
  {
    version: 13,
    sql: `
-- Storage quotas. quota_rules: the limits set through the API (the config file's are not stored).
-- quota_usage: one row per prefix counted (each rule's, from the API or a config file), its bytes
-- kept current by every manifest write; locked by a push that adds bytes, so two cannot both pass
-- the limit. quota_blobs: per counted prefix, each blob its manifests reference, with how many
-- references it has there (a blob counts once per prefix; its bytes go when the last one does).
CREATE TABLE quota_rules (
  prefix text PRIMARY KEY,
  limit_bytes bigint NOT NULL CHECK (limit_bytes > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE quota_usage (
  prefix text PRIMARY KEY,
  used_bytes bigint NOT NULL DEFAULT 0
);
CREATE TABLE quota_blobs (
  prefix text NOT NULL REFERENCES quota_usage (prefix) ON DELETE CASCADE,
  digest text NOT NULL,
  size bigint NOT NULL,
  refs integer NOT NULL CHECK (refs > 0),
  PRIMARY KEY (prefix, digest)
);
`,
  },
  {
    version: 14,
    sql: `
-- Retention rules set through the API (origin/retention/): one per repository-name prefix, its
-- clauses as jsonb (durations in ms).
CREATE TABLE retention_rules (
  prefix text PRIMARY KEY,
  rule jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
];

// Serialises migrations across origin processes starting at once against one PostgreSQL.
const MIGRATION_LOCK = 7_204_119;

export async function migrate(db: Database): Promise<void> {
  for (const migration of MIGRATIONS) {
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (done.length > 0) return;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migration.version]);
    });
  }
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
