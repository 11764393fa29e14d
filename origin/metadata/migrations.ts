// The schema, as an ordered list of migrations; the same SQL runs on PGlite and PostgreSQL.
import type { Database } from './database.ts';

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
