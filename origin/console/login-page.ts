// The sign-in form. Before a session exists, its CSRF token is a double-submit cookie: the form
// carries the value the cookie holds, which another site can neither read nor set.
import { html } from 'hono/html';
import { type Markup, notice, page, type Viewer } from './layout.ts';

export function loginPage(viewer: Viewer, csrf: string, error: string | null, user = ''): Markup {
  return page(
    'Sign in',
    viewer,
    html`<h1>Sign in</h1>
      ${error ? notice('error', error) : ''}
      <form method="post" action="/ui/login" class="stacked">
        <input type="hidden" name="csrf" value="${csrf}" />
        <label for="user">User</label>
        <input id="user" name="user" autocomplete="username" required value="${user}" autofocus />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>`,
  );
}
