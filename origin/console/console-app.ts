// The web console under /ui/ (its routes are absolute: mounted at the root, Hono tells /ui/ from /ui): server-rendered pages over the same domain as the API, a session
// cookie for the registry's own users, CSRF tokens on every change, and a CSP that allows no
// inline script. Each page authorizes as the API does: pull to see a repository.
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ociError } from '../../shared/errors.ts';
import { parseManifest, scanSubject } from '../../shared/manifest.ts';
import { isRepositoryName, isTag } from '../../shared/reference.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import { checkLogin } from '../http/authorize.ts';
import type { AppEnv } from '../http/context.ts';
import type { RepositorySummary } from '../registry/repositories.ts';
import { decodeTagCursor, encodeTagCursor, type TagOrder } from '../registry/tag-details.ts';
import type { Services } from '../services.ts';
import { registerAdminConsole } from './console-admin.ts';
import { randomToken, SESSION_MS, sameToken } from './console-sessions.ts';
import {
  type ConsoleContext,
  formTokenMatches,
  refusal,
  render,
  SESSION_COOKIE,
  type Visit,
  visitOf,
} from './console-visit.ts';
import { readImageConfig } from './image-config.ts';
import { type FindingFilter, type ImageView, imageHref, imagePage } from './image-page.ts';
import { loginPage } from './login-page.ts';
import { repositoriesPage, repositoryHref } from './repositories-page.ts';
import { type RepositoryView, repositoryPage } from './repository-page.ts';

/** The sign-in form's double-submit token, before a session exists. */
const LOGIN_CSRF_COOKIE = 'registry_login_csrf';
const PAGE_SIZE = 50;
/** Repositories sorted by something other than their name: at most this many are considered. */
const MAX_SORTED = 20_000;
/** How long the summaries sorted by last push or size are reused. */
const SUMMARY_TTL_MS = 30_000;

/** No inline script or style, nothing from elsewhere, never framed. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  'console.css': { type: 'text/css; charset=utf-8', body: asset('console.css') },
  'console.js': { type: 'text/javascript; charset=utf-8', body: asset('console.js') },
};

function asset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
}

export function consoleApp(s: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // Served over HTTPS here, or behind a TLS proxy or the edge (the public URL says so).
  const secure = s.config.http.tls !== undefined || new URL(s.config.http.public_url).protocol === 'https:';

  app.use('/ui/*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  const visit = (c: ConsoleContext) => visitOf(s, c);

  // Sorting by last push or size reads every repository's summary: read once per SUMMARY_TTL_MS for
  // all visitors (then filtered by what each may see), not on every request or keystroke.
  let summaries: { at: number; all: Promise<RepositorySummary[]> } | undefined;
  const everySummary = (): Promise<RepositorySummary[]> => {
    const now = s.clock.now();
    if (!summaries || now - summaries.at > SUMMARY_TTL_MS) {
      const all = s.repositories.summaries({ after: undefined, limit: MAX_SORTED });
      summaries = { at: now, all };
      all.catch(() => {
        if (summaries?.all === all) summaries = undefined;
      });
    }
    return summaries.all;
  };

  app.get('/ui/assets/:name', (c) => {
    const file = ASSETS[c.req.param('name')];
    if (!file) return c.text('not found', 404);
    return c.body(file.body, 200, { 'Content-Type': file.type, 'Cache-Control': 'public, max-age=300' });
  });

  app.get('/ui/login', async (c) => {
    const v = await visit(c);
    const csrf = randomToken();
    setCookie(c, LOGIN_CSRF_COOKIE, csrf, { httpOnly: true, secure, sameSite: 'Strict', path: '/ui/' });
    return render(c, loginPage(v.viewer, csrf, null));
  });

  app.post('/ui/login', async (c) => {
    const v = await visit(c);
    const form = await c.req.parseBody();
    const user = typeof form.user === 'string' ? form.user : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const cookie = getCookie(c, LOGIN_CSRF_COOKIE);
    const fresh = randomToken();
    setCookie(c, LOGIN_CSRF_COOKIE, fresh, { httpOnly: true, secure, sameSite: 'Strict', path: '/ui/' });
    const again = (text: string, status: 400 | 403 | 429 | 503) =>
      render(c, loginPage(v.viewer, fresh, text, user.slice(0, 256)), status);
    if (!cookie || typeof form.csrf !== 'string' || !sameToken(form.csrf, cookie)) {
      return again('The form expired: sign in again.', 403);
    }
    if (user.startsWith('robot$')) return again('Robot accounts cannot sign in to the console.', 403);
    const client = c.env.incoming.socket.remoteAddress ?? 'unknown';
    const incorrect = ociError('UNAUTHORIZED', { message: 'incorrect user or password' });
    const login = await checkLogin(s, user, password, client, incorrect);
    if (!login.ok) {
      if (login.error.code === 'TOOMANYREQUESTS') return again(login.error.message, 429);
      if (login.error.code === 'UNAVAILABLE') return again(login.error.message, 503);
      return again('Incorrect user or password.', 403);
    }
    const opened = await s.consoleSessions.open(user);
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: '/ui/', secure });
    setCookie(c, SESSION_COOKIE, opened.cookie, {
      httpOnly: true,
      secure,
      sameSite: 'Strict',
      path: '/',
      maxAge: SESSION_MS / 1000,
    });
    return c.redirect('/ui/', 303);
  });

  app.post('/ui/logout', async (c) => {
    const v = await visit(c);
    const form = await c.req.parseBody();
    if (v.session && (typeof form.csrf !== 'string' || !sameToken(form.csrf, v.session.csrf))) {
      return refusal(c, v, 403, 'The form expired: reload the page and try again.');
    }
    await s.consoleSessions.close(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure });
    return c.redirect('/ui/', 303);
  });

  app.get('/ui/', async (c) => {
    const v = await visit(c);
    // Outside text: what the database cannot hold (a NUL) matches nothing, as it could not be a name.
    const match = storable(c.req.query('q')).slice(0, 256);
    const order = oneOf(c.req.query('sort'), ['name', 'pushed', 'size'] as const, 'name');
    const visible = (name: string) => v.can(name, 'pull');
    const base = { ...(match ? { q: match } : {}), ...(order === 'name' ? {} : { sort: order }) };
    let repositories: RepositorySummary[];
    let next: string | null = null;
    if (order === 'name') {
      // By name: the page's names, read in order (a cursor), then their summaries.
      const after = storable(c.req.query('after')) || undefined;
      const names = await s.repositories.list(PAGE_SIZE, after, visible, match || undefined);
      const shown = names.slice(0, PAGE_SIZE);
      repositories = await s.repositories.summaries({ names: shown });
      const last = shown.at(-1);
      if (names.length > PAGE_SIZE && last) next = new URLSearchParams({ ...base, after: last }).toString();
    } else {
      // By last push or size: every visible repository is summarised, sorted, and a page cut.
      const all = (await everySummary()).filter((r) => visible(r.name) && r.name.includes(match));
      const key = (r: RepositorySummary) => (order === 'size' ? r.size : (r.lastPushedAt?.getTime() ?? 0));
      all.sort((a, b) => key(b) - key(a) || (a.name < b.name ? -1 : 1));
      const offset = Math.max(0, Number.parseInt(c.req.query('page') ?? '0', 10) || 0) * PAGE_SIZE;
      repositories = all.slice(offset, offset + PAGE_SIZE);
      if (all.length > offset + PAGE_SIZE)
        next = new URLSearchParams({ ...base, page: String(offset / PAGE_SIZE + 1) }).toString();
    }
    return render(c, repositoriesPage(v.viewer, { repositories, match, order, next }));
  });

  app.get('/ui/r/*', async (c) => {
    const v = await visit(c);
    const target = parseTarget(c.req.path);
    // Not allowed and absent look alike: a page must not tell which names exist.
    const hidden = () => refusal(c, v, 404, 'No such repository or image, or you may not see it.');
    if (target === null || !v.can(target.name, 'pull')) return hidden();
    if (target.reference === null) {
      const order = c.req.query('sort') === 'name' ? 'name' : 'pushed_at';
      // Only a tag's name is ever said back: no link can put words of its own on the page.
      const deleted = c.req.query('deleted') ?? '';
      const message = isTag(deleted) ? { kind: 'info' as const, text: `Deleted the tag ${deleted}.` } : null;
      return repository(c, v, target.name, order, c.req.query('after'), message);
    }
    const view = await imageView(s, target.name, target.reference, v.can(target.name, 'push'), {
      severity: oneOf(c.req.query('severity'), ['critical', 'high', 'medium', 'low', 'unknown'], ''),
      fixable: c.req.query('fixable') === 'yes',
      package: (c.req.query('package') ?? '').slice(0, 256),
      sort: oneOf(c.req.query('sort'), ['severity', 'cvss', 'package'] as const, 'severity'),
    });
    if (!view) return hidden();
    return render(c, imagePage(v.viewer, view));
  });

  app.post('/ui/r/*', async (c) => {
    const v = await visit(c);
    const path = c.req.path;
    const action = path.endsWith('/scan') ? 'scan' : path.endsWith('/delete') ? 'delete' : null;
    const target = action ? parseTarget(path.slice(0, path.lastIndexOf('/'))) : null;
    const hidden = () => refusal(c, v, 404, 'No such repository or image, or you may not see it.');
    if (target === null || target.reference === null || !v.can(target.name, 'pull')) return hidden();
    const form = await c.req.parseBody();
    if (!formTokenMatches(v, form)) {
      return refusal(c, v, 403, 'The form expired: reload the page and try again.');
    }
    if (action === 'delete') {
      if (!v.can(target.name, 'delete')) return refusal(c, v, 403, 'Deleting needs delete permission.');
      const removed = await s.manifests.delete(target.name, target.reference, v.actor);
      if (!removed.ok) {
        const message = { kind: 'error' as const, text: removed.error.message };
        return repository(c, v, target.name, 'pushed_at', undefined, message, 403);
      }
      const query = new URLSearchParams({ deleted: target.reference });
      return c.redirect(`${repositoryHref(target.name)}?${query}`, 303);
    }
    if (!v.can(target.name, 'push')) return refusal(c, v, 403, 'Scanning needs push permission.');
    const stored = await s.manifests.get(target.name, target.reference);
    if (!stored.ok) return hidden();
    const parsed = parseManifest(stored.value.bytes, stored.value.record.mediaType);
    if (parsed.ok) await s.scans.request(target.name, stored.value.record.digest, scanSubject(parsed.value));
    return c.redirect(imageHref(target.name, stored.value.record.digest), 303);
  });

  async function repository(
    c: ConsoleContext,
    v: Visit,
    name: string,
    order: TagOrder,
    after: string | undefined,
    message: RepositoryView['message'],
    status: 200 | 403 = 200,
  ): Promise<Response> {
    const cursor = after ? (decodeTagCursor(after, order) ?? undefined) : undefined;
    const listed = await s.tagDetails.page(name, order, cursor, PAGE_SIZE);
    if (!listed.ok) return refusal(c, v, 404, 'No such repository or image, or you may not see it.');
    const next = listed.value.next
      ? new URLSearchParams({
          ...(order === 'name' ? { sort: 'name' } : {}),
          after: encodeTagCursor(listed.value.next),
        }).toString()
      : null;
    const view: RepositoryView = {
      name,
      tags: listed.value.tags,
      order,
      next,
      pullHost: new URL(s.config.http.public_url).host,
      canDelete: v.can(name, 'delete'),
      message,
    };
    return render(c, repositoryPage(v.viewer, view), status);
  }

  registerAdminConsole(app, s);
  app.get('/ui', (c) => c.redirect('/ui/', 301));
  return app;
}

/** /ui/r/NAME, /ui/r/NAME:TAG or /ui/r/NAME@DIGEST: a repository, or an image in it. */
function parseTarget(path: string): { name: string; reference: string | null } | null {
  let rest: string;
  try {
    rest = decodeURIComponent(path.slice('/ui/r/'.length));
  } catch {
    return null;
  }
  const at = rest.indexOf('@');
  const slash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', slash + 1);
  const cut = at >= 0 ? at : colon;
  const name = cut >= 0 ? rest.slice(0, cut) : rest;
  const reference = cut >= 0 ? rest.slice(cut + 1) : null;
  if (!isRepositoryName(name) || reference === '') return null;
  return { name, reference };
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.find((a) => a === value) ?? fallback;
}

/** Largest image config the image page reads. */
const CONFIG_LIMIT = 1024 * 1024;

async function imageView(
  s: Services,
  repository: string,
  reference: string,
  canScan: boolean,
  filter: FindingFilter,
): Promise<ImageView | null> {
  const stored = await s.manifests.get(repository, reference);
  if (!stored.ok) return null;
  const { record, bytes } = stored.value;
  const parsed = parseManifest(bytes, record.mediaType);
  if (!parsed.ok) return null;
  const manifest = parsed.value;
  const subject = scanSubject(manifest);
  const layers =
    manifest.kind === 'image-manifest'
      ? manifest.layers.map((l) => ({ digest: l.digest, size: l.size }))
      : null;
  const configBytes =
    manifest.kind === 'image-manifest'
      ? await s.blobs.content(repository, manifest.config.digest, CONFIG_LIMIT)
      : null;
  const referrers = JSON.parse(await s.manifests.referrers(repository, record.digest, undefined)) as {
    manifests: { digest: string; size: number; artifactType?: string }[];
  };
  const decision = await s.policy.check({
    repository,
    digest: record.digest,
    mediaType: record.mediaType,
    bytes,
  });
  return {
    repository,
    digest: record.digest,
    mediaType: record.mediaType,
    size: record.size,
    platforms: subject.kind === 'index' ? subject.children : null,
    layers,
    config: configBytes && layers ? readImageConfig(configBytes, layers.length) : null,
    referrers: referrers.manifests.map((r) => ({
      digest: r.digest,
      size: r.size,
      artifactType: r.artifactType ?? null,
    })),
    report: subject.kind === 'artifact' ? null : await s.scans.report(record.digest, subject, false),
    blocked: decision.allowed ? null : decision.message,
    canScan: canScan && subject.kind !== 'artifact',
    filter,
  };
}

const storable = (value: string | undefined): string =>
  value !== undefined && isStorableText(value) ? value : '';
