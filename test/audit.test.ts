// The audit trail: every write recorded, in its own transaction, with who made it and from where
// — pushes, tag moves and deletes by clients, GC's removals — read back through GET /admin/audit
// (filters, pages) and `registry audit export`. Runs on both engines: the entries are rows
// inserted in the write's transaction, and paged by id.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuditTrail } from '../origin/audit/audit-trail.ts';
import { hashPassword } from '../origin/auth/passwords.ts';
import { openDatabase } from '../origin/metadata/database.ts';
import { DomainEvents } from '../origin/registry/events.ts';
import { createCliData, runCli } from './harness/cli.ts';
import { call, errorCode, pushImage } from './harness/client.ts';
import { ShiftedClock } from './harness/clock.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** May push and delete everywhere, but is no administrator. */
const DEV = basic('dev', 'dev-password');

interface Entry {
  id: number;
  at: string;
  action: string;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  user: string | null;
  address: string | null;
  system: string | null;
  detail: Record<string, unknown>;
}

async function usersConfig() {
  const [adminHash, devHash] = await Promise.all([hashPassword('secret'), hashPassword('dev-password')]);
  return {
    users: [
      { name: 'admin', password_hash: adminHash },
      { name: 'dev', password_hash: devHash },
    ],
    access: [{ prefix: '', users: ['admin', 'dev'], actions: ['pull', 'push', 'delete'] }],
  };
}

const clock = new ShiftedClock();
let registry: TestRegistry;

beforeAll(async () => {
  registry = await startTestRegistry({ clock, config: { auth: await usersConfig() } });
});
afterAll(async () => registry?.close());

async function audit(query: string): Promise<{ entries: Entry[]; next: string | null }> {
  const response = await call(registry, 'GET', `/admin/audit${query}`);
  expect(response.status, await response.clone().text()).toBe(200);
  const link = response.headers.get('link');
  const next = link ? (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null) : null;
  expect(next === null, `Link: ${link}`).toBe(link === null);
  return { entries: ((await response.json()) as { entries: Entry[] }).entries, next };
}

describe('writes recorded', () => {
  test('push, tag move and delete, each with its user and address, newest first', async () => {
    const first = await pushImage(registry, 'audit/app', 'v1');
    const dev = { auth: DEV };
    const second = await pushImageAs(registry, 'audit/app', 'v1', DEV);
    expect((await call(registry, 'DELETE', `/v2/audit/app/manifests/${first.digest}`, dev)).status).toBe(202);

    const { entries } = await audit('?repository=audit/app');
    expect(entries.map((e) => [e.action, e.user, e.tag, e.digest])).toEqual([
      ['delete', 'dev', null, first.digest],
      ['tag', 'dev', 'v1', second],
      ['push', 'dev', 'v1', second],
      ['tag', 'admin', 'scratch-v1', second],
      ['push', 'admin', 'scratch-v1', second],
      ['tag', 'admin', 'v1', first.digest],
      ['push', 'admin', 'v1', first.digest],
    ]);
    for (const e of entries) {
      expect(e.address).toMatch(/127\.0\.0\.1$/);
      expect(e.system).toBeNull();
      expect(Math.abs(Date.parse(e.at) - clock.now())).toBeLessThan(60_000);
    }
    const [deleted, moved, pushed, , , created] = entries as Entry[] as [
      Entry,
      Entry,
      Entry,
      Entry,
      Entry,
      Entry,
    ];
    expect(moved.detail).toEqual({ previous_digest: first.digest });
    expect(created.detail).toEqual({ previous_digest: null });
    expect(pushed.detail).toMatchObject({ media_type: 'application/vnd.oci.image.manifest.v1+json' });
    expect(deleted.detail).toMatchObject({ tags: [] });
    const ids = entries.map((e) => e.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
  });

  test('an untagged manifest removed by GC is recorded with system "gc" and no user', async () => {
    const image = await pushImage(registry, 'audit/gc', 'v1');
    expect((await call(registry, 'DELETE', '/v2/audit/gc/manifests/v1')).status).toBe(202);
    expect((await call(registry, 'POST', '/admin/gc?mode=delete&untagged=true')).status).toBe(200);
    const [removal] = (await audit('?repository=audit/gc&limit=1')).entries;
    expect(removal).toMatchObject({
      action: 'delete',
      digest: image.digest,
      user: null,
      address: null,
      system: 'gc',
      detail: { reason: 'untagged manifest removed by garbage collection' },
    });
  });

  test('a blob a client unlinks is recorded; one the repository does not hold writes nothing', async () => {
    const image = await pushImage(registry, 'audit/blob', 'v1');
    expect((await call(registry, 'DELETE', '/v2/audit/blob/manifests/v1')).status).toBe(202);
    const layer = image.layers[0] as string;
    const path = `/v2/audit/blob/blobs/${layer}`;
    expect((await call(registry, 'DELETE', path, { auth: DEV })).status).toBe(202);
    expect((await call(registry, 'DELETE', path, { auth: DEV })).status).toBe(404);
    const { entries } = await audit('?repository=audit/blob&limit=2');
    expect(entries.map((e) => [e.action, e.user, e.tag, e.digest])).toEqual([
      ['blob.delete', 'dev', null, layer],
      ['delete', 'admin', 'v1', null],
    ]);
    expect(entries[0]?.address).toMatch(/127\.0\.0\.1$/);
  });
});

/** Pushes an image as `auth` (pushImage sends the admin's credentials); returns its digest. */
async function pushImageAs(r: TestRegistry, name: string, tag: string, auth: string): Promise<string> {
  const image = await pushImage(r, name, `scratch-${tag}`);
  // The same manifest under `tag`, put by `auth`: the push recorded is theirs.
  const response = await call(r, 'PUT', `/v2/${name}/manifests/${tag}`, {
    auth,
    body: image.manifest,
    headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
  });
  expect(response.status).toBe(201);
  return image.digest;
}

describe('GET /admin/audit', () => {
  test('filters by repository, user and time; pages by id with a Link header', async () => {
    const start = clock.now();
    for (const tag of ['a', 'b', 'c']) await pushImageAs(registry, 'audit/pages', tag, DEV);
    clock.advance(3_600_000);
    const later = await pushImageAs(registry, 'audit/pages', 'd', DEV);

    const all = (await audit('?repository=audit/pages')).entries;
    // Each pushImageAs: the admin's push and tag of scratch-TAG, dev's push and tag of TAG.
    expect(all).toHaveLength(16);
    const byDev = (await audit('?repository=audit/pages&user=dev')).entries;
    expect(byDev.map((e) => e.tag)).toEqual(['d', 'd', 'c', 'c', 'b', 'b', 'a', 'a']);
    expect(byDev.every((e) => e.user === 'dev')).toBe(true);
    expect((await audit('?user=nobody')).entries).toEqual([]);

    const since = new Date(start + 1_800_000).toISOString();
    const recent = (await audit(`?repository=audit/pages&since=${since}`)).entries;
    expect(recent.map((e) => [e.action, e.tag, e.digest !== null])).toEqual([
      ['tag', 'd', true],
      ['push', 'd', true],
      ['tag', 'scratch-d', true],
      ['push', 'scratch-d', true],
    ]);
    expect(recent[0]?.digest).toBe(later);
    // The same time with an offset, its "+" left unencoded (a space once decoded).
    const offset = new Date(start + 1_800_000 + 3_600_000).toISOString().replace('Z', '+01:00');
    const sameRecent = (await audit(`?repository=audit/pages&since=${offset}`)).entries;
    expect(sameRecent.map((e) => e.id)).toEqual(recent.map((e) => e.id));

    const paged: Entry[] = [];
    let page = await audit('?repository=audit/pages&limit=5');
    for (;;) {
      expect(page.entries.length).toBeLessThanOrEqual(5);
      paged.push(...page.entries);
      if (page.next === null) break;
      expect(page.next).toContain('repository=audit%2Fpages');
      page = await audit(page.next.slice('/admin/audit'.length));
    }
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  test('bad limits, times and cursors are 400 with an OCI error', async () => {
    for (const query of [
      'limit=abc',
      'limit=0',
      'limit=-1',
      'since=yesterday',
      'since=2026-13-01',
      // Found by an outside review: year 0 failed in the database (500); days past the month's
      // end were rolled into the next month.
      'since=0000-01-01T00:00:00Z',
      'since=2026-02-30T00:00:00Z',
      'since=2026-04-31T00:00:00Z',
      'last=x',
    ]) {
      const response = await call(registry, 'GET', `/admin/audit?${query}`);
      expect(response.status, query).toBe(400);
      expect(await errorCode(response)).toBe('UNSUPPORTED');
    }
    // More than the most a page holds is that most.
    expect((await call(registry, 'GET', '/admin/audit?limit=5000')).status).toBe(200);
  });

  test('only administrators read it', async () => {
    const asDev = await call(registry, 'GET', '/admin/audit', { auth: DEV });
    expect(asDev.status).toBe(403);
    expect(await errorCode(asDev)).toBe('DENIED');
    expect((await call(registry, 'GET', '/admin/audit', { auth: null })).status).toBe(401);
  });
});

describe('rule changes recorded', () => {
  const json = (method: string, url: string, body?: unknown) =>
    call(registry, method, url, {
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: { 'Content-Type': 'application/json' },
    });

  test('policies, allowlist, webhooks, robots and immutable tags: set and removed, by whom', async () => {
    const { entries: before } = await audit('?limit=1');
    const since = before[0]?.id ?? 0;
    expect((await json('PUT', '/admin/policies', { prefix: 'audit/rules/', threshold: 'high' })).status).toBe(
      200,
    );
    expect((await json('DELETE', '/admin/policies?prefix=audit/rules/')).status).toBe(204);
    const allow = { prefix: 'audit/rules/', vulnerability: 'CVE-2026-0001', reason: 'not reachable' };
    expect((await json('PUT', '/admin/allowlist', allow)).status).toBe(200);
    expect(
      (await json('DELETE', '/admin/allowlist?prefix=audit/rules/&vulnerability=CVE-2026-0001')).status,
    ).toBe(204);
    const hook = {
      prefix: 'audit/rules/',
      url: 'http://127.0.0.1:9/hook',
      secret: 'a-secret-of-some-length',
    };
    const added = await json('POST', '/admin/webhooks', hook);
    expect(added.status).toBe(201);
    const { id } = (await added.json()) as { id: number };
    expect((await json('DELETE', `/admin/webhooks/${id}`)).status).toBe(204);
    const robot = { name: 'audited', scopes: [{ prefix: 'audit/', actions: ['push'] }] };
    expect((await json('POST', '/admin/robots', robot)).status).toBe(201);
    expect((await json('DELETE', '/admin/robots/audited')).status).toBe(204);
    expect(
      (await json('PUT', '/admin/immutable-tags', { prefix: 'audit/rules/', tags: ['v*'] })).status,
    ).toBe(200);
    expect((await json('DELETE', '/admin/immutable-tags?prefix=audit/rules/')).status).toBe(204);
    // Removing what is not there changes nothing, and records nothing.
    expect((await json('DELETE', '/admin/policies?prefix=audit/none/')).status).toBe(404);
    expect((await json('DELETE', '/admin/robots/nobody')).status).toBe(404);

    const { entries } = await audit('?user=admin&limit=50');
    const changes = entries.filter((e) => e.id > since).reverse();
    expect(changes.map((e) => [e.action, e.repository, e.user, e.system])).toEqual(
      [
        'policy.set',
        'policy.remove',
        'allowlist.add',
        'allowlist.remove',
        'webhook.add',
        'webhook.delete',
        'robot.create',
        'robot.delete',
        'immutable-tags.set',
        'immutable-tags.remove',
      ].map((action) => [action, null, 'admin', null]),
    );
    for (const e of changes) expect(e.address).toMatch(/127\.0\.0\.1$/);
    expect(changes.map((e) => e.detail)).toEqual([
      { prefix: 'audit/rules/', threshold: 'high', only_fixable: false, unscanned: 'allow' },
      { prefix: 'audit/rules/' },
      { prefix: 'audit/rules/', vulnerability: 'CVE-2026-0001', expires_at: null, reason: 'not reachable' },
      { prefix: 'audit/rules/', vulnerability: 'CVE-2026-0001' },
      // Never the secret.
      { id, prefix: 'audit/rules/', url: hook.url, events: expect.arrayContaining(['push']) },
      { id },
      { name: 'audited', scopes: [{ prefix: 'audit/', actions: ['pull', 'push'] }], expires_at: null },
      { name: 'audited' },
      { prefix: 'audit/rules/', tags: ['v*'], previous: null },
      { prefix: 'audit/rules/', tags: null, previous: ['v*'] },
    ]);
  });
});

describe('failed logins', () => {
  test('recorded with the name, address and reason while the throttle admits them; not once it refuses', async () => {
    const own = await startTestRegistry({
      config: { auth: { ...(await usersConfig()), login_throttle: { max_failures: 3, window: '1h' } } },
    });
    try {
      const read = async () => {
        const response = await call(own, 'GET', '/admin/audit?limit=10');
        expect(response.status).toBe(200);
        return ((await response.json()) as { entries: Entry[] }).entries;
      };
      // The admin's login succeeds first: a verified login is not throttled after.
      expect(await read()).toEqual([]);
      const statuses: number[] = [];
      for (const auth of [basic('ghost', 'x'), ...Array(4).fill(basic('dev', 'wrong'))]) {
        statuses.push((await call(own, 'GET', '/v2/', { auth })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const entries = await read();
      expect(entries.map((e) => [e.action, e.user, e.detail.reason])).toEqual([
        ['login.failed', 'dev', 'wrong password'],
        ['login.failed', 'dev', 'wrong password'],
        ['login.failed', 'ghost', 'unknown user'],
      ]);
      for (const e of entries) expect(e.address).toMatch(/127\.0\.0\.1$/);
    } finally {
      await own.close();
    }
  });
});

describe('transactions and export', () => {
  test('an entry recorded in a transaction that rolls back is not kept; one that commits is', async () => {
    const data = await createCliData('registry-audit-tx-');
    const db = await openDatabase({
      url: data.databaseUrl,
      dataDir: data.dataDir,
      poolSize: 2,
      holder: 'test',
    });
    try {
      const trail = new AuditTrail(db, clock, pino({ level: 'silent' }));
      const events = new DomainEvents([trail]);
      const event = (tag: string) =>
        ({
          type: 'tag',
          repository: 'audit/tx',
          tag,
          digest: `sha256:${'a'.repeat(64)}`,
          previous: null,
          actor: { user: 'dev', address: '192.0.2.1' },
        }) as const;
      await expect(
        db.transaction(async (tx) => {
          await events.record(tx, event('rolled-back'));
          throw new Error('the write failed after its event');
        }),
      ).rejects.toThrow('the write failed');
      await db.transaction((tx) => events.record(tx, event('kept')));
      const entries = await trail.list({ limit: 10 });
      expect(entries.map((e) => [e.tag, e.user, e.address])).toEqual([['kept', 'dev', '192.0.2.1']]);
      // What jsonb cannot hold (a NUL, a lone surrogate) in a detail does not fail the write.
      const robot = {
        type: 'robot',
        name: 'x',
        robot: null,
        actor: { user: 'admin', address: null },
      } as const;
      await db.transaction((tx) => events.record(tx, { ...robot, name: 'b\u0000\ud800c' }));
      expect((await trail.list({ limit: 1 }))[0]?.detail).toEqual({ name: 'b\uFFFD\uFFFDc' });
    } finally {
      await db.close();
      await data.remove();
    }
  });

  test('`registry audit export` writes JSON lines, oldest first, from --since', async () => {
    const data = await createCliData('registry-audit-cli-');
    try {
      const own = await startTestRegistry({ dataDir: data.dataDir, databaseUrl: data.databaseUrl });
      let image: { digest: string };
      try {
        image = await pushImage(own, 'audit/cli', 'v1');
      } finally {
        await own.close();
      }
      const robot = [
        'robot',
        'create',
        'ci',
        '--prefix',
        'audit/',
        '--actions',
        'push',
        '--config',
        data.configFile,
      ];
      expect((await runCli(robot)).code).toBe(0);
      const exported = await runCli(['audit', 'export', '--config', data.configFile]);
      expect(exported.stderr).toBe('');
      expect(exported.code).toBe(0);
      const lines = exported.stdout.trimEnd().split('\n');
      const entries = lines.map((l) => JSON.parse(l) as Entry);
      expect(entries.map((e) => [e.action, e.repository, e.tag, e.digest, e.user])).toEqual([
        ['push', 'audit/cli', 'v1', image.digest, 'admin'],
        ['tag', 'audit/cli', 'v1', image.digest, 'admin'],
        ['robot.create', null, null, null, null],
      ]);
      expect(entries[2]).toMatchObject({ system: 'cli', detail: { name: 'ci' } });

      const future = new Date(Date.now() + 3_600_000).toISOString();
      const none = await runCli(['audit', 'export', '--since', future, '--config', data.configFile]);
      expect([none.code, none.stdout]).toEqual([0, '']);
      for (const since of ['yesterday', '0000-01-01T00:00:00Z']) {
        const bad = await runCli(['audit', 'export', '--since', since, '--config', data.configFile]);
        expect(bad.code, bad.stderr).toBe(2);
        expect(bad.stderr).toContain('--since must be an RFC 3339 time');
      }
    } finally {
      await data.remove();
    }
  });
});
