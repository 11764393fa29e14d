// One repository: its tags, each with the line to pull it.
import { html } from 'hono/html';
import { type Markup, page, type Viewer } from './layout.ts';
import { repositoryHref } from './repositories-page.ts';

export interface RepositoryView {
  readonly name: string;
  readonly tags: readonly string[];
  /** host[:port] clients pull from. */
  readonly pullHost: string;
}

export function repositoryPage(viewer: Viewer, view: RepositoryView): Markup {
  return page(
    view.name,
    viewer,
    html`<p class="crumbs"><a href="/ui/">Repositories</a> /</p>
      <h1>${view.name}</h1>
      ${
        view.tags.length === 0
          ? html`<p class="empty">No tags.</p>`
          : html`<table class="tags">
              <caption>Tags</caption>
              <thead><tr><th scope="col">Tag</th><th scope="col">Pull</th></tr></thead>
              <tbody>
                ${view.tags.map((tag) => {
                  const line = `docker pull ${view.pullHost}/${view.name}:${tag}`;
                  return html`<tr>
                    <td><a href="${repositoryHref(view.name)}:${encodeURIComponent(tag)}">${tag}</a></td>
                    <td><code>${line}</code> <button type="button" class="copy" data-copy="${line}" aria-label="Copy the pull command for ${tag}">Copy</button></td>
                  </tr>`;
                })}
              </tbody>
            </table>`
      }`,
  );
}
