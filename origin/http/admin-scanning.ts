// Admin endpoints for scanning: pull policies, the CVE allowlist, webhooks and vulnerability data.
// Changes are stored in the database and take effect at once in this process and within
// policy.refresh_interval in others.
//   GET    /admin/policies                      list
//   PUT    /admin/policies                      {prefix, threshold, only_fixable, unscanned}
//   DELETE /admin/policies?prefix=P
//   GET    /admin/allowlist                     list
//   PUT    /admin/allowlist                     {prefix, vulnerability, expires_at?, reason?}
//   DELETE /admin/allowlist?prefix=P&vulnerability=CVE-…
//   GET    /admin/webhooks                      list (secrets withheld)
//   POST   /admin/webhooks                      {prefix, url, secret, events}
//   DELETE /admin/webhooks/{id}
//   GET    /admin/webhooks/{id}/deliveries      recent deliveries
//   POST   /admin/vulndb/import                 {path}: import OSV data from under scan.vulndb_dir
//                                               (all.zip, a directory, a .json), or an all.zip
//                                               sent as application/zip; then re-match
//   GET    /admin/vulndb                        the data: records per ecosystem, each of
//                                               scan.sources' last success and last error
//   POST   /admin/vulndb/update                 fetch and import scan.sources now
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import { WEBHOOK_EVENTS } from '../metadata/webhooks.ts';
import { allowlistEntryOf, allowlistInput, policyInput, policyRuleOf } from '../policy/policy-input.ts';
import { type DataUpdate, updateVulnerabilityData } from '../scan/data-update.ts';
import type { Services } from '../services.ts';
import { importLocation } from '../vulndb/import-location.ts';
import { requireAdmin } from './admin.ts';
import { body, invalid } from './admin-body.ts';
import { type AppContext, actorOf } from './context.ts';
import { pageOf } from './pagination.ts';
import { saveBoundedBody } from './request-body.ts';
import { unwrap } from './respond.ts';

const webhookBody = z
  .object({
    prefix: z.string().default(''),
    url: z.url({ protocol: /^https?$/ }),
    secret: z.string().min(16, 'at least 16 characters'),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .default([...WEBHOOK_EVENTS]),
  })
  .strict();

export async function adminPolicies(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  switch (c.req.method) {
    case 'GET':
      return c.json({ policies: (await s.policyRules.list()).map(policyJson) });
    case 'PUT': {
      const p = await body(c, policyInput);
      const rule = policyRuleOf(p);
      await s.policyRules.put(rule, actorOf(c));
      s.log.info({ user, policy: p }, `policy for prefix "${p.prefix}" set by ${user}`);
      return c.json(policyJson(rule));
    }
    case 'DELETE': {
      const prefix = c.req.query('prefix') ?? '';
      // Nothing stored holds a NUL or a lone surrogate (admin-body.ts), and a query with one fails.
      const removed = isStorableText(prefix) && (await s.policyRules.remove(prefix, actorOf(c)));
      if (!removed)
        throw new OciFailure(ociError('NAME_UNKNOWN', { message: `no policy for prefix "${prefix}"` }));
      s.log.info({ user, prefix }, `policy for prefix "${prefix}" removed by ${user}`);
      return c.body(null, 204);
    }
  }
  throw new OciFailure(ociError('UNSUPPORTED', { message: `${c.req.method} is not supported here` }));
}

export async function adminAllowlist(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  switch (c.req.method) {
    case 'GET':
      return c.json({ allowlist: (await s.policyRules.allowlist()).map(allowlistJson) });
    case 'PUT': {
      const e = await body(c, allowlistInput);
      const entry = allowlistEntryOf(e);
      await s.policyRules.allow(entry, actorOf(c));
      s.log.info({ user, entry: e }, `${e.vulnerability} allowlisted for prefix "${e.prefix}" by ${user}`);
      return c.json(allowlistJson(entry));
    }
    case 'DELETE': {
      const prefix = c.req.query('prefix') ?? '';
      const vulnerability = c.req.query('vulnerability') ?? '';
      const removed =
        isStorableText(prefix) &&
        isStorableText(vulnerability) &&
        (await s.policyRules.disallow(prefix, vulnerability, actorOf(c)));
      if (!removed) {
        throw new OciFailure(
          ociError('NAME_UNKNOWN', { message: `${vulnerability} is not allowlisted for prefix "${prefix}"` }),
        );
      }
      s.log.info(
        { user, prefix, vulnerability },
        `${vulnerability} removed from the allowlist of "${prefix}" by ${user}`,
      );
      return c.body(null, 204);
    }
  }
  throw new OciFailure(ociError('UNSUPPORTED', { message: `${c.req.method} is not supported here` }));
}

export async function adminWebhooks(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const id = c.req.param('id');
  if (id !== undefined) {
    const n = Number(id);
    if (!Number.isSafeInteger(n)) throw invalid('the webhook id must be a number');
    if (c.req.method === 'DELETE') {
      if (!(await s.webhookSubscriptions.remove(n, actorOf(c))))
        throw new OciFailure(ociError('NAME_UNKNOWN', { message: `no webhook ${n}` }));
      return c.body(null, 204);
    }
    // `n` read as the tags list reads it: a negative or fractional one reached SQL's LIMIT, a 500.
    const { limit } = pageOf(c, 100, 1000);
    return c.json({ deliveries: await s.webhookSubscriptions.deliveries(n, limit) });
  }
  if (c.req.method === 'POST') {
    const w = await body(c, webhookBody);
    const created = await s.webhookSubscriptions.add(w, actorOf(c));
    s.log.info(
      { user, webhook: created, prefix: w.prefix, url: w.url, events: w.events },
      `webhook ${created} added by ${user}`,
    );
    return c.json({ id: created, prefix: w.prefix, url: w.url, events: w.events }, 201);
  }
  const hooks = await s.webhookSubscriptions.list();
  return c.json({ webhooks: hooks.map(({ secret: _secret, ...rest }) => rest) });
}

const policyJson = (r: { prefix: string; threshold: string; onlyFixable: boolean; unscanned: string }) => ({
  prefix: r.prefix,
  threshold: r.threshold,
  only_fixable: r.onlyFixable,
  unscanned: r.unscanned,
});

const allowlistJson = (e: {
  prefix: string;
  vulnerability: string;
  expiresAt?: number;
  reason: string | null;
}) => ({
  prefix: e.prefix,
  vulnerability: e.vulnerability,
  expires_at: e.expiresAt === undefined ? null : new Date(e.expiresAt).toISOString(),
  reason: e.reason,
});

const importBody = z.object({ path: z.string().min(1) }).strict();

/** The import ledger's name for data sent in a request body. */
const UPLOAD_SOURCE = 'upload';

export async function adminVulndbImport(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  const type = c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase();
  const update = type === 'application/zip' ? await importUpload(c, s) : await importPath(c, s);
  if (!update.ok) throw invalid(update.error);
  const { report, rematch } = update;
  s.log.info(
    {
      user,
      source: report.source,
      added: report.added,
      updated: report.updated,
      generation: report.generation,
      ...rematch,
    },
    `vulnerability data imported by ${user}: ${report.added} added, ${report.updated} updated; ${rematch.rematched} images re-matched`,
  );
  return c.json({
    source: report.source,
    total: report.total,
    added: report.added,
    updated: report.updated,
    unchanged: report.unchanged,
    withdrawn: report.withdrawn,
    skipped_invalid: report.skippedInvalid,
    invalid: report.invalid,
    generation: report.generation,
    rematched: rematch.rematched,
    images_with_new_vulnerabilities: rematch.gained,
    new_findings: rematch.newFindings,
    elapsed_ms: Math.round(report.elapsedMs),
  });
}

/** {path}: data under scan.vulndb_dir, and nowhere else. */
async function importPath(c: AppContext, s: Services): Promise<DataUpdate> {
  const requested = (await body(c, importBody)).path;
  const dir = s.config.scan.vulndb_dir;
  if (dir === undefined) {
    throw new OciFailure(
      ociError('DENIED', {
        message: 'path imports are off (no scan.vulndb_dir): send an all.zip as application/zip instead',
      }),
    );
  }
  const location = await importLocation(dir, requested);
  if (!location.ok) {
    throw new OciFailure(
      location.problem === 'outside'
        ? ociError('DENIED', { message: `${requested} is not under scan.vulndb_dir` })
        : ociError('NAME_UNKNOWN', { message: `${requested}: nothing there under scan.vulndb_dir` }),
    );
  }
  return updateVulnerabilityData(s, location.path);
}

/** An all.zip in the body, staged in a file of its own under data_dir/tmp while it is imported. */
async function importUpload(c: AppContext, s: Services): Promise<DataUpdate> {
  const staging = path.join(s.config.data_dir, 'tmp');
  await mkdir(staging, { recursive: true });
  const dir = await mkdtemp(path.join(staging, 'vulndb-'));
  try {
    const file = path.join(dir, 'all.zip');
    unwrap(await saveBoundedBody(c, file, s.config.scan.vulndb_upload_max));
    return await updateVulnerabilityData(s, file, { source: UPLOAD_SOURCE, archiveOnly: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function adminVulndb(c: AppContext, s: Services): Promise<Response> {
  await requireAdmin(c, s);
  return c.json(await s.vulnData.status());
}

export async function adminVulndbUpdate(c: AppContext, s: Services): Promise<Response> {
  const user = await requireAdmin(c, s);
  s.log.info({ user }, `vulnerability data update asked for by ${user}`);
  const outcomes = await s.vulnData.update();
  return c.json({
    sources: outcomes.map((o) =>
      o.status === 'imported'
        ? {
            source: o.source,
            status: o.status,
            added: o.report.added,
            updated: o.report.updated,
            withdrawn: o.report.withdrawn,
            skipped_invalid: o.report.skippedInvalid,
            generation: o.report.generation,
            rematched: o.rematch.rematched,
          }
        : o,
    ),
  });
}
