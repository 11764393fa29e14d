// Who is looking at a console page, and what every console route needs: the visit (session, the
// viewer, their permissions), rendering with a status, a refusal page, and the CSRF check of a form.
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../http/context.ts';
import type { Actor } from '../registry/events.ts';
import type { Services } from '../services.ts';
import { type ConsoleSession, sameToken } from './console-sessions.ts';
import { type Markup, notice, page, type Viewer } from './layout.ts';

export const SESSION_COOKIE = 'registry_session';

export type ConsoleContext = Context<AppEnv>;
export type PageStatus = 200 | 400 | 403 | 404 | 429 | 503;

export interface Visit {
  readonly viewer: Viewer;
  readonly session: ConsoleSession | null;
  /** May this visitor do `action` on repository `name`? */
  can(name: string, action: 'pull' | 'push' | 'delete'): boolean;
  /** Who makes a write from this visit. */
  readonly actor: Actor;
}

export async function visitOf(s: Services, c: ConsoleContext): Promise<Visit> {
  let session = await s.consoleSessions.find(getCookie(c, SESSION_COOKIE));
  // A user removed since signing in is signed out.
  if (session && (await s.users.existing([session.user])).length === 0) session = null;
  const user = session?.user ?? null;
  const grantee = s.permissions.user(user);
  return {
    viewer: { user, admin: grantee.admin, csrf: session?.csrf ?? null },
    session,
    can: (name, action) => grantee.actionsFor(name).has(action),
    actor: { user, address: c.env.incoming.socket.remoteAddress ?? null },
  };
}

export const render = async (c: ConsoleContext, markup: Markup, status: PageStatus = 200) =>
  c.html(await markup, status);

export const refusal = (c: ConsoleContext, v: Visit, status: 403 | 404, text: string) =>
  render(c, page(status === 404 ? 'Not found' : 'Not allowed', v.viewer, notice('error', text)), status);

/** The form carries the session's CSRF token (a session exists: changes need one). */
export function formTokenMatches(v: Visit, form: Record<string, unknown>): boolean {
  return v.session !== null && typeof form.csrf === 'string' && sameToken(form.csrf, v.session.csrf);
}

/** A form field as text ('' when absent or a file). */
export const field = (form: Record<string, unknown>, name: string): string => {
  const value = form[name];
  return typeof value === 'string' ? value : '';
};
