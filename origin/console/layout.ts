// The console's page shell: head (assets from /ui/assets, no inline script or style: the CSP
// forbids them), the navigation for who is signed in, and the main content.
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface Viewer {
  /** null: an anonymous visitor. */
  readonly user: string | null;
  readonly admin: boolean;
  /** The session's CSRF token, carried by every form that changes something. */
  readonly csrf: string | null;
}

export function page(title: string, viewer: Viewer, main: Markup): Markup {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · registry</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/ui/assets/console.css" />
    <script src="/ui/assets/console.js" defer></script>
  </head>
  <body>
    <header>
      <nav aria-label="Main">
        <a href="/ui/" class="brand">registry</a>
        <a href="/ui/">Repositories</a>
        ${viewer.admin ? html`<a href="/ui/admin">Admin</a>` : ''}
        <span class="spacer"></span>
        ${
          viewer.user === null
            ? html`<a href="/ui/login">Sign in</a>`
            : html`<form method="post" action="/ui/logout" class="inline">
                <input type="hidden" name="csrf" value="${viewer.csrf ?? ''}" />
                <span class="who">${viewer.user}</span>
                <button type="submit">Sign out</button>
              </form>`
        }
      </nav>
    </header>
    <main id="main">${main}</main>
  </body>
</html>`;
}

/** A page's message to the visitor: what went wrong, in words. */
export function notice(kind: 'error' | 'info', text: string): Markup {
  return html`<p class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>`;
}
