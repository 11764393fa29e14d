// Admin endpoints for immutable-tag rules (origin/policy/immutable-tags.ts). Stored rules take
// effect at once, in every process; the config file's are listed, read-only.
//   GET    /admin/immutable-tags               list: {immutable_tags: [{prefix, tags, source, read_only, in_effect}]}
//   PUT    /admin/immutable-tags               {prefix, tags: [patterns]}: sets the prefix's rule
//   DELETE /admin/immutable-tags?prefix=P      removes the prefix's stored rule
import { z } from 'zod';
import { OciFailure, ociError } from '../../shared/errors.ts';
import type { ListedRule } from '../policy/immutable-tags.ts';
import { tagPatterns } from '../policy/tag-pattern.ts';
import type { Services } from '../services.ts';
import { requireAdmin } from './admin.ts';
import { body } from './admin-body.ts';
import { type AppContext, actorOf } from './context.ts';
import { unwrap } from './respond.ts';

const ruleBody = z.object({ prefix: z.string().default(''), tags: tagPatterns }).strict();

export async function adminImmutableTags(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  switch (c.req.method) {
    case 'GET':
      return c.json({ immutable_tags: (await s.immutableTags.list()).map(ruleJson) });
    case 'PUT': {
      const rule = await body(c, ruleBody);
      unwrap(await s.immutableTags.put(rule, actorOf(c)));
      s.log.info(
        { user, prefix: rule.prefix, tags: rule.tags },
        `immutable tags of prefix "${rule.prefix}" set to [${rule.tags.join(', ')}] by ${user}`,
      );
      return c.json(ruleJson({ ...rule, source: 'api', inEffect: true }));
    }
    case 'DELETE': {
      const prefix = c.req.query('prefix') ?? '';
      unwrap(await s.immutableTags.remove(prefix, actorOf(c)));
      s.log.info({ user, prefix }, `immutable-tag rule of prefix "${prefix}" removed by ${user}`);
      return c.body(null, 204);
    }
  }
  throw new OciFailure(ociError('UNSUPPORTED', { message: `${c.req.method} is not supported here` }));
}

const ruleJson = (r: ListedRule) => ({
  prefix: r.prefix,
  tags: r.tags,
  source: r.source,
  read_only: r.source === 'config',
  in_effect: r.inEffect,
});
