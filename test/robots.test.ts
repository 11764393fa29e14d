// Robot accounts on real registries: created by administrators (over /admin/robots, and with
// `registry robot create`), their secret shown once, logging in with Basic credentials and in the
// token flow, limited to exactly their scopes, never administrators, attributable in the events
// of their writes, throttled like users, refused at once when expired or deleted.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { robotWriteLog } from '../origin/auth/robot-write-log.ts';
import { loadConfig } from '../origin/config.ts';
import { type CliData, createCliData, runCli } from './harness/cli.ts';
import { call, errorCode, pushBlob, pushImage } from './harness/client.ts';
import { ShiftedClock } from './harness/clock.ts';
import { createPostgresDatabase, startTestRegistry, type TestRegistry } from './harness/registry.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;
const ADMIN = basic('admin', 'admin-password');
const BOB = basic('bob', 'bob-password');
const JSON_BODY = { 'Content-Type': 'application/json' };

interface RobotJson {
  name: string;
  login: string;
  scopes: { prefix: string; actions: string[] }[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  secret?: string;
}

/** Runs with the system's time; the tests move it forward to expire robots and tokens. */
const clock = new ShiftedClock();
let registry: TestRegistry;
let hook: WebhookReceiver;

beforeAll(async () => {
  const [adminHash, bobHash] = await Promise.all([
    hashPassword('admin-password'),
    hashPassword('bob-password'),
  ]);
  hook = await startWebhookReceiver();
  registry = await startTestRegistry({
    clock,
    config: {
      webhooks: { poll_interval: '50ms' },
      auth: {
        login_throttle: { max_failures: 10_000 },
        users: [
          { name: 'admin', password_hash: adminHash },
          { name: 'bob', password_hash: bobHash },
        ],
        access: [
          { prefix: 'public/', anonymous: true, actions: ['pull'] },
          { prefix: '', users: ['admin'], actions: ['pull', 'push', 'delete'] },
          { prefix: 'team/', users: ['bob'], actions: ['pull', 'push'] },
          // Every user may pull everywhere: robots are no users, and may not.
          { prefix: '', users: ['*'], actions: ['pull'] },
        ],
        // A robot's login name among the administrators makes it none.
        admins: ['admin', 'robot$sneaky'],
      },
    },
  });
  await pushImage({ ...registry, adminAuth: ADMIN }, 'base/os', 'v1');
  await pushImage({ ...registry, adminAuth: ADMIN }, 'public/app', 'v1');
  await pushImage({ ...registry, adminAuth: ADMIN }, 'other/app', 'v1');
  const subscribed = await call(registry, 'POST', '/admin/webhooks', {
    auth: ADMIN,
    headers: JSON_BODY,
    body: JSON.stringify({ url: hook.url, secret: 'a-webhook-secret-of-some-length', prefix: 'team/' }),
  });
  expect(subscribed.status).toBe(201);
});

afterAll(async () => {
  await registry?.close();
  await hook?.close();
});

async function createRobot(body: Record<string, unknown>, auth: string | null = ADMIN): Promise<Response> {
  return call(registry, 'POST', '/admin/robots', { auth, headers: JSON_BODY, body: JSON.stringify(body) });
}

/** Creates a robot as the administrator; its Basic credentials and what the API answered. */
async function robot(body: Record<string, unknown>): Promise<{ auth: string; created: RobotJson }> {
  const response = await createRobot(body);
  expect(response.status, await response.clone().text()).toBe(201);
  const created = (await response.json()) as RobotJson;
  return { auth: basic(created.login, created.secret as string), created };
}

async function listed(name: string): Promise<RobotJson | undefined> {
  const response = await call(registry, 'GET', '/admin/robots', { auth: ADMIN });
  expect(response.status).toBe(200);
  return ((await response.json()) as { robots: RobotJson[] }).robots.find((r) => r.name === name);
}

async function getToken(scopes: string[], auth: string | null): Promise<Response> {
  const query = new URLSearchParams({ service: registry.host });
  for (const scope of scopes) query.append('scope', scope);
  return call(registry, 'GET', `/token?${query}`, { auth });
}

async function tokenFor(scopes: string[], auth: string): Promise<string> {
  const response = await getToken(scopes, auth);
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

const CI_DEPLOY = {
  name: 'ci-deploy',
  scopes: [
    { prefix: 'team/app/', actions: ['push'] },
    { prefix: 'base/', actions: ['pull'] },
  ],
};
let ciDeploy: { auth: string; created: RobotJson };

describe('creating robots', () => {
  test('an administrator creates a robot: its secret is in that answer only, never in a listing', async () => {
    ciDeploy = await robot(CI_DEPLOY);
    const { created } = ciDeploy;
    expect(created).toMatchObject({
      name: 'ci-deploy',
      login: 'robot$ci-deploy',
      // Push includes pull: no client pushes without reading.
      scopes: [
        { prefix: 'team/app/', actions: ['pull', 'push'] },
        { prefix: 'base/', actions: ['pull'] },
      ],
      expires_at: null,
      last_used_at: null,
    });
    // 32 random bytes, base64url.
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const list = await call(registry, 'GET', '/admin/robots', { auth: ADMIN });
    const text = await list.text();
    expect(text).not.toContain(created.secret);
    const entry = JSON.parse(text).robots.find((r: RobotJson) => r.name === 'ci-deploy');
    expect(entry).toEqual({ ...created, secret: undefined });
    expect(Object.keys(entry)).not.toContain('secret');
  });

  test('a second robot of the same name is refused with 409, and the first keeps its secret', async () => {
    const again = await createRobot(CI_DEPLOY);
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe('DENIED');
    expect((await call(registry, 'GET', '/v2/', { auth: ciDeploy.auth })).status).toBe(200);
  });

  test('invalid names, prefixes, actions and expiries are refused with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...CI_DEPLOY, name: 'Bad Name' }, 'name'],
      [{ ...CI_DEPLOY, name: 'robot$x' }, 'name'],
      [{ ...CI_DEPLOY, scopes: [] }, 'scopes'],
      [{ ...CI_DEPLOY, name: 'x', scopes: [{ prefix: 'a/', actions: ['fly'] }] }, 'scopes.0.actions.0'],
      [{ ...CI_DEPLOY, name: 'x', scopes: [{ prefix: 'A B', actions: ['pull'] }] }, 'scopes.0.prefix'],
      [{ ...CI_DEPLOY, name: 'x', expires_in: 'soon' }, 'expires_in'],
      [{ ...CI_DEPLOY, name: 'x', admin: true }, 'robot'],
    ];
    for (const [body, field] of cases) {
      const response = await createRobot(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      const message = ((await response.json()) as { errors: { message: string }[] }).errors[0]?.message;
      expect(message?.startsWith(`${field}:`), message).toBe(true);
    }
    expect(await listed('x')).toBeUndefined();
  });

  test('only administrators manage robots: a user gets 403, anonymous 401, a robot 403', async () => {
    const byUser = await createRobot({ ...CI_DEPLOY, name: 'by-bob' }, BOB);
    expect(byUser.status).toBe(403);
    expect(await errorCode(byUser)).toBe('DENIED');
    const anonymous = await createRobot({ ...CI_DEPLOY, name: 'by-nobody' }, null);
    expect(anonymous.status).toBe(401);
    const byRobot = await createRobot({ ...CI_DEPLOY, name: 'by-robot' }, ciDeploy.auth);
    expect(byRobot.status).toBe(403);
    for (const [method, url] of [
      ['GET', '/admin/robots'],
      ['DELETE', '/admin/robots/ci-deploy'],
    ] as const) {
      expect((await call(registry, method, url, { auth: BOB })).status).toBe(403);
      expect((await call(registry, method, url, { auth: ciDeploy.auth })).status).toBe(403);
    }
    expect(await listed('by-bob')).toBeUndefined();
    expect(await listed('by-robot')).toBeUndefined();
    expect(await listed('ci-deploy')).toBeDefined();
  });
});

// Found by test/fuzz/http.test.ts, each answered 500: the database refused what reached it.
describe('admin requests the database could not take', () => {
  test('DELETE of a robot whose name has a NUL is 404, as for any name no robot has', async () => {
    const response = await call(registry, 'DELETE', '/admin/robots/%00', { auth: ADMIN });
    expect([response.status, await errorCode(response)]).toEqual([404, 'NAME_UNKNOWN']);
  });

  test('webhook deliveries with a negative or fractional n are 400, as for the tags list', async () => {
    for (const n of ['-1', '1.5']) {
      const response = await call(registry, 'GET', `/admin/webhooks/1/deliveries?n=${n}`, { auth: ADMIN });
      expect([response.status, await errorCode(response)], n).toEqual([400, 'UNSUPPORTED']);
    }
  });

  test('DELETE of a policy or an allowlist entry named with a NUL is 404, as for any not there', async () => {
    for (const path of ['/admin/policies?prefix=%00', '/admin/allowlist?prefix=&vulnerability=CVE-1%00']) {
      const response = await call(registry, 'DELETE', path, { auth: ADMIN });
      expect([response.status, await errorCode(response)], path).toEqual([404, 'NAME_UNKNOWN']);
    }
  });

  // PUT /admin/policies {"prefix":"\u0000"}: every admin body is stored, so each is checked alike.

  test('one holding a NUL or a lone surrogate is refused with 400, before its schema', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/admin/policies', '{"prefix":"\\u0000"}'],
      ['PUT', '/admin/allowlist', '{"vulnerability":"CVE-2024-1","reason":"a\\u0000b"}'],
      ['POST', '/admin/webhooks', '{"url":"https://hooks.example/x","secret":"0123456789abcdef\\u0000"}'],
      ['POST', '/admin/webhooks', '{"url":"https://hooks.example/x","secret":"0123456789abcdef\\ud800"}'],
    ];
    for (const [method, path, body] of cases) {
      const response = await call(registry, method, path, { auth: ADMIN, headers: JSON_BODY, body });
      expect(response.status, `${method} ${path} ${body}`).toBe(400);
      const message = ((await response.json()) as { errors: { message: string }[] }).errors[0]?.message;
      expect(message).toBe('the body must not hold NUL characters or lone surrogates');
    }
  });
});

describe('what a robot may do', () => {
  test('with Basic credentials it pushes into its prefix and pulls where it may only pull', async () => {
    const as = { ...registry, adminAuth: ciDeploy.auth };
    const pushed = await pushImage(as, 'team/app/web', 'v1');
    expect(
      (await call(registry, 'GET', `/v2/team/app/web/manifests/${pushed.digest}`, { auth: ciDeploy.auth }))
        .status,
    ).toBe(200);
    expect((await call(registry, 'GET', '/v2/base/os/manifests/v1', { auth: ciDeploy.auth })).status).toBe(
      200,
    );
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth: ciDeploy.auth })).status).toBe(200);
  });

  test('outside its scopes it is denied: no push where it pulls, nothing elsewhere, no delete', async () => {
    const auth = ciDeploy.auth;
    for (const name of ['base/os', 'other/app', 'team/other']) {
      const push = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`, { auth });
      expect(push.status, name).toBe(403);
      expect(await errorCode(push)).toBe('DENIED');
    }
    expect((await call(registry, 'GET', '/v2/other/app/manifests/v1', { auth })).status).toBe(403);
    const digest = await pushBlob(
      { ...registry, adminAuth: auth },
      'team/app/web',
      `a blob ${Math.random()}`,
    );
    expect((await call(registry, 'DELETE', `/v2/team/app/web/blobs/${digest}`, { auth })).status).toBe(403);
  });

  test('the auth.access rules do not widen its scopes: not even what anonymous callers may pull', async () => {
    expect((await call(registry, 'GET', '/v2/public/app/manifests/v1', { auth: null })).status).toBe(200);
    expect((await call(registry, 'GET', '/v2/public/app/manifests/v1', { auth: BOB })).status).toBe(200);
    const robotPull = await call(registry, 'GET', '/v2/public/app/manifests/v1', { auth: ciDeploy.auth });
    expect(robotPull.status).toBe(403);
    // Nor does it list the catalog.
    expect((await call(registry, 'GET', '/v2/_catalog', { auth: ciDeploy.auth })).status).toBe(401);
  });

  test('GET /token with its credentials grants only its scopes, to its login name', async () => {
    const token = await tokenFor(
      [
        'repository:team/app/web:pull,push,delete',
        'repository:base/os:pull,push',
        'repository:public/app:pull',
        'repository:other/app:*',
        'registry:catalog:*',
        'registry:admin:*',
      ],
      ciDeploy.auth,
    );
    const claims = decodeJwt(token);
    expect(claims.sub).toBe('robot$ci-deploy');
    expect(claims.access).toEqual([
      { type: 'repository', name: 'team/app/web', actions: ['pull', 'push'] },
      { type: 'repository', name: 'base/os', actions: ['pull'] },
    ]);
    // The token pushes where it was granted push.
    const pushed = await pushImage({ ...registry, adminAuth: bearer(token) }, 'team/app/web', 'by-token');
    expect(pushed.digest).toMatch(/^sha256:/);
    const post = new URLSearchParams({
      grant_type: 'password',
      username: 'robot$ci-deploy',
      password: ciDeploy.created.secret as string,
      scope: 'repository:base/os:pull,push',
    });
    const oauth = await call(registry, 'POST', '/token', {
      auth: null,
      body: post.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(oauth.status).toBe(200);
    const { access_token } = (await oauth.json()) as { access_token: string };
    expect(decodeJwt(access_token).access).toEqual([
      { type: 'repository', name: 'base/os', actions: ['pull'] },
    ]);
  });

  test('a robot is never an administrator, even one named in auth.admins', async () => {
    const { auth } = await robot({
      name: 'sneaky',
      scopes: [{ prefix: '', actions: ['pull', 'push', 'delete'] }],
    });
    for (const [method, url] of [
      ['GET', '/admin/robots'],
      ['POST', '/admin/gc?mode=dry-run'],
      ['GET', '/admin/policies'],
      ['GET', '/admin/webhooks'],
      ['GET', '/admin/immutable-tags'],
      ['GET', '/admin/audit'],
    ] as const) {
      const response = await call(registry, method, url, { auth });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(await errorCode(response)).toBe('DENIED');
    }
    const token = await tokenFor(['registry:admin:*', 'repository:any/thing:pull'], auth);
    expect(decodeJwt(token).access).toEqual([{ type: 'repository', name: 'any/thing', actions: ['pull'] }]);
    expect((await call(registry, 'GET', '/admin/robots', { auth: bearer(token) })).status).toBe(401);
    // Its scopes are what it has: everything in repositories, there.
    expect((await call(registry, 'GET', '/v2/other/app/manifests/v1', { auth })).status).toBe(200);
  });
});

describe('a robot after the fact', () => {
  test("its writes carry its name: the push and delete events' actor is robot$NAME", async () => {
    const { auth } = await robot({
      name: 'cleaner',
      scopes: [{ prefix: 'team/clean/', actions: ['push', 'delete'] }],
    });
    const pushed = await pushImage({ ...registry, adminAuth: auth }, 'team/clean/app', 'v1');
    const deleted = await call(registry, 'DELETE', `/v2/team/clean/app/manifests/${pushed.digest}`, { auth });
    expect(deleted.status).toBe(202);
    const deadline = Date.now() + 10_000;
    const about = (event: string) => hook.payloads(event).filter((p) => p.repository === 'team/clean/app');
    while ((about('push').length === 0 || about('delete').length === 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(about('push')[0]).toMatchObject({ digest: pushed.digest, actor: 'robot$cleaner' });
    expect(about('delete')[0]).toMatchObject({ digest: pushed.digest, actor: 'robot$cleaner' });
  });

  test('its last use is recorded, at most once a minute', async () => {
    const { auth } = await robot({ name: 'used', scopes: [{ prefix: 'base/', actions: ['pull'] }] });
    expect((await listed('used'))?.last_used_at).toBeNull();
    const before = clock.now();
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth })).status).toBe(200);
    const first = Date.parse((await listed('used'))?.last_used_at ?? '');
    expect(first).toBeGreaterThanOrEqual(before);
    expect(first).toBeLessThanOrEqual(clock.now());
    clock.advance(30_000);
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth })).status).toBe(200);
    expect(Date.parse((await listed('used'))?.last_used_at ?? '')).toBe(first);
    clock.advance(31_000);
    expect((await tokenFor(['repository:base/os:pull'], auth)).length).toBeGreaterThan(0);
    expect(Date.parse((await listed('used'))?.last_used_at ?? '')).toBeGreaterThanOrEqual(first + 60_000);
  });

  test('an expired robot is refused, saying it expired, with Basic credentials and at /token', async () => {
    const { auth, created } = await robot({
      name: 'short-lived',
      scopes: [{ prefix: 'base/', actions: ['pull'] }],
      expires_in: '1h',
    });
    expect(Date.parse(created.expires_at ?? '') - Date.parse(created.created_at)).toBe(3_600_000);
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth })).status).toBe(200);
    clock.advance(3_600_000);
    const refused = await call(registry, 'GET', '/v2/base/os/tags/list', { auth });
    expect(refused.status).toBe(401);
    const body = (await refused.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('UNAUTHORIZED');
    expect(body.errors[0]?.message).toContain('robot$short-lived expired at');
    expect((await getToken(['repository:base/os:pull'], auth)).status).toBe(401);
    // The wrong secret of an expired robot says nothing of its expiry.
    const wrong = await call(registry, 'GET', '/v2/', { auth: basic('robot$short-lived', 'guess') });
    expect(((await wrong.json()) as { errors: { message: string }[] }).errors[0]?.message).not.toContain(
      'expired',
    );
    // Still listed, with the time it expired.
    expect((await listed('short-lived'))?.expires_at).toBe(created.expires_at);
  });

  test('a deleted robot is refused at once; a token it got before lives out its short life', async () => {
    const { auth } = await robot({ name: 'revoked', scopes: [{ prefix: 'base/', actions: ['pull'] }] });
    const token = await tokenFor(['repository:base/os:pull'], auth);
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth })).status).toBe(200);
    const removed = await call(registry, 'DELETE', '/admin/robots/revoked', { auth: ADMIN });
    expect(removed.status).toBe(204);
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth })).status).toBe(401);
    expect((await getToken(['repository:base/os:pull'], auth)).status).toBe(401);
    expect(await listed('revoked')).toBeUndefined();
    expect((await call(registry, 'DELETE', '/admin/robots/revoked', { auth: ADMIN })).status).toBe(404);
    // Tokens are verified without a lookup (the edge cannot make one): honoured until auth.token_expiry.
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth: bearer(token) })).status).toBe(200);
    clock.advance(300_000);
    expect((await call(registry, 'GET', '/v2/base/os/tags/list', { auth: bearer(token) })).status).toBe(401);
  });

  test('a robot created again after its deletion has a new secret; the old one is refused', async () => {
    const first = await robot({ name: 'rotated', scopes: [{ prefix: 'base/', actions: ['pull'] }] });
    expect((await call(registry, 'GET', '/v2/', { auth: first.auth })).status).toBe(200);
    expect((await call(registry, 'DELETE', '/admin/robots/rotated', { auth: ADMIN })).status).toBe(204);
    const second = await robot({ name: 'rotated', scopes: [{ prefix: 'base/', actions: ['pull'] }] });
    expect(second.created.secret).not.toBe(first.created.secret);
    expect((await call(registry, 'GET', '/v2/', { auth: first.auth })).status).toBe(401);
    expect((await call(registry, 'GET', '/v2/', { auth: second.auth })).status).toBe(200);
  });
});

describe('robot logins are throttled like users', () => {
  let throttled: TestRegistry;
  const throttleClock = new ShiftedClock();
  beforeAll(async () => {
    throttled = await startTestRegistry({
      clock: throttleClock,
      config: { auth: { login_throttle: { max_failures: 3, window: '1m' } } },
    });
  });
  afterAll(async () => throttled?.close());

  const make = async (name: string) => {
    const response = await call(throttled, 'POST', '/admin/robots', {
      headers: JSON_BODY,
      body: JSON.stringify({ name, scopes: [{ prefix: 'ci/', actions: ['push'] }] }),
    });
    expect(response.status).toBe(201);
    const { login, secret } = (await response.json()) as RobotJson;
    return basic(login, secret as string);
  };

  test('wrong secrets get 429 after max_failures; a secret verified before keeps working, a new one waits', async () => {
    const known = await make('known');
    const fresh = await make('fresh');
    expect((await call(throttled, 'GET', '/v2/', { auth: known })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await call(throttled, 'GET', '/v2/', { auth: basic('robot$known', `guess${i}`) })).status).toBe(
        401,
      );
    }
    const guess = await call(throttled, 'GET', '/v2/', { auth: basic('robot$known', 'guess4') });
    expect(guess.status).toBe(429);
    expect(await errorCode(guess)).toBe('TOOMANYREQUESTS');
    expect(Number(guess.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await getTokenFrom(throttled, basic('robot$known', 'guess5'))).status).toBe(429);
    // Verified before the guessing: not locked out by it.
    expect((await call(throttled, 'GET', '/v2/', { auth: known })).status).toBe(200);
    // The same address's budget is spent: a secret never checked here waits for the window.
    expect((await call(throttled, 'GET', '/v2/', { auth: fresh })).status).toBe(429);
    throttleClock.advance(60_000);
    expect((await call(throttled, 'GET', '/v2/', { auth: fresh })).status).toBe(200);
  });
});

function getTokenFrom(target: TestRegistry, auth: string): Promise<Response> {
  return call(target, 'GET', `/token?service=${target.host}&scope=repository:ci/app:pull`, { auth });
}

describe('the robot write log', () => {
  test('pushes and deletes by robots are logged with the robot, the image and the address; others not', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const listener = robotWriteLog(pino({ level: 'info' }, sink));
    const robotActor = { user: 'robot$ci-deploy', address: '10.0.0.7' };
    const digest = `sha256:${'a'.repeat(64)}`;
    listener.committed?.({
      type: 'push',
      repository: 'team/app/web',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 100,
      tag: 'v1',
      image: true,
      actor: robotActor,
    });
    listener.committed?.({
      type: 'delete',
      repository: 'team/app/web',
      digest,
      tag: null,
      tags: ['v1'],
      reason: 'api',
      actor: robotActor,
    });
    listener.committed?.({
      type: 'tag',
      repository: 'team/app/web',
      tag: 'v1',
      digest,
      previous: null,
      actor: robotActor,
    });
    listener.committed?.({
      type: 'push',
      repository: 'team/app/web',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 100,
      tag: null,
      image: true,
      actor: { user: 'admin', address: '10.0.0.8' },
    });
    expect(lines.map((l) => l.msg)).toEqual([
      `push of team/app/web:v1@${digest} by robot$ci-deploy`,
      `delete of team/app/web@${digest} by robot$ci-deploy`,
    ]);
    expect(lines[0]).toMatchObject({
      robot: 'robot$ci-deploy',
      event: 'push',
      address: '10.0.0.7',
      tag: 'v1',
    });
  });
});

describe('registry robot create | list | delete', () => {
  let dataDir: string;
  let databaseUrl: string | undefined;
  let configFile: string;
  let served: TestRegistry | undefined;
  let secret: string;

  const cli = (...args: string[]) => runCli(['robot', ...args, '--config', configFile]);

  let data: CliData | undefined;

  beforeAll(async () => {
    // The registry is not running while the CLI writes: PGlite is one process's database.
    data = await createCliData('registry-robots-');
    ({ dataDir, databaseUrl, configFile } = data);
  });

  afterAll(async () => {
    await served?.close();
    await data?.remove();
  });

  test('the help lists robot create, list and delete', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['robot create NAME', 'robot list', 'robot delete NAME'])
      expect(help.stdout).toContain(command);
    const robotHelp = await runCli(['robot', '--help']);
    expect(robotHelp.stdout).toContain('--prefix PREFIX');
  });

  test('create prints the secret alone on stdout, once; list shows the robot and never the secret', async () => {
    const created = await cli(
      'create',
      'ci-deploy',
      '--prefix',
      'team/app/',
      '--actions',
      'push',
      '--prefix',
      'base/',
      '--actions',
      'pull',
      '--expires',
      '90d',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    secret = created.stdout.trim();
    expect(created.stderr).toContain('robot$ci-deploy created: team/app/:pull,push base/:pull');
    const list = await cli('list');
    expect(list.code, list.stderr).toBe(0);
    const [header, row, ...rest] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED$/);
    expect(rest).toEqual([]);
    expect(row).toMatch(
      /^robot\$ci-deploy\s+team\/app\/:pull,push base\/:pull\s+\d{4}-\d\d-\d\dT\S+Z\s+\d{4}-\d\d-\d\dT\S+Z\s+never$/,
    );
    expect(list.stdout).not.toContain(secret);
  });

  test('create refuses unpaired options, invalid names and actions, and a name taken', async () => {
    const [unpaired, badName, badAction, taken] = await Promise.all([
      cli('create', 'x', '--prefix', 'a/', '--prefix', 'b/', '--actions', 'pull'),
      cli('create', 'Not OK', '--prefix', 'a/', '--actions', 'pull'),
      cli('create', 'y', '--prefix', 'a/', '--actions', 'pull,fly'),
      cli('create', 'ci-deploy', '--prefix', 'a/', '--actions', 'pull'),
    ]);
    expect(unpaired.code).not.toBe(0);
    expect(unpaired.stderr).toContain('in pairs');
    expect(badName.code).not.toBe(0);
    expect(badName.stderr).toContain('name:');
    expect(badAction.code).not.toBe(0);
    expect(badAction.stderr).toContain('scopes.0.actions.1');
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('exists');
    for (const result of [unpaired, badName, badAction, taken]) expect(result.stdout).toBe('');
  });

  test('the robot created on the command line logs in to the registry; delete revokes it', async () => {
    served = await startTestRegistry({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
    const auth = basic('robot$ci-deploy', secret);
    const pushed = await pushImage({ ...served, adminAuth: auth }, 'team/app/cli', 'v1');
    expect(pushed.digest).toMatch(/^sha256:/);
    expect((await call(served, 'POST', '/v2/other/x/blobs/uploads/', { auth })).status).toBe(403);
    // Creating a robot left the default admin/secret in place: robots are no users.
    expect((await call(served, 'GET', '/admin/robots')).status).toBe(200);
    await served.close();
    served = undefined;
    const deleted = await cli('delete', 'ci-deploy');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('robot account robot$ci-deploy deleted\n');
    const again = await cli('delete', 'ci-deploy');
    expect(again.code).not.toBe(0);
    expect((await cli('list')).stdout.trimEnd().split('\n')).toHaveLength(1);
    served = await startTestRegistry({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
    expect((await call(served, 'GET', '/v2/', { auth })).status).toBe(401);
  });
});

describe('registry robot delete while the registry runs', () => {
  // Two processes on one database: PostgreSQL (PGlite is one process's database), in every project.
  let dataDir: string;
  let databaseUrl: string;
  let configFile: string;
  let served: TestRegistry;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'registry-robots-live-'));
    databaseUrl = await createPostgresDatabase();
    configFile = path.join(dataDir, 'cli.yaml');
    await writeFile(
      configFile,
      `data_dir: ${JSON.stringify(dataDir)}\ndatabase:\n  url: ${JSON.stringify(databaseUrl)}\n`,
    );
    served = await startTestRegistry({ dataDir, databaseUrl, database: 'postgres' });
  });

  afterAll(async () => {
    await served?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('a robot created by the CLI works at once, and is refused at once once the CLI deleted it', async () => {
    const created = await runCli([
      'robot',
      'create',
      'live',
      '--prefix',
      'ci/',
      '--actions',
      'pull',
      '--config',
      configFile,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const auth = basic('robot$live', created.stdout.trim());
    expect((await call(served, 'GET', '/v2/', { auth })).status).toBe(200);
    const deleted = await runCli(['robot', 'delete', 'live', '--config', configFile]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await call(served, 'GET', '/v2/', { auth })).status).toBe(401);
  });
});

describe('robot names in the user configuration', () => {
  test('a configured user named robot$… is refused: that name is a robot account', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'registry-robot-user-'));
    try {
      const config = path.join(dir, 'config.yaml');
      const hash = await hashPassword('whatever-password');
      await writeFile(
        config,
        JSON.stringify({ auth: { users: [{ name: 'robot$ci', password_hash: hash }] } }),
      );
      expect(loadConfig(config, {})).toEqual({
        ok: false,
        message: "config key auth.users.0.name: robot$… is a robot account's name, not a user's",
      });
      const htpasswd = path.join(dir, 'htpasswd');
      await writeFile(htpasswd, `robot$ci:${hash}\n`);
      await writeFile(config, JSON.stringify({ data_dir: dir, auth: { htpasswd } }));
      const serve = await runCli(['serve', '--config', config]);
      expect(serve.code).not.toBe(0);
      expect(serve.stderr).toContain('line 1 of');
      expect(serve.stderr).toContain('names a robot account');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
