// One repository: its tags, newest push first (or by name), each with its digest, platforms, size,
// who pushed it and when, its last pull, whether it is immutable, its scan, the line to pull it,
// and — for those who may delete — a delete button that asks first.
import { html } from 'hono/html';
import { formatBytes } from '../gc/format.ts';
import type { TagDetail, TagOrder } from '../registry/tag-details.ts';
import { type Markup, notice, page, type Viewer } from './layout.ts';
import { repositoryHref } from './repositories-page.ts';

export interface RepositoryView {
  readonly name: string;
  readonly tags: readonly TagDetail[];
  readonly order: TagOrder;
  /** The query of the next page, when there is one. */
  readonly next: string | null;
  /** host[:port] clients pull from. */
  readonly pullHost: string;
  readonly canDelete: boolean;
  /** What the last action said (a refused delete, for instance). */
  readonly message: { kind: 'error' | 'info'; text: string } | null;
}

const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
const when = (date: Date | null) =>
  date === null ? 'never' : date.toISOString().replace('T', ' ').slice(0, 19);

export function repositoryPage(viewer: Viewer, view: RepositoryView): Markup {
  const href = repositoryHref(view.name);
  return page(
    view.name,
    viewer,
    html`<p class="crumbs"><a href="/ui/">Repositories</a> /</p>
      <h1>${view.name}</h1>
      ${view.message ? notice(view.message.kind, view.message.text) : ''}
      <p>Sort: ${
        view.order === 'pushed_at'
          ? html`<strong>newest push</strong> · <a href="${href}?sort=name">name</a>`
          : html`<a href="${href}">newest push</a> · <strong>name</strong>`
      }</p>
      ${
        view.tags.length === 0
          ? html`<p class="empty">No tags.</p>`
          : html`<table class="tags">
              <caption>Tags</caption>
              <thead><tr>
                <th scope="col">Tag</th><th scope="col">Digest</th><th scope="col">Platforms</th>
                <th scope="col">Size</th><th scope="col">Pushed</th><th scope="col">Last pulled</th>
                <th scope="col">Scan</th><th scope="col">Pull</th>${view.canDelete ? html`<th scope="col">Delete</th>` : ''}
              </tr></thead>
              <tbody>${view.tags.map((t) => tagRow(viewer, view, t))}</tbody>
            </table>`
      }
      ${view.next ? html`<a class="next" rel="next" href="${href}?${view.next}">Next page</a>` : ''}`,
  );
}

function tagRow(viewer: Viewer, view: RepositoryView, t: TagDetail): Markup {
  const line = `docker pull ${view.pullHost}/${view.name}:${t.tag}`;
  const platforms =
    t.platforms?.map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')) ?? [];
  return html`<tr>
    <td><a href="${repositoryHref(view.name)}:${encodeURIComponent(t.tag)}">${t.tag}</a>${t.immutable ? html` <span class="chip" title="An immutable-tag rule protects it">immutable</span>` : ''}</td>
    <td><code>${t.digest.slice(0, 19)}…</code> <button type="button" class="copy" data-copy="${t.digest}" aria-label="Copy the digest of ${t.tag}">Copy</button></td>
    <td>${platforms.length > 0 ? platforms.join(', ') : '—'}</td>
    <td>${formatBytes(t.size)}</td>
    <td>${when(t.pushedAt)}${t.pushedBy ? html`<br /><small>by ${t.pushedBy}</small>` : ''}</td>
    <td>${when(t.lastPulledAt)}</td>
    <td>${scanCell(t)}</td>
    <td><button type="button" class="copy" data-copy="${line}" aria-label="Copy the pull command for ${t.tag}">Copy pull</button></td>
    ${
      view.canDelete
        ? html`<td>${
            t.immutable
              ? '—'
              : html`<form method="post" action="${repositoryHref(view.name)}:${encodeURIComponent(t.tag)}/delete" data-confirm="Delete the tag ${t.tag}?">
                  <input type="hidden" name="csrf" value="${viewer.csrf ?? ''}" />
                  <button type="submit" class="danger" aria-label="Delete the tag ${t.tag}">Delete</button>
                </form>`
          }</td>`
        : ''
    }
  </tr>`;
}

function scanCell(t: TagDetail): Markup | string {
  if (t.scan === null) return '—';
  const counts = SEVERITIES.filter((s) => (t.scan?.vulnerabilities[s] ?? 0) > 0).map(
    (s) => html`<span class="chip ${s}">${t.scan?.vulnerabilities[s]} ${s}</span> `,
  );
  return html`${t.scan.status}${counts.length > 0 ? html`<br />${counts}` : ''}${t.scan.blocked ? html`<br /><strong class="blocked">pull blocked</strong>` : ''}`;
}
