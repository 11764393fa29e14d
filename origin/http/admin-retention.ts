// Admin endpoints for retention (origin/retention/). Stored rules take effect at the next run; the
// config file's are listed, read-only.
//   GET    /admin/retention                    list: {retention: [{prefix, clauses…, source, read_only, in_effect}]}
//   PUT    /admin/retention                    a rule (retention/rule.ts): sets the prefix's rule
//   DELETE /admin/retention?prefix=P           removes the prefix's stored rule (no prefix: the "" rule)
//   POST   /admin/retention/run?mode=dry-run|apply[&prefix=P]   plans (and applies): the report
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import { retentionJson } from '../retention/report.ts';
import type { ListedRetentionRule } from '../retention/retention.ts';
import { retentionRuleInput, ruleJson } from '../retention/rule.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import { body } from './admin-body.ts';
import { type AppContext, actorOf } from './context.ts';
import { unwrap } from './respond.ts';

export async function adminRetention(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  switch (c.req.method) {
    case 'GET':
      return c.json({ retention: (await s.retention.list()).map(listedJson) });
    case 'PUT': {
      const rule = await body(c, retentionRuleInput);
      unwrap(await s.retention.put(rule, actorOf(c)));
      s.log.info({ user, prefix: rule.prefix }, `retention rule of prefix "${rule.prefix}" set by ${user}`);
      return c.json(listedJson({ ...rule, source: 'api', inEffect: true }));
    }
    case 'DELETE': {
      const prefix = c.req.query('prefix') ?? '';
      unwrap(await s.retention.remove(prefix, actorOf(c)));
      s.log.info({ user, prefix }, `retention rule of prefix "${prefix}" removed by ${user}`);
      return c.body(null, 204);
    }
  }
  throw new OciFailure(ociError('UNSUPPORTED', { message: `${c.req.method} is not supported here` }));
}

export async function adminRetentionRun(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const mode = c.req.query('mode') ?? 'dry-run';
  if (mode !== 'dry-run' && mode !== 'apply') {
    throw new OciFailure(
      ociError('UNSUPPORTED', { status: 400, message: `mode must be dry-run or apply, not "${mode}"` }),
    );
  }
  const prefix = c.req.query('prefix') ?? '';
  // PostgreSQL refuses NUL and lone surrogates in text: the client's mistake, not a server error.
  if (!isStorableText(prefix)) {
    throw new OciFailure(
      ociError('NAME_INVALID', { message: 'prefix holds a NUL or a lone surrogate, which no name can' }),
    );
  }
  const report = retentionJson(await s.retention.run(mode, prefix, { actor: actorOf(c) }));
  s.log.info({ user, mode, prefix }, `retention (${mode}) by ${user}: ${report.summary}`);
  return c.json(report);
}

const listedJson = (r: ListedRetentionRule) => ({
  ...ruleJson(r),
  source: r.source,
  read_only: r.source === 'config',
  in_effect: r.inEffect,
});
