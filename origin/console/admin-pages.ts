// The console's pages for administrators: the overview (quotas with their usage, vulnerability
// data), pull policies and the allowlist (with forms), retention rules with a dry-run preview of
// what would go and why (and a form to apply it), and the audit trail with its filters.
import { html } from 'hono/html';
import type { PolicyRule } from '../../shared/policy.ts';
import type { AuditEntry } from '../audit/audit-trail.ts';
import { formatBytes } from '../gc/format.ts';
import type { StoredAllowlistEntry } from '../metadata/policies.ts';
import type { QuotaUsage } from '../policy/quotas.ts';
import type { ListedRetentionRule, RetentionReport } from '../retention/retention.ts';
import { ruleJson } from '../retention/rule.ts';
import type { VulnDataStatus } from '../vulndb/sources.ts';
import { type Markup, notice, page, type Viewer } from './layout.ts';

export type Message = { readonly kind: 'error' | 'info'; readonly text: string } | null;

const csrfField = (viewer: Viewer) => html`<input type="hidden" name="csrf" value="${viewer.csrf ?? ''}" />`;
const time = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function adminPage(title: string, viewer: Viewer, message: Message, body: Markup): Markup {
  return page(
    title,
    viewer,
    html`<nav aria-label="Administration" class="subnav">
        <a href="/ui/admin">Overview</a> · <a href="/ui/admin/policies">Pull policies</a> ·
        <a href="/ui/admin/retention">Retention</a> · <a href="/ui/admin/audit">Audit trail</a>
      </nav>
      <h1>${title}</h1>
      ${message ? notice(message.kind, message.text) : ''}
      ${body}`,
  );
}

export function overviewPage(viewer: Viewer, quotas: readonly QuotaUsage[], data: VulnDataStatus): Markup {
  return adminPage(
    'Administration',
    viewer,
    null,
    html`<section aria-labelledby="quotas"><h2 id="quotas">Quotas</h2>
        ${
          quotas.length === 0
            ? html`<p class="empty">No quotas.</p>`
            : html`<table><thead><tr><th scope="col">Prefix</th><th scope="col">Used</th><th scope="col">Limit</th><th scope="col">Usage</th></tr></thead>
              <tbody>${quotas.map(
                (
                  q,
                ) => html`<tr><td><code>${q.prefix || '(every repository)'}</code></td><td>${formatBytes(q.used)}</td><td>${formatBytes(q.limit)}</td>
                  <td><meter min="0" max="${q.limit}" value="${Math.min(q.used, q.limit)}" high="${q.limit * 0.9}" aria-label="${q.prefix || 'every repository'}: ${formatBytes(q.used)} of ${formatBytes(q.limit)}"></meter></td></tr>`,
              )}</tbody></table>`
        }
      </section>
      <section aria-labelledby="vulndb"><h2 id="vulndb">Vulnerability data</h2>
        <p>${data.records} records (generation ${data.generation}).</p>
        <table><thead><tr><th scope="col">Ecosystem</th><th scope="col">Records</th><th scope="col">Imported</th></tr></thead>
          <tbody>${data.ecosystems.map((e) => html`<tr><td>${e.ecosystem}</td><td>${e.records}</td><td>${e.imported_at}</td></tr>`)}</tbody></table>
        <table><thead><tr><th scope="col">Source</th><th scope="col">Last success</th><th scope="col">Last error</th></tr></thead>
          <tbody>${data.sources.map((x) => html`<tr><td><code>${x.source}</code></td><td>${x.last_success ?? 'never'}</td><td>${x.last_error ?? '—'}</td></tr>`)}</tbody></table>
      </section>`,
  );
}

export function policiesPage(
  viewer: Viewer,
  policies: readonly PolicyRule[],
  allowlist: readonly StoredAllowlistEntry[],
  message: Message,
): Markup {
  const csrf = csrfField(viewer);
  return adminPage(
    'Pull policies',
    viewer,
    message,
    html`<section aria-labelledby="rules"><h2 id="rules">Rules</h2>
        <p>The longest prefix matching a repository decides whether its images may be pulled.</p>
        ${
          policies.length === 0
            ? html`<p class="empty">No pull policy: every image may be pulled.</p>`
            : html`<table><thead><tr><th scope="col">Prefix</th><th scope="col">Blocks from</th><th scope="col">Only fixable</th><th scope="col">Unscanned</th><th scope="col">Remove</th></tr></thead>
              <tbody>${policies.map(
                (
                  p,
                ) => html`<tr><td><code>${p.prefix || '(every repository)'}</code></td><td>${p.threshold}</td><td>${p.onlyFixable ? 'yes' : 'no'}</td><td>${p.unscanned}</td>
                  <td><form method="post" action="/ui/admin/policies/remove" data-confirm="Remove the policy of ${p.prefix || 'every repository'}?">${csrf}<input type="hidden" name="prefix" value="${p.prefix}" /><button type="submit" class="danger">Remove</button></form></td></tr>`,
              )}</tbody></table>`
        }
        <form method="post" action="/ui/admin/policies" class="stacked">
          ${csrf}
          <h3>Set a policy</h3>
          <label for="policy-prefix">Repository prefix (empty: every repository)</label>
          <input id="policy-prefix" name="prefix" />
          <label for="threshold">Block images with findings of this severity or worse</label>
          <select id="threshold" name="threshold">${['critical', 'high', 'medium', 'low', 'none'].map((t) => html`<option value="${t}">${t}</option>`)}</select>
          <label for="unscanned">Images not scanned (or with no data for their packages)</label>
          <select id="unscanned" name="unscanned"><option value="allow">allow</option><option value="block">block</option></select>
          <label><input type="checkbox" name="only_fixable" value="yes" /> only findings with a fix</label>
          <button type="submit">Set policy</button>
        </form>
      </section>
      <section aria-labelledby="allowlist"><h2 id="allowlist">Allowlist</h2>
        ${
          allowlist.length === 0
            ? html`<p class="empty">Nothing is allowlisted.</p>`
            : html`<table><thead><tr><th scope="col">Prefix</th><th scope="col">Vulnerability</th><th scope="col">Expires</th><th scope="col">Reason</th><th scope="col">Remove</th></tr></thead>
              <tbody>${allowlist.map(
                (
                  e,
                ) => html`<tr><td><code>${e.prefix || '(every repository)'}</code></td><td>${e.vulnerability}</td><td>${time(e.expiresAt)}</td><td>${e.reason ?? '—'}</td>
                  <td><form method="post" action="/ui/admin/allowlist/remove" data-confirm="Remove ${e.vulnerability} from the allowlist?">${csrf}<input type="hidden" name="prefix" value="${e.prefix}" /><input type="hidden" name="vulnerability" value="${e.vulnerability}" /><button type="submit" class="danger">Remove</button></form></td></tr>`,
              )}</tbody></table>`
        }
        <form method="post" action="/ui/admin/allowlist" class="stacked">
          ${csrf}
          <h3>Allow a vulnerability</h3>
          <label for="allow-prefix">Repository prefix (empty: every repository)</label>
          <input id="allow-prefix" name="prefix" />
          <label for="vulnerability">Vulnerability (CVE or advisory id)</label>
          <input id="vulnerability" name="vulnerability" required />
          <label for="expires">Expires (date, optional)</label>
          <input id="expires" name="expires" type="date" />
          <label for="reason">Reason</label>
          <input id="reason" name="reason" />
          <button type="submit">Allow</button>
        </form>
      </section>`,
  );
}

export function retentionPage(
  viewer: Viewer,
  rules: readonly ListedRetentionRule[],
  report: RetentionReport,
  message: Message,
): Markup {
  const { plan } = report;
  const items = plan.tags.length + plan.manifests.length;
  return adminPage(
    'Retention',
    viewer,
    message,
    html`<section aria-labelledby="rules"><h2 id="rules">Rules</h2>
        ${
          rules.length === 0
            ? html`<p class="empty">No retention rules: nothing is removed.</p>`
            : html`<table><thead><tr><th scope="col">Prefix</th><th scope="col">Rule</th><th scope="col">From</th></tr></thead>
              <tbody>${rules.map(
                (r) =>
                  html`<tr><td><code>${r.prefix || '(every repository)'}</code></td><td><code>${JSON.stringify(ruleJson(r))}</code></td><td>${r.source}${r.inEffect ? '' : ' (hidden by the config file)'}</td></tr>`,
              )}</tbody></table>`
        }
        <p>Rules are set through <code>/admin/retention</code> or the config file.</p>
      </section>
      <section aria-labelledby="preview"><h2 id="preview">What a run would remove now</h2>
        <p>${plan.tags.length} tags and ${plan.manifests.length} manifests in ${plan.evaluated.repositories} repositories (of ${plan.evaluated.tags} tags evaluated); then GC reclaims ${report.reclaimable.blobs} blobs, ${formatBytes(report.reclaimable.bytes)}.</p>
        ${
          items === 0
            ? ''
            : html`<table><thead><tr><th scope="col">Repository</th><th scope="col">Tag or manifest</th><th scope="col">Rule</th><th scope="col">Why</th></tr></thead>
              <tbody>
                ${plan.tags.map((t) => html`<tr><td>${t.repository}</td><td>${t.tag}</td><td><code>${t.rule || '(every repository)'}</code></td><td>${t.reason}</td></tr>`)}
                ${plan.manifests.map((m) => html`<tr><td>${m.repository}</td><td><code>${m.digest.slice(0, 19)}…</code></td><td><code>${m.rule || '(every repository)'}</code></td><td>${m.reason}</td></tr>`)}
              </tbody></table>
              <form method="post" action="/ui/admin/retention/apply" data-confirm="Remove these ${items} items now?">
                ${csrfField(viewer)}
                <button type="submit" class="danger">Apply: remove them now</button>
              </form>`
        }
      </section>`,
  );
}

export interface AuditFilter {
  readonly repository: string;
  readonly user: string;
  readonly since: string;
}

export function auditPage(
  viewer: Viewer,
  entries: readonly AuditEntry[],
  filter: AuditFilter,
  next: string | null,
  message: Message,
): Markup {
  return adminPage(
    'Audit trail',
    viewer,
    message,
    html`<form method="get" action="/ui/admin/audit" class="search">
        <label for="audit-repository">Repository</label><input id="audit-repository" name="repository" value="${filter.repository}" />
        <label for="audit-user">User</label><input id="audit-user" name="user" value="${filter.user}" />
        <label for="audit-since">Since (RFC 3339)</label><input id="audit-since" name="since" value="${filter.since}" placeholder="2026-01-31T00:00:00Z" />
        <button type="submit">Filter</button>
      </form>
      <table><caption>Newest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Repository</th><th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Who</th><th scope="col">Detail</th></tr></thead>
        <tbody>${entries.map(
          (
            e,
          ) => html`<tr><td>${time(e.at)}</td><td>${e.action}</td><td>${e.repository ?? '—'}</td><td>${e.tag ?? '—'}</td>
            <td>${e.digest ? html`<code>${e.digest.slice(0, 19)}…</code>` : '—'}</td>
            <td>${e.user ?? e.system ?? 'anonymous'}${e.address ? html`<br /><small>${e.address}</small>` : ''}</td>
            <td><code>${JSON.stringify(e.detail)}</code></td></tr>`,
        )}</tbody>
      </table>
      ${next ? html`<a class="next" rel="next" href="/ui/admin/audit?${next}">Older entries</a>` : ''}`,
  );
}
