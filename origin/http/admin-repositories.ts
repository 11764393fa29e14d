// Repositories and their tags for people and the web console (origin/registry/tag-details.ts):
//   GET /admin/repositories?limit=&last=                  name, tag and manifest counts, last push;
//                                                         in byte order, `last` a repository name
//   GET /admin/repositories/{name}/tags?sort=&limit=&last= a page of tags with their details;
//                                                         sort=pushed_at (newest first, the default)
//                                                         or name; `last` the opaque cursor that the
//                                                         Link header of the previous page names
// `limit` 1..1000 (default 100; more is taken as 1000). Names hold slashes: the tags route is
// read from the end of the path, as /v2's are.
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import type { RepositorySummary } from '../registry/repositories.ts';
import {
  decodeTagCursor,
  encodeTagCursor,
  type TagCursor,
  type TagDetail,
  type TagOrder,
} from '../registry/tag-details.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import type { AppContext } from './context.ts';
import { unwrap } from './respond.ts';

const PREFIX = '/admin/repositories/';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

function badRequest(message: string): OciFailure {
  return new OciFailure(ociError('UNSUPPORTED', { status: 400, message }));
}

function limitOf(c: AppContext): number {
  const value = c.req.query('limit');
  if (value === undefined || value === '') return DEFAULT_LIMIT;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw badRequest(`limit must be a positive integer, got "${value}"`);
  return Math.min(n, MAX_LIMIT);
}

function orderOf(c: AppContext): TagOrder {
  const value = c.req.query('sort');
  if (value === undefined || value === '' || value === 'pushed_at') return 'pushed_at';
  if (value === 'name') return 'name';
  throw badRequest(`sort must be pushed_at (newest push first) or name, got "${value}"`);
}

function cursorOf(c: AppContext, order: TagOrder): TagCursor | undefined {
  const value = c.req.query('last');
  if (value === undefined || value === '') return undefined;
  const cursor = decodeTagCursor(value, order);
  if (cursor === null) {
    throw badRequest(
      `last must be the cursor that the Link header of the previous page names (with the same sort), got "${value}"`,
    );
  }
  return cursor;
}

const time = (date: Date | null) => (date === null ? null : date.toISOString());

const tagJson = (t: TagDetail) => ({
  tag: t.tag,
  digest: t.digest,
  media_type: t.mediaType,
  artifact_type: t.artifactType,
  platforms: t.platforms,
  size: t.size,
  pushed_at: time(t.pushedAt),
  pushed_by: t.pushedBy,
  last_pulled_at: time(t.lastPulledAt),
  immutable: t.immutable,
  scan:
    t.scan === null
      ? null
      : {
          status: t.scan.status,
          scanned_at: t.scan.scannedAt,
          vulnerabilities: t.scan.vulnerabilities,
          total: t.scan.total,
          blocked: t.scan.blocked,
          reason: t.scan.reason,
        },
});

const repositoryJson = (r: RepositorySummary) => ({
  name: r.name,
  tags: r.tags,
  manifests: r.manifests,
  last_pushed_at: time(r.lastPushedAt),
  size: r.size,
});

/** GET /admin/repositories */
export async function adminRepositories(c: AppContext, s: Services): Promise<Response> {
  await requireAdmin(c, s);
  const limit = limitOf(c);
  const last = c.req.query('last') || undefined;
  if (last !== undefined && !isStorableText(last))
    throw badRequest('last must be a repository name (no NUL nor lone surrogate)');
  const listed = await s.repositories.summaries({ after: last, limit: limit + 1 });
  const shown = listed.slice(0, limit);
  const end = shown.at(-1);
  if (listed.length > limit && end) {
    const next = new URLSearchParams({ limit: String(limit), last: end.name });
    c.header('Link', `</admin/repositories?${next}>; rel="next"`);
  }
  return c.json({ repositories: shown.map(repositoryJson) });
}

/** GET /admin/repositories/{name}/tags */
export async function adminRepositoryTags(c: AppContext, s: Services): Promise<Response> {
  await requireAdmin(c, s);
  const rest = c.req.path.slice(PREFIX.length);
  if (!rest.endsWith('/tags')) return c.notFound();
  const name = rest.slice(0, -'/tags'.length);
  if (!isRepositoryName(name)) throw new OciFailure(ociError('NAME_INVALID', { detail: { name } }));
  const order = orderOf(c);
  const limit = limitOf(c);
  const cursor = cursorOf(c, order);
  const page = unwrap(await s.tagDetails.page(name, order, cursor, limit));
  if (page.next) {
    const next = new URLSearchParams({ sort: order, limit: String(limit), last: encodeTagCursor(page.next) });
    c.header('Link', `<${PREFIX}${name}/tags?${next}>; rel="next"`);
  }
  return c.json({ name, tags: page.tags.map(tagJson) });
}
