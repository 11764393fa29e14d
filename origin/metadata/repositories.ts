// Repositories: created on first write, listed for the catalog.
import type { Queryable } from './database.ts';

export async function ensureRepository(q: Queryable, name: string): Promise<number> {
  const inserted = await q.query<{ id: number }>(
    'INSERT INTO repositories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id',
    [name],
  );
  if (inserted[0]) return inserted[0].id;
  const existing = await q.query<{ id: number }>('SELECT id FROM repositories WHERE name = $1', [name]);
  return (existing[0] as { id: number }).id;
}

/**
 * Repositories holding at least one manifest, in byte order, after `last`; with `match`, only
 * those whose name contains it.
 */
export async function listRepositories(
  q: Queryable,
  limit: number,
  last: string | undefined,
  match?: string,
): Promise<string[]> {
  // LIKE's wildcards in `match` are literal characters here.
  const pattern = match ? `%${match.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = await q.query<{ name: string }>(
    `SELECT r.name FROM repositories r
      WHERE ($1::text IS NULL OR r.name COLLATE "C" > $1::text COLLATE "C")
        AND ($3::text IS NULL OR r.name LIKE $3::text)
        AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
      ORDER BY r.name COLLATE "C" LIMIT $2`,
    [last ?? null, limit, pattern],
  );
  return rows.map((r) => r.name);
}

export interface RepositorySummary {
  readonly name: string;
  readonly tags: number;
  readonly manifests: number;
  /** The latest push: of a tag, or of a manifest by digest. */
  readonly lastPushedAt: Date | null;
  /** Bytes of the distinct blobs its manifests reference (a layer shared by two images: once). */
  readonly size: number;
}

/** Which repositories to summarise: a page in byte order after `after`, or those `names`. */
export type SummarySelection =
  | { readonly after: string | undefined; readonly limit: number }
  | { readonly names: readonly string[] };

/** Repositories holding a manifest, with what they hold, in byte order. */
export async function repositorySummaries(
  q: Queryable,
  selection: SummarySelection,
): Promise<RepositorySummary[]> {
  const byNames = 'names' in selection;
  const rows = await q.query<{
    name: string;
    tags: number;
    manifests: number;
    last_pushed_at: Date | null;
    size: number;
  }>(
    `SELECT r.name, t.n AS tags, m.n AS manifests, GREATEST(t.last, m.last) AS last_pushed_at, b.size
       FROM repositories r
       CROSS JOIN LATERAL (SELECT count(*)::int AS n, max(created_at) AS last FROM manifests
                            WHERE repository_id = r.id) m
       CROSS JOIN LATERAL (SELECT count(*)::int AS n, max(updated_at) AS last FROM tags
                            WHERE repository_id = r.id) t
       CROSS JOIN LATERAL (SELECT COALESCE(sum(size), 0)::bigint AS size FROM blobs WHERE digest IN
                            (SELECT child_digest FROM manifest_references
                              WHERE repository_id = r.id AND child_kind = 'blob')) b
      WHERE m.n > 0 AND ${
        byNames
          ? 'r.name = ANY($1::text[])'
          : '($1::text IS NULL OR r.name COLLATE "C" > $1::text COLLATE "C")'
      }
      ORDER BY r.name COLLATE "C" ${byNames ? '' : 'LIMIT $2'}`,
    byNames ? [selection.names] : [selection.after ?? null, selection.limit],
  );
  return rows.map((r) => ({
    name: r.name,
    tags: r.tags,
    manifests: r.manifests,
    lastPushedAt: r.last_pushed_at === null ? null : new Date(r.last_pushed_at),
    size: Number(r.size),
  }));
}
