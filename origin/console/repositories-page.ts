// The repositories a visitor may pull from, searched by name (as they type: console.js fetches the
// results), sorted by name, last push or size, a page at a time.
import { html } from 'hono/html';
import { formatBytes } from '../gc/format.ts';
import type { RepositorySummary } from '../registry/repositories.ts';
import { type Markup, page, type Viewer } from './layout.ts';

export type RepositoryOrder = 'name' | 'pushed' | 'size';

export interface RepositoriesView {
  readonly repositories: readonly RepositorySummary[];
  readonly match: string;
  readonly order: RepositoryOrder;
  /** The query of the next page, when there is one. */
  readonly next: string | null;
}

const ORDERS: readonly [RepositoryOrder, string][] = [
  ['name', 'name'],
  ['pushed', 'last push'],
  ['size', 'size'],
];

export function repositoriesPage(viewer: Viewer, view: RepositoriesView): Markup {
  const query = (extra: Record<string, string>) =>
    `/ui/?${new URLSearchParams({ ...(view.match ? { q: view.match } : {}), ...extra })}`;
  return page(
    'Repositories',
    viewer,
    html`<h1>Repositories</h1>
      <form method="get" action="/ui/" role="search" class="search" data-live-search>
        <label for="q">Search repositories</label>
        <input id="q" name="q" type="search" value="${view.match}" autocomplete="off" />
        ${view.order === 'name' ? '' : html`<input type="hidden" name="sort" value="${view.order}" />`}
        <button type="submit">Search</button>
      </form>
      <div data-results>
      <p>Sort: ${ORDERS.map(
        ([order, label], i) =>
          html`${i > 0 ? ' · ' : ''}${order === view.order ? html`<strong>${label}</strong>` : html`<a href="${query(order === 'name' ? {} : { sort: order })}">${label}</a>`}`,
      )}</p>
      ${
        view.repositories.length === 0
          ? html`<p class="empty">${view.match ? 'No repository matches.' : viewer.user === null ? 'Nothing is public here: sign in to see more.' : 'No repositories yet.'}</p>`
          : html`<table class="repositories">
              <caption>Repositories</caption>
              <thead><tr><th scope="col">Name</th><th scope="col">Tags</th><th scope="col">Size</th><th scope="col">Last push</th></tr></thead>
              <tbody>${view.repositories.map(
                (r) => html`<tr>
                  <td><a href="${repositoryHref(r.name)}">${r.name}</a></td>
                  <td>${r.tags}</td>
                  <td>${formatBytes(r.size)}</td>
                  <td>${r.lastPushedAt ? r.lastPushedAt.toISOString().replace('T', ' ').slice(0, 19) : '—'}</td>
                </tr>`,
              )}</tbody>
            </table>`
      }
      ${view.next ? html`<a class="next" rel="next" href="/ui/?${view.next}">Next page</a>` : ''}
      </div>`,
  );
}

export const repositoryHref = (name: string): string =>
  `/ui/r/${name.split('/').map(encodeURIComponent).join('/')}`;
