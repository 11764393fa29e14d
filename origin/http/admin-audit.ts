// GET /admin/audit?repository=&user=&since=&limit=&last= : the audit trail, newest first.
// `since` is an RFC 3339 time; `limit` 1..1000 (default 100, more is taken as 1000); `last` the id
// of the last entry of the previous page, which the Link header of a page that has more names.
import { OciFailure, ociError } from '../../shared/errors.ts';
import { auditJson, parseSince } from '../audit/audit-trail.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import type { AppContext } from './context.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

function badRequest(message: string): OciFailure {
  return new OciFailure(ociError('UNSUPPORTED', { status: 400, message }));
}

/** A filter value: PostgreSQL text cannot hold a NUL, and no name or user has one. */
function text(c: AppContext, name: string): string | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  if (value.includes('\u0000')) throw badRequest(`${name} must not contain NUL`);
  return value;
}

/** A positive integer parameter (ids are bigserial: at most a safe integer here). */
function count(c: AppContext, name: string): number | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw badRequest(`${name} must be a positive integer, got "${value}"`);
  return n;
}

export async function adminAudit(c: AppContext, s: Services): Promise<Response> {
  await requireAdmin(c, s);
  const repository = text(c, 'repository');
  const user = text(c, 'user');
  const sinceText = text(c, 'since');
  const since = sinceText === undefined ? undefined : parseSince(sinceText);
  if (sinceText !== undefined && since === undefined) {
    throw badRequest(`since must be an RFC 3339 time (2026-01-31T12:00:00Z), got "${sinceText}"`);
  }
  const limit = Math.min(count(c, 'limit') ?? DEFAULT_LIMIT, MAX_LIMIT);
  const last = count(c, 'last');
  const entries = await s.audit.list({ repository, user, since, before: last, limit: limit + 1 });
  const shown = entries.slice(0, limit);
  const end = shown[shown.length - 1];
  if (entries.length > limit && end) {
    const next = new URLSearchParams();
    if (repository !== undefined) next.set('repository', repository);
    if (user !== undefined) next.set('user', user);
    if (sinceText !== undefined) next.set('since', sinceText);
    next.set('limit', String(limit));
    next.set('last', String(end.id));
    c.header('Link', `</admin/audit?${next}>; rel="next"`);
  }
  return c.json({ entries: shown.map(auditJson) });
}
