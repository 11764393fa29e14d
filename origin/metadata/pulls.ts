// When manifests and tags were last pulled: written in batches by the pull recorder
// (registry/pull-recorder.ts), one UPDATE per table per flush. A flush never moves a time
// backwards (GREATEST: an older batch, or another origin's, lands after a newer one), and never
// waits for a write in progress: rows a push, move or delete holds are skipped (SKIP LOCKED), so a
// flush can neither hold up nor deadlock with them. What it skips is that one pull's time; the
// next pull of the row records it. Entries naming nothing (deleted since, or reported by the edge
// for a manifest unknown here) match no row; nor does a tag's entry unless the tag still names the
// digest pulled (it moved since, or the report's digest is wrong): that pull was not of the tag's
// image.
import type { Queryable } from './database.ts';

export interface ManifestPull {
  readonly repository: string;
  readonly digest: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

export interface TagPull {
  readonly repository: string;
  readonly tag: string;
  /** The manifest the tag named when pulled: the tag's time is set only while it still names it. */
  readonly digest: string;
  readonly at: number;
}

/** Sets manifests.last_pulled_at; answers how many rows were updated. */
export async function recordManifestPulls(q: Queryable, pulls: readonly ManifestPull[]): Promise<number> {
  if (pulls.length === 0) return 0;
  const rows = await q.query<{ digest: string }>(
    `WITH pulled AS (
       SELECT r.id AS repository_id, p.digest, to_timestamp(p.at / 1000.0) AS at
         FROM unnest($1::text[], $2::text[], $3::float8[]) AS p (repository, digest, at)
         JOIN repositories r ON r.name = p.repository),
     held AS (
       SELECT m.repository_id, m.digest, pulled.at FROM manifests m
         JOIN pulled ON pulled.repository_id = m.repository_id AND pulled.digest = m.digest
          FOR NO KEY UPDATE OF m SKIP LOCKED)
     UPDATE manifests m SET last_pulled_at = GREATEST(m.last_pulled_at, held.at)
       FROM held WHERE m.repository_id = held.repository_id AND m.digest = held.digest
     RETURNING m.digest`,
    [pulls.map((p) => p.repository), pulls.map((p) => p.digest), pulls.map((p) => p.at)],
  );
  return rows.length;
}

/** Sets tags.last_pulled_at; answers how many rows were updated. */
export async function recordTagPulls(q: Queryable, pulls: readonly TagPull[]): Promise<number> {
  if (pulls.length === 0) return 0;
  const rows = await q.query<{ name: string }>(
    `WITH pulled AS (
       SELECT r.id AS repository_id, p.tag, p.digest, to_timestamp(p.at / 1000.0) AS at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) AS p (repository, tag, digest, at)
         JOIN repositories r ON r.name = p.repository),
     held AS (
       SELECT t.repository_id, t.name, pulled.at FROM tags t
         JOIN pulled ON pulled.repository_id = t.repository_id AND pulled.tag = t.name
                    AND t.manifest_digest = pulled.digest
          FOR NO KEY UPDATE OF t SKIP LOCKED)
     UPDATE tags t SET last_pulled_at = GREATEST(t.last_pulled_at, held.at)
       FROM held WHERE t.repository_id = held.repository_id AND t.name = held.name
     RETURNING t.name`,
    [
      pulls.map((p) => p.repository),
      pulls.map((p) => p.tag),
      pulls.map((p) => p.digest),
      pulls.map((p) => p.at),
    ],
  );
  return rows.length;
}
