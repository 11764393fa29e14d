// The console's administration routes (/ui/admin…): administrators only, as the /admin API is.
// Every change is a form with the session's CSRF token, read through the same input schemas and
// domain services as the API, then answered by a redirect to the page with a fixed message.
import type { Hono } from 'hono';
import type { z } from 'zod';
import { isStorableJson, isStorableText } from '../../shared/storable-text.ts';
import { parseSince } from '../audit/audit-trail.ts';
import type { AppEnv } from '../http/context.ts';
import { allowlistEntryOf, allowlistInput, policyInput, policyRuleOf } from '../policy/policy-input.ts';
import type { Services } from '../services.ts';
import { auditPage, type Message, overviewPage, policiesPage, retentionPage } from './admin-pages.ts';
import {
  type ConsoleContext,
  field,
  formTokenMatches,
  refusal,
  render,
  type Visit,
  visitOf,
} from './console-visit.ts';

/** What a redirect after a change says: fixed texts, so that no link can put words on the page. */
const DONE: Readonly<Record<string, string>> = {
  'policy-set': 'The policy is set: it applies to pulls from now on.',
  'policy-removed': 'The policy is removed.',
  allowed: 'The vulnerability is allowlisted.',
  disallowed: 'The allowlist entry is removed.',
};

const AUDIT_PAGE = 100;

export function registerAdminConsole(app: Hono<AppEnv>, s: Services): void {
  /** The visit of an administrator, or the refusal to answer with. */
  async function admin(c: ConsoleContext): Promise<Visit | Response> {
    const v = await visitOf(s, c);
    if (!v.viewer.admin) {
      return refusal(
        c,
        v,
        403,
        v.viewer.user === null ? 'Sign in as an administrator.' : 'Administrators only.',
      );
    }
    return v;
  }

  /** A change: an administrator, and the form's CSRF token. */
  async function change(c: ConsoleContext): Promise<{ v: Visit; form: Record<string, unknown> } | Response> {
    const v = await admin(c);
    if (v instanceof Response) return v;
    const form = (await c.req.parseBody()) as Record<string, unknown>;
    if (!formTokenMatches(v, form))
      return refusal(c, v, 403, 'The form expired: reload the page and try again.');
    return { v, form };
  }

  const done = (c: ConsoleContext): Message => {
    const text = DONE[c.req.query('done') ?? ''];
    return text ? { kind: 'info', text } : null;
  };

  app.get('/ui/admin', async (c) => {
    const v = await admin(c);
    if (v instanceof Response) return v;
    const [quotas, data] = await Promise.all([s.quotas.usage(), s.vulnData.status()]);
    return render(c, overviewPage(v.viewer, quotas, data));
  });

  async function policies(c: ConsoleContext, v: Visit, message: Message, status: 200 | 400 = 200) {
    const [rules, allowlist] = await Promise.all([s.policyRules.list(), s.policyRules.allowlist()]);
    return render(c, policiesPage(v.viewer, rules, allowlist, message), status);
  }

  app.get('/ui/admin/policies', async (c) => {
    const v = await admin(c);
    if (v instanceof Response) return v;
    return policies(c, v, done(c));
  });

  app.post('/ui/admin/policies', async (c) => {
    const r = await change(c);
    if (r instanceof Response) return r;
    const input = read(policyInput, {
      prefix: field(r.form, 'prefix'),
      threshold: field(r.form, 'threshold'),
      only_fixable: field(r.form, 'only_fixable') === 'yes',
      unscanned: field(r.form, 'unscanned'),
    });
    if (!input.ok) return policies(c, r.v, { kind: 'error', text: input.message }, 400);
    await s.policyRules.put(policyRuleOf(input.value), r.v.actor);
    return c.redirect('/ui/admin/policies?done=policy-set', 303);
  });

  app.post('/ui/admin/policies/remove', async (c) => {
    const r = await change(c);
    if (r instanceof Response) return r;
    const prefix = field(r.form, 'prefix');
    if (!isStorableText(prefix) || !(await s.policyRules.remove(prefix, r.v.actor))) {
      return policies(c, r.v, { kind: 'error', text: 'There is no policy for that prefix.' }, 400);
    }
    return c.redirect('/ui/admin/policies?done=policy-removed', 303);
  });

  app.post('/ui/admin/allowlist', async (c) => {
    const r = await change(c);
    if (r instanceof Response) return r;
    const expires = field(r.form, 'expires');
    const reason = field(r.form, 'reason');
    // A date is the end of that day, UTC.
    const expiresAt = /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59Z` : expires || undefined;
    const input = read(allowlistInput, {
      prefix: field(r.form, 'prefix'),
      vulnerability: field(r.form, 'vulnerability').trim(),
      ...(expiresAt ? { expires_at: expiresAt } : {}),
      ...(reason ? { reason } : {}),
    });
    if (!input.ok) return policies(c, r.v, { kind: 'error', text: input.message }, 400);
    await s.policyRules.allow(allowlistEntryOf(input.value), r.v.actor);
    return c.redirect('/ui/admin/policies?done=allowed', 303);
  });

  app.post('/ui/admin/allowlist/remove', async (c) => {
    const r = await change(c);
    if (r instanceof Response) return r;
    const prefix = field(r.form, 'prefix');
    const vulnerability = field(r.form, 'vulnerability');
    const removed =
      isStorableText(prefix) &&
      isStorableText(vulnerability) &&
      (await s.policyRules.disallow(prefix, vulnerability, r.v.actor));
    if (!removed)
      return policies(c, r.v, { kind: 'error', text: 'That entry is not on the allowlist.' }, 400);
    return c.redirect('/ui/admin/policies?done=disallowed', 303);
  });

  app.get('/ui/admin/retention', async (c) => {
    const v = await admin(c);
    if (v instanceof Response) return v;
    const [rules, report] = await Promise.all([s.retention.list(), s.retention.run('dry-run')]);
    return render(c, retentionPage(v.viewer, rules, report, null));
  });

  app.post('/ui/admin/retention/apply', async (c) => {
    const r = await change(c);
    if (r instanceof Response) return r;
    const applied = await s.retention.run('apply', '', { actor: r.v.actor });
    const skipped = applied.skipped.tags.length + applied.skipped.manifests.length;
    const removed = applied.plan.tags.length + applied.plan.manifests.length - skipped;
    const text = `Removed ${removed} items${skipped > 0 ? `; ${skipped} changed since planned and were left` : ''}. GC reclaims their blobs on its next run.`;
    const [rules, report] = await Promise.all([s.retention.list(), s.retention.run('dry-run')]);
    return render(c, retentionPage(r.v.viewer, rules, report, { kind: 'info', text }));
  });

  app.get('/ui/admin/audit', async (c) => {
    const v = await admin(c);
    if (v instanceof Response) return v;
    const filter = {
      repository: (c.req.query('repository') ?? '').slice(0, 256),
      user: (c.req.query('user') ?? '').slice(0, 256),
      since: (c.req.query('since') ?? '').slice(0, 64),
    };
    const since = filter.since ? parseSince(filter.since) : undefined;
    const before = Number.parseInt(c.req.query('before') ?? '', 10);
    const unreadable = [filter.repository, filter.user].some((t) => !isStorableText(t));
    if ((filter.since && since === undefined) || unreadable) {
      const text = unreadable ? 'A filter holds characters no entry can.' : 'Since must be an RFC 3339 time.';
      return render(c, auditPage(v.viewer, [], filter, null, { kind: 'error', text }), 400);
    }
    const entries = await s.audit.list({
      repository: filter.repository || undefined,
      user: filter.user || undefined,
      since,
      before: Number.isSafeInteger(before) && before > 0 ? before : undefined,
      limit: AUDIT_PAGE + 1,
    });
    const shown = entries.slice(0, AUDIT_PAGE);
    const last = shown.at(-1);
    const next =
      entries.length > AUDIT_PAGE && last
        ? new URLSearchParams({ ...onlySet(filter), before: String(last.id) }).toString()
        : null;
    return render(c, auditPage(v.viewer, shown, filter, next, null));
  });
}

const onlySet = (filter: Record<string, string>) =>
  Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== ''));

/** A form read through the API's schema: the value, or what is wrong with it, in words. */
function read<T>(
  schema: z.ZodType<T>,
  raw: unknown,
): { ok: true; value: T } | { ok: false; message: string } {
  if (!isStorableJson(raw)) return { ok: false, message: 'The form holds characters that cannot be stored.' };
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `${issue?.path.join('.') || 'form'}: ${issue?.message ?? 'invalid'}` };
}
