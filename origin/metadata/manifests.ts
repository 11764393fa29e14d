// Manifests, their references, tags and referrers. A manifest put with its references and its
// tag is one transaction (see putManifest), so a reader never sees a half-written manifest.
import type { ManifestReference } from '../../shared/manifest.ts';
import type { Queryable } from './database.ts';
import { manifestFootprint, releaseManifest } from './quotas.ts';

export interface ManifestRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly artifactType: string | null;
  readonly configDigest: string | null;
  readonly subjectDigest: string | null;
  readonly annotations: Readonly<Record<string, string>> | null;
}

export interface ManifestRow {
  digest: string;
  media_type: string;
  size: number;
  artifact_type: string | null;
  config_digest: string | null;
  subject_digest: string | null;
  annotations: Record<string, string> | null;
}

export const toRecord = (row: ManifestRow): ManifestRecord => ({
  digest: row.digest,
  mediaType: row.media_type,
  size: row.size,
  artifactType: row.artifact_type,
  configDigest: row.config_digest,
  subjectDigest: row.subject_digest,
  annotations: row.annotations,
});

export const MANIFEST_COLUMNS =
  'm.digest, m.media_type, m.size, m.artifact_type, m.config_digest, m.subject_digest, m.annotations';

export async function findManifest(
  q: Queryable,
  repository: string,
  digest: string,
): Promise<ManifestRecord | null> {
  const rows = await q.query<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repository_id
      WHERE r.name = $1 AND m.digest = $2`,
    [repository, digest],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function findTaggedManifest(
  q: Queryable,
  repository: string,
  tag: string,
): Promise<ManifestRecord | null> {
  const rows = await q.query<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM tags t
       JOIN repositories r ON r.id = t.repository_id
       JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
      WHERE r.name = $1 AND t.name = $2`,
    [repository, tag],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Which of `digests` the repository holds, with their sizes; in a transaction, share-locked until commit (see GC). */
export async function existingManifests(
  q: Queryable,
  repositoryId: number,
  digests: readonly string[],
): Promise<Map<string, number>> {
  if (digests.length === 0) return new Map();
  const rows = await q.query<{ digest: string; size: number }>(
    'SELECT digest, size FROM manifests WHERE repository_id = $1 AND digest = ANY($2::text[]) ORDER BY digest FOR KEY SHARE',
    [repositoryId, digests],
  );
  return new Map(rows.map((r) => [r.digest, r.size]));
}

/**
 * Stores the manifest (idempotent for the same digest) at `now`, and its references; whether its
 * row is new (a manifest stored again adds nothing).
 */
export async function putManifest(
  tx: Queryable,
  repositoryId: number,
  record: ManifestRecord,
  references: readonly ManifestReference[],
  now: number,
): Promise<boolean> {
  const inserted = await tx.query(
    `INSERT INTO manifests (repository_id, digest, media_type, size, artifact_type, config_digest, subject_digest, annotations, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (repository_id, digest) DO NOTHING RETURNING digest`,
    [
      repositoryId,
      record.digest,
      record.mediaType,
      record.size,
      record.artifactType,
      record.configDigest,
      record.subjectDigest,
      record.annotations === null ? null : JSON.stringify(record.annotations),
      new Date(now),
    ],
  );
  if (references.length > 0) {
    await tx.query(
      `INSERT INTO manifest_references (repository_id, manifest_digest, child_digest, child_kind)
       SELECT $1, $2, ref.digest, ref.kind FROM unnest($3::text[], $4::text[]) AS ref (digest, kind)
       ON CONFLICT DO NOTHING`,
      [repositoryId, record.digest, references.map((r) => r.digest), references.map((r) => r.kind)],
    );
  }
  return inserted.length > 0;
}

/**
 * The digest `tag` names, its row locked until commit: a concurrent move of the same tag reads
 * what this transaction writes. A tag absent is created naming `digest` at `now` (and null is
 * returned), so that two first pushes of one tag cannot both believe they created it.
 */
export async function claimTag(
  tx: Queryable,
  repositoryId: number,
  tag: string,
  digest: string,
  now: number,
  pushedBy: string | null,
): Promise<string | null> {
  for (;;) {
    const current = await tx.query<{ manifest_digest: string }>(
      'SELECT manifest_digest FROM tags WHERE repository_id = $1 AND name = $2 FOR UPDATE',
      [repositoryId, tag],
    );
    if (current[0]) return current[0].manifest_digest;
    const created = await tx.query(
      `INSERT INTO tags (repository_id, name, manifest_digest, updated_at, pushed_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (repository_id, name) DO NOTHING RETURNING name`,
      [repositoryId, tag, digest, new Date(now), pushedBy],
    );
    if (created.length > 0) return null;
    // Created by another transaction that committed meanwhile: read (and lock) what it wrote.
  }
}

/** Points a tag claimed by `claimTag` at `digest`, pushed (again) at `now` by `pushedBy`. */
export async function moveTag(
  tx: Queryable,
  repositoryId: number,
  tag: string,
  digest: string,
  now: number,
  pushedBy: string | null,
): Promise<void> {
  await tx.query(
    'UPDATE tags SET manifest_digest = $3, updated_at = $4, pushed_by = $5 WHERE repository_id = $1 AND name = $2',
    [repositoryId, tag, digest, new Date(now), pushedBy],
  );
}

/**
 * The tags that reach `digest` (a manifest an index lists, or a blob a manifest references),
 * through the manifests referencing it and the indexes listing those, with the manifest each tag
 * names: what a tag names includes all it reaches.
 */
export async function tagsReaching(
  q: Queryable,
  repository: string,
  digest: string,
  kind: 'blob' | 'manifest',
): Promise<{ tag: string; index: string }[]> {
  const rows = await q.query<{ name: string; manifest_digest: string }>(
    `WITH RECURSIVE up (digest) AS (
       SELECT mr.manifest_digest FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id
        WHERE r.name = $1 AND mr.child_digest = $2 AND mr.child_kind = $3
       UNION
       SELECT mr.manifest_digest FROM up
         JOIN manifest_references mr ON mr.child_digest = up.digest AND mr.child_kind = 'manifest'
         JOIN repositories r ON r.id = mr.repository_id
        WHERE r.name = $1
     )
     SELECT t.name, t.manifest_digest FROM tags t
       JOIN repositories r ON r.id = t.repository_id
       JOIN up ON up.digest = t.manifest_digest
      WHERE r.name = $1
      ORDER BY t.name COLLATE "C"`,
    [repository, digest, kind],
  );
  return rows.map((r) => ({ tag: r.name, index: r.manifest_digest }));
}

/**
 * Deletes the manifest; its tags and reference edges go with it (ON DELETE CASCADE), and its bytes
 * leave the quota usage of the prefixes counting them (quotas.ts). Returns the tags removed.
 */
export async function deleteManifest(
  q: Queryable,
  repository: string,
  digest: string,
): Promise<string[] | null> {
  const repo = await q.query<{ id: number }>('SELECT id FROM repositories WHERE name = $1', [repository]);
  if (!repo[0]) return null;
  const repositoryId = Number(repo[0].id);
  const tags = await q.query<{ name: string }>(
    'SELECT name FROM tags WHERE repository_id = $1 AND manifest_digest = $2',
    [repositoryId, digest],
  );
  const footprint = await manifestFootprint(q, repositoryId, digest);
  const deleted = await q.query(
    'DELETE FROM manifests WHERE repository_id = $1 AND digest = $2 RETURNING digest',
    [repositoryId, digest],
  );
  if (deleted.length === 0 || !footprint) return null;
  await releaseManifest(q, footprint);
  return tags.map((t) => t.name);
}

/** Removes a tag; returns the digest it pointed to, or null when there was no such tag. */
export async function deleteTag(q: Queryable, repository: string, tag: string): Promise<string | null> {
  const rows = await q.query<{ manifest_digest: string }>(
    `DELETE FROM tags t USING repositories r
      WHERE r.id = t.repository_id AND r.name = $1 AND t.name = $2 RETURNING t.manifest_digest`,
    [repository, tag],
  );
  return rows[0]?.manifest_digest ?? null;
}

/** Tags in byte order after `last`; null when the repository holds no manifest. */
export async function listTags(
  q: Queryable,
  repository: string,
  limit: number,
  last: string | undefined,
): Promise<string[] | null> {
  // A repository that holds no manifest (only blobs, or an abandoned upload) is not known yet.
  const repo = await q.query<{ id: number }>(
    `SELECT r.id FROM repositories r
      WHERE r.name = $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)`,
    [repository],
  );
  if (!repo[0]) return null;
  const rows = await q.query<{ name: string }>(
    `SELECT name FROM tags WHERE repository_id = $1 AND ($2::text IS NULL OR name COLLATE "C" > $2::text COLLATE "C")
      ORDER BY name COLLATE "C" LIMIT $3`,
    [repo[0].id, last ?? null, limit],
  );
  return rows.map((r) => r.name);
}

export async function listReferrers(
  q: Queryable,
  repository: string,
  subjectDigest: string,
  artifactType: string | undefined,
): Promise<ManifestRecord[]> {
  const rows = await q.query<ManifestRow>(
    `SELECT ${MANIFEST_COLUMNS} FROM manifests m JOIN repositories r ON r.id = m.repository_id
      WHERE r.name = $1 AND m.subject_digest = $2 AND ($3::text IS NULL OR m.artifact_type = $3::text)
      ORDER BY m.created_at, m.digest`,
    [repository, subjectDigest, artifactType ?? null],
  );
  return rows.map(toRecord);
}
