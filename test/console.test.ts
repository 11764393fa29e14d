// The web console (/ui/): sign-in with the registry's users and its throttle, session cookies and
// CSRF tokens, pages authorized as the API is, a CSP with no inline script; driven over HTTP and in
// headless Chromium (Debian's chromium, playwright-core), with an accessibility check (axe-core).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, OCI_MANIFEST, pushBlob, pushImage, sha256 } from './harness/client.ts';
import { buildImage, pushImage as pushBuiltImage } from './harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';
import { FIXTURES as OSV, zipDirectory } from './vulndb/db.ts';

const CHROMIUM = '/usr/bin/chromium';
/** Where the README's screenshots of the console are written by the run. */
const SCREENSHOTS = {
  repositories: path.resolve('docs/console/repositories.png'),
  image: path.resolve('docs/console/image.png'),
};

let registry: TestRegistry;
let browser: Browser;

beforeAll(async () => {
  const [adminHash, teamHash] = await Promise.all([hashPassword('secret'), hashPassword('team-password')]);
  registry = await startTestRegistry({
    config: {
      scan: { poll_interval: '200ms' },
      policy: { refresh_interval: '200ms' },
      auth: {
        users: [
          { name: 'admin', password_hash: adminHash },
          { name: 'teamer', password_hash: teamHash },
        ],
        admins: ['admin'],
        access: [
          { prefix: '', users: ['admin'], actions: ['pull', 'push', 'delete'] },
          { prefix: 'team/', users: ['teamer'], actions: ['pull'] },
          { prefix: 'public/', anonymous: true, actions: ['pull'] },
        ],
      },
    },
  });
  for (const name of ['team/api', 'team/web', 'secret/keys', 'public/base'])
    await pushImage(registry, name, 'v1');
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-background-networking'],
    });
  } catch (error) {
    throw new Error(`the console tests drive Chromium: apt-get install chromium (${String(error)})`);
  }
});
afterAll(async () => {
  await browser?.close();
  await registry?.close();
});

/** A browser-like client over fetch: keeps cookies, follows nothing. */
class Visitor {
  private readonly cookies = new Map<string, string>();

  async get(path: string): Promise<Response> {
    return this.send('GET', path);
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.send('POST', path, new URLSearchParams(form));
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async signIn(user: string, password: string): Promise<Response> {
    const form = await this.get('/ui/login');
    const csrf = csrfOf(await form.text());
    return this.post('/ui/login', { csrf, user, password });
  }

  private async send(method: string, path: string, body?: URLSearchParams): Promise<Response> {
    const headers = new Headers({ Accept: 'text/html' });
    if (this.cookies.size > 0)
      headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(`${registry.url}${path}`, { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }
}

function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no CSRF token in the page: ${html.slice(0, 500)}`);
  return match[1];
}

describe('sign-in and sessions', () => {
  test('a right password opens a session: HttpOnly, SameSite=Strict cookie; the page names the user', async () => {
    const v = new Visitor();
    const response = await v.signIn('teamer', 'team-password');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/ui/');
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('registry_session='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // served over plain HTTP here
    const home = await (await v.get('/ui/')).text();
    expect(home).toContain('teamer');
    expect(home).toContain('Sign out');
  });

  test('a wrong password, a robot name and a missing or forged CSRF token are refused', async () => {
    const v = new Visitor();
    const wrong = await v.signIn('teamer', 'nope');
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('Incorrect user or password.');
    expect(v.cookie('registry_session')).toBeUndefined();

    const form = await v.get('/ui/login');
    const csrf = csrfOf(await form.text());
    const forged = await v.post('/ui/login', { csrf: `${csrf}x`, user: 'teamer', password: 'team-password' });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('The form expired');
    // Another site's form: no cookie of ours comes with it.
    const crossSite = await fetch(`${registry.url}/ui/login`, {
      method: 'POST',
      body: new URLSearchParams({ csrf, user: 'teamer', password: 'team-password' }),
      redirect: 'manual',
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.getSetCookie().some((c) => c.startsWith('registry_session='))).toBe(false);

    const robot = await v.signIn('robot$ci', 'whatever');
    expect(robot.status).toBe(403);
    expect(await robot.text()).toContain('Robot accounts cannot sign in');
  });

  test('logout needs the session CSRF token, then ends the session for good', async () => {
    const v = new Visitor();
    await v.signIn('teamer', 'team-password');
    const session = v.cookie('registry_session') as string;
    expect((await v.post('/ui/logout', { csrf: 'forged' })).status).toBe(403);
    expect(await (await v.get('/ui/')).text()).toContain('teamer');
    const home = await (await v.get('/ui/')).text();
    const out = await v.post('/ui/logout', { csrf: csrfOf(home) });
    expect(out.status).toBe(303);
    // The old cookie, replayed, is nobody.
    const replay = await fetch(`${registry.url}/ui/`, { headers: { Cookie: `registry_session=${session}` } });
    expect(await replay.text()).not.toContain('teamer');
  });
});

describe('what each visitor sees', () => {
  const names = (html: string) =>
    [...html.matchAll(/<td><a href="\/ui\/r\/[^"]+">([^<]+)<\/a><\/td>/g)].map((m) => m[1]);

  test('repositories: anonymous sees the public ones, a team member theirs, the admin all', async () => {
    expect(names(await (await new Visitor().get('/ui/')).text())).toEqual(['public/base']);
    const team = new Visitor();
    await team.signIn('teamer', 'team-password');
    expect(names(await (await team.get('/ui/')).text())).toEqual(['public/base', 'team/api', 'team/web']);
    const admin = new Visitor();
    await admin.signIn('admin', 'secret');
    expect(names(await (await admin.get('/ui/')).text())).toEqual([
      'public/base',
      'secret/keys',
      'team/api',
      'team/web',
    ]);
    expect(names(await (await admin.get('/ui/?q=eam/')).text())).toEqual(['team/api', 'team/web']);
    // LIKE's wildcards are plain characters in a search.
    expect(names(await (await admin.get('/ui/?q=%25')).text())).toEqual([]);
  });

  test('repositories sorted by size, largest first, with their tag counts and sizes', async () => {
    await pushImage(registry, 'public/big', 'v1', { layers: ['x'.repeat(50_000)] });
    await pushImage(registry, 'public/big', 'v2', { layers: ['y'.repeat(20_000)] });
    const page = await (await new Visitor().get('/ui/?sort=size')).text();
    expect(names(page)).toEqual(['public/big', 'public/base']);
    expect(page).toMatch(/public\/big<\/a><\/td>\s*<td>2<\/td>\s*<td>70\.\d kB<\/td>/);
  });

  test('a repository one may not pull is "not found", like one that does not exist', async () => {
    const team = new Visitor();
    await team.signIn('teamer', 'team-password');
    const hidden = await team.get('/ui/r/secret/keys');
    const absent = await team.get('/ui/r/team/none');
    expect(hidden.status).toBe(404);
    expect(absent.status).toBe(404);
    expect(await hidden.text()).toBe(await absent.text());
    const shown = await team.get('/ui/r/team/api');
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain(`docker pull ${new URL(registry.url).host}/team/api:v1`);
  });

  test('every page carries a CSP with no inline script, and is never cached', async () => {
    for (const path of ['/ui/', '/ui/login', '/ui/r/public/base', '/ui/r/missing']) {
      const response = await new Visitor().get(path);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('cache-control'), path).toBe('no-store');
      expect(await response.text(), path).not.toMatch(/<script>|<script [^>]*>[^<]/);
    }
    const browserHome = await fetch(`${registry.url}/`, {
      headers: { Accept: 'text/html' },
      redirect: 'manual',
    });
    expect(browserHome.status).toBe(302);
    expect(browserHome.headers.get('location')).toBe('/ui/');
  });
});

describe('a repository', () => {
  test('tags with digest, size, who pushed them; delete (with the CSRF token) only for those who may', async () => {
    const kept = await pushImage(registry, 'team/lifecycle', 'stable');
    await pushImage(registry, 'team/lifecycle', 'old');
    const team = new Visitor();
    await team.signIn('teamer', 'team-password');
    const seen = await (await team.get('/ui/r/team/lifecycle')).text();
    expect(seen).toContain(kept.digest);
    expect(seen).toMatch(/by admin/);
    expect(seen).not.toContain('Delete the tag');
    expect((await team.post('/ui/r/team/lifecycle:old/delete', { csrf: csrfOf(seen) })).status).toBe(403);

    const admin = new Visitor();
    await admin.signIn('admin', 'secret');
    const page = await (await admin.get('/ui/r/team/lifecycle')).text();
    expect(page).toContain('Delete the tag old');
    // Newest push first.
    expect(page.indexOf('>old</a>')).toBeLessThan(page.indexOf('>stable</a>'));
    expect((await admin.post('/ui/r/team/lifecycle:old/delete', { csrf: 'forged' })).status).toBe(403);
    const deleted = await admin.post('/ui/r/team/lifecycle:old/delete', { csrf: csrfOf(page) });
    expect(deleted.status).toBe(303);
    const after = await (await admin.get(deleted.headers.get('location') as string)).text();
    expect(after).toContain('Deleted the tag old.');
    expect(after).not.toContain('>old</a>');
    expect((await call(registry, 'GET', '/v2/team/lifecycle/manifests/old')).status).toBe(404);
    expect((await call(registry, 'GET', '/v2/team/lifecycle/manifests/stable')).status).toBe(200);
  });
});

describe('an image', () => {
  /** An image whose config tells how its two layers were made, and a signature referring to it. */
  async function pushDescribedImage(): Promise<{ digest: string; layers: string[] }> {
    const { digest, manifest, layers } = await pushImage(registry, 'team/described', 'v1', {
      layers: ['first layer', 'second layer, longer'],
      config: {
        architecture: 'arm64',
        os: 'linux',
        config: { Env: ['PATH=/usr/bin', 'MODE=<b>prod</b>'], Entrypoint: ['/app'], Labels: { team: 'api' } },
        rootfs: { type: 'layers', diff_ids: [] },
        history: [
          { created_by: 'ADD rootfs.tar /' },
          { created_by: 'ENV MODE=prod', empty_layer: true },
          { created_by: 'COPY app /app' },
        ],
      },
    });
    const empty = await pushBlob(registry, 'team/described', '{}');
    const signature = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 }],
      subject: { mediaType: OCI_MANIFEST, digest, size: manifest.length },
    });
    const put = await call(registry, 'PUT', `/v2/team/described/manifests/${sha256(signature)}`, {
      body: signature,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(put.status).toBe(201);
    return { digest, layers };
  }

  test('layers with the commands that made them, config, referrers, pull verdict; by tag and by digest', async () => {
    const { digest } = await pushDescribedImage();
    const team = new Visitor();
    await team.signIn('teamer', 'team-password');
    const byTag = await team.get('/ui/r/team/described:v1');
    expect(byTag.status).toBe(200);
    const body = await byTag.text();
    expect(body).toContain(digest);
    expect(body).toMatch(/<td>1<\/td><td>11 B<\/td><td><code>ADD rootfs.tar \/<\/code>/);
    expect(body).toMatch(/<td>2<\/td><td>20 B<\/td><td><code>COPY app \/app<\/code>/);
    expect(body).toContain('linux/arm64');
    // Config values are outside text: escaped, never markup.
    expect(body).toContain('MODE=&lt;b&gt;prod&lt;/b&gt;');
    expect(body).toContain('team=api');
    expect(body).toContain('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(body).toContain('allowed by the pull policy');
    // Pull-only: no rescan button; and a forged post is refused.
    expect(body).not.toContain('Rescan');
    const refused = await team.post(`/ui/r/team/described@${digest}/scan`, { csrf: csrfOf(body) });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Scanning needs push permission.');

    const admin = new Visitor();
    await admin.signIn('admin', 'secret');
    const byDigest = await (await admin.get(`/ui/r/team/described@${digest}`)).text();
    expect(byDigest).toContain('Rescan');
    expect((await admin.post(`/ui/r/team/described@${digest}/scan`, { csrf: 'forged' })).status).toBe(403);
    const rescan = await admin.post(`/ui/r/team/described@${digest}/scan`, { csrf: csrfOf(byDigest) });
    expect(rescan.status).toBe(303);
    expect(rescan.headers.get('location')).toBe(`/ui/r/team/described@${digest}`);
    const scan = await call(registry, 'GET', `/v2/team/described/manifests/${digest}/scan`);
    expect(['pending', 'completed', 'failed']).toContain(((await scan.json()) as { status: string }).status);
  });
});

describe('in Chromium', () => {
  async function openPage(): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    return { page, problems };
  }

  test('sign in, search as you type, open a repository; no script error, no CSP violation', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${registry.url}/ui/login`);
    await page.getByLabel('User').fill('admin');
    await page.getByLabel('Password').fill('secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${registry.url}/ui/`);
    await expect(page.getByRole('link', { name: 'secret/keys' }).count()).resolves.toBe(1);

    // Typed, not submitted: the list narrows by itself.
    await page.getByLabel('Search repositories').pressSequentially('team');
    await page.waitForFunction(() => {
      const items = [...document.querySelectorAll('table.repositories tbody tr')];
      return (
        items.length > 0 && items.every((tr) => tr.querySelector('td')?.textContent?.startsWith('team/'))
      );
    });
    expect(page.url()).toContain('q=team');

    await page.getByRole('link', { name: 'team/web' }).click();
    await page.waitForURL(/\/ui\/r\/team\/web$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('team/web');
    expect(problems).toEqual([]);
    await page.context().close();
  });

  test('the pages pass an axe-core accessibility check (WCAG 2 A and AA), at laptop and phone widths', async () => {
    const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    for (const width of [1280, 390]) {
      // axe is injected as an inline script: only this check's context ignores the CSP for it.
      const context = await browser.newContext({ bypassCSP: true, viewport: { width, height: 800 } });
      const page = await context.newPage();
      for (const path of ['/ui/login', '/ui/', '/ui/r/public/base']) {
        await page.goto(`${registry.url}${path}`);
        await page.addScriptTag({ content: axe });
        const violations = await page.evaluate(async () => {
          const result = await (
            window as unknown as {
              axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: unknown[] }[] }> };
            }
          ).axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
          return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
        });
        expect(violations, `${path} at ${width}px`).toEqual([]);
      }
      await context.close();
    }
  });
});

describe('administration', () => {
  test('a pull-only user sees no admin page and cannot post to one; a forged form is refused', async () => {
    const team = new Visitor();
    await team.signIn('teamer', 'team-password');
    const home = await (await team.get('/ui/')).text();
    expect(home).not.toContain('href="/ui/admin"');
    for (const page of ['/ui/admin', '/ui/admin/policies', '/ui/admin/retention', '/ui/admin/audit']) {
      const response = await team.get(page);
      expect(response.status, page).toBe(403);
      expect(await response.text(), page).toContain('Administrators only.');
      expect((await new Visitor().get(page)).status, page).toBe(403);
    }
    const posted = await team.post('/ui/admin/policies', {
      csrf: csrfOf(home),
      prefix: '',
      threshold: 'low',
    });
    expect(posted.status).toBe(403);
    const admin = new Visitor();
    await admin.signIn('admin', 'secret');
    expect(
      (await admin.post('/ui/admin/policies', { csrf: 'forged', prefix: '', threshold: 'low' })).status,
    ).toBe(403);
    expect(
      ((await (await call(registry, 'GET', '/admin/policies')).json()) as { policies: unknown[] }).policies,
    ).toEqual([]);
    // Bad input is said in words, with the API's own checks.
    const page = await (await admin.get('/ui/admin/policies')).text();
    const bad = await admin.post('/ui/admin/policies', {
      csrf: csrfOf(page),
      prefix: 'x',
      threshold: 'dire',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('threshold');
  });

  test('in Chromium: a policy set in the console refuses the pull; an allowlist entry lets it through; the audit trail shows both', async () => {
    const work = mkdtempSync(path.join(tmpdir(), 'console-admin-'));
    try {
      const alpine = path.resolve('test/fixtures/images/alpine-3.14');
      const image = buildImage({
        layers: [
          {
            'etc/os-release': readFileSync(path.join(alpine, 'os-release'), 'utf8'),
            'lib/apk/db/installed': readFileSync(path.join(alpine, 'installed'), 'utf8'),
          },
        ],
      });
      zipDirectory(OSV, path.join(work, 'all.zip'));
      const imported = await call(registry, 'POST', '/admin/vulndb/import', {
        headers: { 'Content-Type': 'application/zip' },
        body: readFileSync(path.join(work, 'all.zip')),
      });
      expect(imported.status).toBe(200);
      await pushBuiltImage(registry, 'vuln/alpine', image, 'v1');
      let findings: { id: string; severity: string }[] = [];
      await expect
        .poll(
          async () => {
            const report = (await (
              await call(registry, 'GET', '/v2/vuln/alpine/manifests/v1/scan')
            ).json()) as {
              status: string;
              details: { id: string; severity: string }[];
            };
            findings = report.details;
            return report.status;
          },
          { timeout: 60_000, interval: 100 },
        )
        .toBe('completed');
      const critical = findings.filter((f) => f.severity === 'critical').map((f) => f.id);
      expect(critical.length).toBeGreaterThan(0);

      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${registry.url}/ui/login`);
      await page.getByLabel('User').fill('admin');
      await page.getByLabel('Password').fill('secret');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${registry.url}/ui/`);

      // The image page lists its findings; filtered to critical, only those.
      await page.goto(`${registry.url}/ui/r/vuln/alpine:v1`);
      await page.getByLabel('Severity').selectOption('critical');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/severity=critical/);
      await expect(page.locator('table.findings tbody tr').count()).resolves.toBe(critical.length);
      // The README's screenshots, made here so that they show the console as it is.
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.screenshot({ path: SCREENSHOTS.image });
      await page.goto(`${registry.url}/ui/`);
      await page.screenshot({ path: SCREENSHOTS.repositories });

      await page.goto(`${registry.url}/ui/admin/policies`);
      await page.getByLabel('Repository prefix (empty: every repository)').first().fill('vuln/');
      await page.getByLabel('Block images with findings of this severity or worse').selectOption('critical');
      await page.getByRole('button', { name: 'Set policy' }).click();
      await page.waitForURL(/done=policy-set/);
      await expect(page.getByText('The policy is set').count()).resolves.toBe(1);
      await expect
        .poll(async () => (await call(registry, 'GET', '/v2/vuln/alpine/manifests/v1')).status, {
          timeout: 10_000,
        })
        .toBe(403);

      for (const id of critical) {
        await page.locator('#allow-prefix').fill('vuln/');
        await page.getByLabel('Vulnerability (CVE or advisory id)').fill(id);
        await page.getByLabel('Reason').fill('not reachable in this image');
        await page.getByRole('button', { name: 'Allow' }).click();
        await page.waitForURL(/done=allowed/);
      }
      await expect
        .poll(async () => (await call(registry, 'GET', '/v2/vuln/alpine/manifests/v1')).status, {
          timeout: 10_000,
        })
        .toBe(200);

      await page.goto(`${registry.url}/ui/admin/audit?user=admin`);
      const audit = await page.locator('table tbody').textContent();
      expect(audit).toContain('policy.set');
      expect(audit).toContain('allowlist.add');
      await context.close();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('retention: the preview lists what would go and why; apply removes exactly that', async () => {
    for (const tag of ['ci-1', 'ci-2', 'ci-3', 'stable']) await pushImage(registry, 'public/ci', tag);
    const rule = { prefix: 'public/ci', only_tags: ['ci-*'], keep_last: 1 };
    const put = await call(registry, 'PUT', '/admin/retention', {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(rule),
    });
    expect(put.status, await put.clone().text()).toBeLessThan(300);
    const admin = new Visitor();
    await admin.signIn('admin', 'secret');
    const preview = await (await admin.get('/ui/admin/retention')).text();
    const listed = [...preview.matchAll(/<tr><td>public\/ci<\/td><td>([^<]+)<\/td>/g)]
      .map((m) => m[1])
      .sort();
    expect(listed).toEqual(['ci-1', 'ci-2']);
    expect(preview).toContain('not among the 1 newest');
    const applied = await admin.post('/ui/admin/retention/apply', { csrf: csrfOf(preview) });
    expect(applied.status).toBe(200);
    expect(await applied.text()).toContain('Removed 2 items');
    const tags = (await (await call(registry, 'GET', '/v2/public/ci/tags/list')).json()) as {
      tags: string[];
    };
    expect(tags.tags.sort()).toEqual(['ci-3', 'stable']);
    // The removals are the administrator's, in the audit trail.
    const audit = (await (
      await call(registry, 'GET', '/admin/audit?repository=public/ci&limit=2')
    ).json()) as {
      entries: { action: string; user: string | null }[];
    };
    expect(audit.entries.map((e) => [e.action, e.user])).toEqual([
      ['delete', 'admin'],
      ['delete', 'admin'],
    ]);
    await call(registry, 'DELETE', '/admin/retention?prefix=public/ci');
  });
});
