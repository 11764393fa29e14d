// The repositories a visitor may pull from, searched by name (as they type: console.js submits the
// form), a page at a time.
import { html } from 'hono/html';
import { type Markup, page, type Viewer } from './layout.ts';

export interface RepositoriesView {
  readonly names: readonly string[];
  readonly match: string;
  /** The cursor of the next page, when there is one. */
  readonly next: string | null;
}

export function repositoriesPage(viewer: Viewer, view: RepositoriesView): Markup {
  const nextHref = view.next
    ? `/ui/?${new URLSearchParams({ ...(view.match ? { q: view.match } : {}), after: view.next })}`
    : null;
  return page(
    'Repositories',
    viewer,
    html`<h1>Repositories</h1>
      <form method="get" action="/ui/" role="search" class="search" data-live-search>
        <label for="q">Search repositories</label>
        <input id="q" name="q" type="search" value="${view.match}" autocomplete="off" />
        <button type="submit">Search</button>
      </form>
      <div data-results>
      ${
        view.names.length === 0
          ? html`<p class="empty">${view.match ? 'No repository matches.' : viewer.user === null ? 'Nothing is public here: sign in to see more.' : 'No repositories yet.'}</p>`
          : html`<ul class="repositories">
              ${view.names.map((name) => html`<li><a href="${repositoryHref(name)}">${name}</a></li>`)}
            </ul>`
      }
      ${nextHref ? html`<a class="next" rel="next" href="${nextHref}">Next page</a>` : ''}
      </div>`,
  );
}

export const repositoryHref = (name: string): string =>
  `/ui/r/${name.split('/').map(encodeURIComponent).join('/')}`;
