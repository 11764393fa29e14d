// Admin endpoints for storage quotas (origin/policy/quotas.ts). Stored rules take effect at once,
// in every process; the config file's are listed, read-only. The prefix is the rest of the path,
// as it is (percent-decoded): /admin/quotas/team/ is prefix "team/", /admin/quotas/ the empty one.
//   GET    /admin/quotas                      list: {quotas: [{prefix, limit, source, read_only, in_effect}]}
//   GET    /admin/quotas/{prefix}             one rule in effect, with its usage
//   PUT    /admin/quotas/{prefix}             {limit: bytes or "10GB"}: sets the prefix's quota
//   DELETE /admin/quotas/{prefix}             removes the prefix's stored quota
//   GET    /admin/usage[?repositories=true]   {usage: [{prefix, limit, used, source, repositories?}]}
import { z } from 'zod';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import { byteSize } from '../config.ts';
import type { ListedQuota, QuotaUsage } from '../policy/quotas.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import { body, invalid } from './admin-body.ts';
import { type AppContext, actorOf } from './context.ts';
import { unwrap } from './respond.ts';

const LIST_PATH = '/admin/quotas';
const ruleBody = z.object({ limit: byteSize }).strict();

export async function adminQuotas(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const prefix = prefixOf(c);
  if (prefix === undefined) {
    if (c.req.method === 'GET') return c.json({ quotas: (await s.quotas.list()).map(ruleJson) });
    throw unsupported(c.req.method, `${LIST_PATH}/{prefix}`);
  }
  switch (c.req.method) {
    case 'GET': {
      const rule = (await s.quotas.usage()).find((r) => r.prefix === prefix);
      if (!rule)
        throw new OciFailure(ociError('NAME_UNKNOWN', { message: `no quota for prefix "${prefix}"` }));
      return c.json(usageJson(rule));
    }
    case 'PUT': {
      const { limit } = await body(c, ruleBody);
      // Stored: what PostgreSQL cannot hold (a NUL, a lone surrogate) is no prefix.
      if (!isStorableText(prefix))
        throw invalid('the prefix must not hold NUL characters or lone surrogates');
      unwrap(await s.quotas.put({ prefix, limit }, actorOf(c)));
      s.log.info({ user, prefix, limit }, `quota of prefix "${prefix}" set to ${limit} bytes by ${user}`);
      const rule = (await s.quotas.usage()).find((r) => r.prefix === prefix);
      return c.json(rule ? usageJson(rule) : ruleJson({ prefix, limit, source: 'api', inEffect: true }));
    }
    case 'DELETE':
      unwrap(await s.quotas.remove(prefix, actorOf(c)));
      s.log.info({ user, prefix }, `quota of prefix "${prefix}" removed by ${user}`);
      return c.body(null, 204);
  }
  throw unsupported(c.req.method, LIST_PATH);
}

export async function adminUsage(c: AppContext, s: Services): Promise<Response> {
  await requireAdmin(c, s);
  const repositories = c.req.query('repositories');
  if (repositories !== undefined && !['true', 'false'].includes(repositories))
    throw new OciFailure(
      ociError('UNSUPPORTED', {
        status: 400,
        message: `repositories must be true or false, not "${repositories}"`,
      }),
    );
  return c.json({ usage: (await s.quotas.usage(repositories === 'true')).map(usageJson) });
}

/** The prefix the path names after /admin/quotas/; undefined for the list itself. */
function prefixOf(c: AppContext): string | undefined {
  const path = new URL(c.req.url).pathname;
  if (path === LIST_PATH) return undefined;
  const raw = path.slice(LIST_PATH.length + 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new OciFailure(
      ociError('UNSUPPORTED', { status: 400, message: 'the prefix is not percent-encoded text' }),
    );
  }
}

const unsupported = (method: string, path: string) =>
  new OciFailure(ociError('UNSUPPORTED', { message: `${method} is not supported on ${path}` }));

const ruleJson = (r: ListedQuota) => ({
  prefix: r.prefix,
  limit: r.limit,
  source: r.source,
  read_only: r.source === 'config',
  in_effect: r.inEffect,
});

const usageJson = (r: QuotaUsage) => ({
  prefix: r.prefix,
  limit: r.limit,
  used: r.used,
  source: r.source,
  read_only: r.source === 'config',
  ...(r.repositories ? { repositories: r.repositories } : {}),
});
