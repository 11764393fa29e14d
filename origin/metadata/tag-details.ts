// A repository's tags as the admin listing shows them: a page of tags with the manifest each names,
// who pushed it and when, when it was last pulled; and the bytes each reaches. Set-based: a few
// queries per page, none per tag.
import { MANIFEST_COLUMNS, type ManifestRecord, type ManifestRow, toRecord } from './manifests.ts';
import type { Queryable } from './queryable.ts';

/** pushed_at: newest push first; name: tag names in byte order. Ties go by name, so pages are stable. */
export type TagOrder = 'pushed_at' | 'name';

/** Where a page starts: after this tag (and, by push time, after this push time in microseconds). */
export type TagCursor =
  | { readonly order: 'pushed_at'; readonly pushedAtUs: number; readonly name: string }
  | { readonly order: 'name'; readonly name: string };

export interface TagRow {
  readonly tag: string;
  readonly manifest: ManifestRecord;
  readonly pushedAt: Date;
  /** The push time as stored (microseconds since the epoch): what a cursor carries, exactly. */
  readonly pushedAtUs: number;
  readonly pushedBy: string | null;
  /** The later of the tag's and its manifest's last pull (null: neither recorded). */
  readonly lastPulledAt: Date | null;
}

/** The id of a repository holding a manifest (one that holds none is not known yet, as for /v2). */
export async function knownRepositoryId(q: Queryable, repository: string): Promise<number | null> {
  const rows = await q.query<{ id: number }>(
    `SELECT r.id FROM repositories r
      WHERE r.name = $1 AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)`,
    [repository],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** Up to `limit` tags in `order`, after `cursor`. */
export async function tagPage(
  q: Queryable,
  repositoryId: number,
  order: TagOrder,
  cursor: TagCursor | undefined,
  limit: number,
): Promise<TagRow[]> {
  // By push time, the cursor's time is compared as a timestamp (so tags_updated serves it), built
  // from whole microseconds: no rounding through floating-point seconds.
  const at = `'epoch'::timestamptz + $4::bigint * interval '1 microsecond'`;
  const [after, orderBy] =
    order === 'pushed_at'
      ? [
          `($3::text IS NULL OR t.updated_at < ${at} OR (t.updated_at = ${at} AND t.name COLLATE "C" > $3::text COLLATE "C"))`,
          't.updated_at DESC, t.name COLLATE "C"',
        ]
      : ['($3::text IS NULL OR t.name COLLATE "C" > $3::text COLLATE "C")', 't.name COLLATE "C"'];
  const params: unknown[] = [repositoryId, limit, cursor?.name ?? null];
  if (order === 'pushed_at') params.push(cursor?.order === 'pushed_at' ? cursor.pushedAtUs : null);
  const rows = await q.query<
    ManifestRow & {
      tag: string;
      pushed_at: Date;
      pushed_at_us: number;
      pushed_by: string | null;
      last_pulled_at: Date | null;
    }
  >(
    `SELECT t.name AS tag, t.updated_at AS pushed_at,
            (extract(epoch FROM t.updated_at) * 1000000)::int8 AS pushed_at_us,
            t.pushed_by, GREATEST(t.last_pulled_at, m.last_pulled_at) AS last_pulled_at,
            ${MANIFEST_COLUMNS}
       FROM tags t JOIN manifests m ON m.repository_id = t.repository_id AND m.digest = t.manifest_digest
      WHERE t.repository_id = $1 AND ${after}
      ORDER BY ${orderBy} LIMIT $2`,
    params,
  );
  return rows.map((r) => ({
    tag: r.tag,
    manifest: toRecord(r),
    pushedAt: new Date(r.pushed_at),
    pushedAtUs: Number(r.pushed_at_us),
    pushedBy: r.pushed_by,
    lastPulledAt: r.last_pulled_at === null ? null : new Date(r.last_pulled_at),
  }));
}

/**
 * The bytes of the distinct blobs each manifest reaches: an image's config and stored layers; an
 * index's, through its children (a layer two children share counts once). Manifest bytes are not
 * counted.
 */
export async function reachedBytes(
  q: Queryable,
  repositoryId: number,
  digests: readonly string[],
): Promise<Map<string, number>> {
  if (digests.length === 0) return new Map();
  const rows = await q.query<{ root: string; bytes: number }>(
    `WITH RECURSIVE reach (root, digest, kind) AS (
       SELECT mr.manifest_digest, mr.child_digest, mr.child_kind FROM manifest_references mr
        WHERE mr.repository_id = $1 AND mr.manifest_digest = ANY($2::text[])
       UNION
       SELECT reach.root, mr.child_digest, mr.child_kind FROM reach
         JOIN manifest_references mr ON mr.repository_id = $1 AND mr.manifest_digest = reach.digest
        WHERE reach.kind = 'manifest'
     )
     SELECT reach.root, sum(b.size)::int8 AS bytes FROM reach JOIN blobs b ON b.digest = reach.digest
      WHERE reach.kind = 'blob' GROUP BY reach.root`,
    [repositoryId, digests],
  );
  return new Map(rows.map((r) => [r.root, Number(r.bytes)]));
}
