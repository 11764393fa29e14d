// One image or index: for an index its platforms; for an image its layers (size, the command that
// made each), its config, its referrers, the pull policy's verdict, and the scan — counts by
// severity and the findings, filtered and sorted on the server (the page works without script).
import { html } from 'hono/html';
import { formatBytes } from '../gc/format.ts';
import type { FindingDetail, ImageReport } from '../scan/scans.ts';
import type { ImageConfigView } from './image-config.ts';
import { type Markup, notice, page, type Viewer } from './layout.ts';
import { repositoryHref } from './repositories-page.ts';

export interface ReferrerView {
  readonly digest: string;
  readonly artifactType: string | null;
  readonly size: number;
}

export interface FindingFilter {
  readonly severity: string;
  readonly fixable: boolean;
  readonly package: string;
  readonly sort: 'severity' | 'cvss' | 'package';
}

export interface ImageView {
  readonly repository: string;
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** Set for an index: its platforms and their manifests. */
  readonly platforms: readonly { platform: string; digest: string }[] | null;
  /** Set for an image. */
  readonly layers: readonly { digest: string; size: number }[] | null;
  readonly config: ImageConfigView | null;
  readonly referrers: readonly ReferrerView[];
  readonly report: ImageReport | null;
  /** null: pulls are allowed; else why the pull policy refuses them. */
  readonly blocked: string | null;
  readonly canScan: boolean;
  readonly filter: FindingFilter;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
const RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, unknown: 4 };

export const imageHref = (repository: string, digest: string): string =>
  `${repositoryHref(repository)}@${digest}`;

export function imagePage(viewer: Viewer, view: ImageView): Markup {
  const short = view.digest.slice(0, 19);
  return page(
    `${view.repository}@${short}`,
    viewer,
    html`<p class="crumbs"><a href="/ui/">Repositories</a> / <a href="${repositoryHref(view.repository)}">${view.repository}</a> /</p>
      <h1>${view.repository}@${short}…</h1>
      <dl class="facts">
        <dt>Digest</dt><dd><code>${view.digest}</code> <button type="button" class="copy" data-copy="${view.digest}" aria-label="Copy the digest">Copy</button></dd>
        <dt>Media type</dt><dd>${view.mediaType}</dd>
        <dt>Pull</dt><dd>${view.blocked === null ? 'allowed by the pull policy' : html`<strong class="blocked">blocked: ${view.blocked}</strong>`}</dd>
      </dl>
      ${view.platforms ? platformsSection(view) : ''}
      ${view.layers ? layersSection(view) : ''}
      ${view.config ? configSection(view.config) : ''}
      ${referrersSection(view)}
      ${view.report ? scanSection(view, view.report, viewer.csrf ?? '') : ''}`,
  );
}

function platformsSection(view: ImageView): Markup {
  return html`<section aria-labelledby="platforms"><h2 id="platforms">Platforms</h2>
    <ul>${(view.platforms ?? []).map((p) => html`<li><a href="${imageHref(view.repository, p.digest)}">${p.platform}</a></li>`)}</ul>
  </section>`;
}

function layersSection(view: ImageView): Markup {
  const commands = view.config?.layerCommands ?? [];
  const layers = view.layers ?? [];
  const total = layers.reduce((sum, l) => sum + l.size, 0);
  return html`<section aria-labelledby="layers"><h2 id="layers">Layers (${formatBytes(total)})</h2>
    <table><thead><tr><th scope="col">#</th><th scope="col">Size</th><th scope="col">Made by</th><th scope="col">Digest</th></tr></thead>
    <tbody>${layers.map(
      (l, i) =>
        html`<tr><td>${i + 1}</td><td>${formatBytes(l.size)}</td><td><code>${commands[i] ?? '—'}</code></td><td><code>${l.digest.slice(0, 19)}…</code></td></tr>`,
    )}</tbody></table>
  </section>`;
}

function configSection(config: ImageConfigView): Markup {
  const list = (items: readonly string[]) =>
    items.length === 0 ? '—' : html`<code>${items.join(' ')}</code>`;
  return html`<section aria-labelledby="config"><h2 id="config">Config</h2>
    <dl class="facts">
      <dt>Platform</dt><dd>${config.os ?? '?'}/${config.architecture ?? '?'}</dd>
      <dt>Created</dt><dd>${config.created ?? '—'}</dd>
      <dt>Entrypoint</dt><dd>${list(config.entrypoint)}</dd>
      <dt>Command</dt><dd>${list(config.cmd)}</dd>
      <dt>Environment</dt><dd>${config.env.length === 0 ? '—' : html`<ul>${config.env.map((e) => html`<li><code>${e}</code></li>`)}</ul>`}</dd>
      <dt>Labels</dt><dd>${config.labels.length === 0 ? '—' : html`<ul>${config.labels.map(([k, v]) => html`<li><code>${k}=${v}</code></li>`)}</ul>`}</dd>
    </dl>
  </section>`;
}

function referrersSection(view: ImageView): Markup {
  return html`<section aria-labelledby="referrers"><h2 id="referrers">Referrers</h2>
    ${
      view.referrers.length === 0
        ? html`<p class="empty">No signatures, SBOMs or attestations refer to it.</p>`
        : html`<table><thead><tr><th scope="col">Artifact type</th><th scope="col">Size</th><th scope="col">Digest</th></tr></thead>
          <tbody>${view.referrers.map(
            (r) =>
              html`<tr><td>${r.artifactType ?? '—'}</td><td>${formatBytes(r.size)}</td><td><a href="${imageHref(view.repository, r.digest)}"><code>${r.digest.slice(0, 19)}…</code></a></td></tr>`,
          )}</tbody></table>`
    }
  </section>`;
}

function scanSection(view: ImageView, report: ImageReport, csrf: string): Markup {
  const counts = report.vulnerabilities;
  const total = SEVERITIES.reduce((sum, s) => sum + counts[s], 0);
  const findings = filtered(report.details, view.filter);
  const f = view.filter;
  return html`<section aria-labelledby="scan"><h2 id="scan">Scan</h2>
    <p>Status: <strong>${report.status}</strong>${report.scanned_at ? html`, scanned ${report.scanned_at}` : ''}</p>
    ${report.warnings.map((w) => notice('info', w))}
    ${
      view.canScan
        ? html`<form method="post" action="${imageHref(view.repository, view.digest)}/scan" class="inline">
            <input type="hidden" name="csrf" value="${csrf}" />
            <button type="submit">Rescan</button>
          </form>`
        : ''
    }
    <table class="severity-chart"><caption>Findings by severity</caption><tbody>
      ${SEVERITIES.map(
        (s) =>
          html`<tr><th scope="row">${s}</th><td>${counts[s]}</td><td><meter min="0" max="${Math.max(total, 1)}" value="${counts[s]}" aria-label="${s}: ${counts[s]} of ${total}"></meter></td></tr>`,
      )}
    </tbody></table>
    <form method="get" action="${imageHref(view.repository, view.digest)}" class="search">
      <label for="severity">Severity</label>
      <select id="severity" name="severity">
        <option value="" ${f.severity === '' ? 'selected' : ''}>any</option>
        ${SEVERITIES.map((s) => html`<option value="${s}" ${f.severity === s ? 'selected' : ''}>${s}</option>`)}
      </select>
      <label for="package">Package</label>
      <input id="package" name="package" value="${f.package}" />
      <label><input type="checkbox" name="fixable" value="yes" ${f.fixable ? 'checked' : ''} /> fixable only</label>
      <label for="sort">Sort by</label>
      <select id="sort" name="sort">
        ${(['severity', 'cvss', 'package'] as const).map((s) => html`<option value="${s}" ${f.sort === s ? 'selected' : ''}>${s}</option>`)}
      </select>
      <button type="submit">Filter</button>
    </form>
    <table class="findings"><caption>${findings.length} of ${report.details.length} findings</caption>
      <thead><tr><th scope="col">Vulnerability</th><th scope="col">Severity</th><th scope="col">CVSS</th><th scope="col">Package</th><th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Layer</th></tr></thead>
      <tbody>${findings.map(findingRow)}</tbody>
    </table>
  </section>`;
}

function findingRow(f: FindingDetail): Markup {
  const osv = /^[A-Za-z][A-Za-z0-9._-]*$/.test(f.advisory);
  return html`<tr>
    <td>${osv ? html`<a href="https://osv.dev/vulnerability/${f.advisory}" rel="noreferrer">${f.cve ?? f.advisory}</a>` : (f.cve ?? f.advisory)}</td>
    <td>${f.severity}</td>
    <td>${f.cvss_score ?? '—'}${f.cvss_vector ? html`<br /><small><code>${f.cvss_vector}</code></small>` : ''}</td>
    <td>${f.package} <small>(${f.ecosystem})</small></td>
    <td>${f.installed_version}</td>
    <td>${f.fixed_version ?? 'no fix yet'}</td>
    <td><code>${f.layer.slice(0, 19)}…</code></td>
  </tr>`;
}

function filtered(details: readonly FindingDetail[], f: FindingFilter): FindingDetail[] {
  const needle = f.package.toLowerCase();
  const kept = details.filter(
    (d) =>
      (f.severity === '' || d.severity === f.severity) &&
      (!f.fixable || d.fixed_version !== null) &&
      (needle === '' || d.package.toLowerCase().includes(needle)),
  );
  const bySeverity = (a: FindingDetail, b: FindingDetail) =>
    (RANK[a.severity] ?? 9) - (RANK[b.severity] ?? 9);
  const sorters = {
    severity: (a: FindingDetail, b: FindingDetail) =>
      bySeverity(a, b) || (b.cvss_score ?? 0) - (a.cvss_score ?? 0),
    cvss: (a: FindingDetail, b: FindingDetail) =>
      (b.cvss_score ?? -1) - (a.cvss_score ?? -1) || bySeverity(a, b),
    package: (a: FindingDetail, b: FindingDetail) =>
      a.package < b.package ? -1 : a.package > b.package ? 1 : bySeverity(a, b),
  };
  return kept.sort(sorters[f.sort]);
}
