// Docker token auth on real registries: the token endpoint (GET and the OAuth2 password grant),
// the JWTs it signs and how the API honours them, permissions from auth.access rules, Basic
// credentials on the API, and users added with `registry user add`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { type CliData, createCliData, runCli } from './harness/cli.ts';
import { call, pushBlob, pushImage } from './harness/client.ts';
import { ManualClock } from './harness/clock.ts';
import { createPostgresDatabase, startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (token: string) => `Bearer ${token}`;
const THROTTLE_OFF = { login_throttle: { max_failures: 10_000 } };

/** No users and no rules: the default admin/secret may do everything, anonymous nothing. */
let plain: TestRegistry;
/** auth.users (admin, bob) and auth.access rules. */
let ruled: TestRegistry;
/** Tokens that live 2 seconds. */
let brief: TestRegistry;
/** brief's clock: its tokens expire when the test moves it. */
const briefClock = new ManualClock();

const ADMIN = basic('admin', 'admin-password');
const BOB = basic('bob', 'bob-password');

beforeAll(async () => {
  const [adminHash, bobHash] = await Promise.all([
    hashPassword('admin-password'),
    hashPassword('bob-password'),
  ]);
  [plain, ruled, brief] = await Promise.all([
    startTestRegistry({ config: { auth: THROTTLE_OFF } }),
    startTestRegistry({
      config: {
        auth: {
          ...THROTTLE_OFF,
          users: [
            { name: 'admin', password_hash: adminHash },
            { name: 'bob', password_hash: bobHash },
          ],
          access: [
            { prefix: 'public/', anonymous: true, actions: ['pull'] },
            { prefix: '', users: ['admin'], actions: ['pull', 'push', 'delete'] },
            { prefix: 'team/', users: ['bob'], actions: ['pull', 'push'] },
          ],
        },
      },
    }),
    startTestRegistry({ config: { auth: { ...THROTTLE_OFF, token_expiry: '2s' } }, clock: briefClock }),
  ]);
  // Content for the pulls below.
  await pushImage({ ...ruled, adminAuth: ADMIN }, 'public/app', 'latest');
  await pushImage({ ...ruled, adminAuth: ADMIN }, 'private/app', 'latest');
});

afterAll(async () => {
  await Promise.all([plain?.close(), ruled?.close(), brief?.close()]);
});

interface TokenAnswer {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

/** GET /token?service=…&scope=… (scopes repeated as Docker sends them). */
async function getToken(
  registry: TestRegistry,
  scopes: string[],
  auth: string | null,
): Promise<{ status: number; body: TokenAnswer }> {
  const query = new URLSearchParams({ service: registry.host });
  for (const scope of scopes) query.append('scope', scope);
  const response = await call(registry, 'GET', `/token?${query}`, { auth });
  return { status: response.status, body: (await response.json()) as TokenAnswer };
}

async function tokenFor(registry: TestRegistry, scopes: string[], auth: string | null): Promise<string> {
  const { status, body } = await getToken(registry, scopes, auth);
  expect(status).toBe(200);
  return body.token;
}

/** Verifies a token as a client or the edge would: against the registry's published JWKS. */
async function verify(registry: TestRegistry, token: string) {
  const jwks = createRemoteJWKSet(new URL(`${registry.url}/token/jwks.json`));
  return jwtVerify(token, jwks, { issuer: 'registry', audience: registry.host, algorithms: ['ES256'] });
}

const accessOf = (payload: JWTPayload) =>
  payload.access as { type: string; name: string; actions: string[] }[];

/** The parameters of a `WWW-Authenticate: Bearer k="v",…` challenge. */
function challengeOf(response: Response): Record<string, string> {
  const header = response.headers.get('www-authenticate') ?? '';
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

async function errorOf(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string; message: string }[] };
  expect(typeof body.errors?.[0]?.message).toBe('string');
  return body.errors?.[0]?.code;
}

describe('the token endpoint', () => {
  test('GET /token with Basic admin:secret grants exactly the requested actions in an ES256 JWT', async () => {
    const { status, body } = await getToken(plain, ['repository:x/y:pull,push'], plain.adminAuth);
    expect(status).toBe(200);
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(new Date(body.issued_at).toISOString()).toBe(body.issued_at);
    const { payload, protectedHeader } = await verify(plain, body.token);
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.iss).toBe('registry');
    expect(payload.aud).toBe(plain.host);
    expect(payload.sub).toBe('admin');
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(payload.exp as number).toBeGreaterThan(Date.now() / 1000);
    expect(typeof payload.jti).toBe('string');
    // delete is permitted to admin, but it was not asked for.
    expect(accessOf(payload)).toEqual([{ type: 'repository', name: 'x/y', actions: ['pull', 'push'] }]);
  });

  test('the JWKS publishes the one public signing key, and no private part of it', async () => {
    const response = await call(plain, 'GET', '/token/jwks.json', { auth: null });
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    const key = keys[0] as Record<string, string>;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key.d).toBeUndefined();
    const token = await tokenFor(plain, [], plain.adminAuth);
    expect(decodeProtectedHeader(token).kid).toBe(key.kid);
  });

  test('several scopes, repeated or space-separated, are each granted; the catalog only to users', async () => {
    const token = await tokenFor(
      plain,
      ['repository:a/one:pull', 'repository:a/two:push repository:a/three:*', 'registry:catalog:*'],
      plain.adminAuth,
    );
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'a/one', actions: ['pull'] },
      { type: 'repository', name: 'a/two', actions: ['push'] },
      { type: 'repository', name: 'a/three', actions: ['pull', 'push', 'delete'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  test('scopes naming invalid repositories or unknown actions grant nothing', async () => {
    const token = await tokenFor(
      plain,
      ['repository:Bad/Name:pull', 'repository:ok/name:fly', 'garbage', 'repository:ok/name:'],
      plain.adminAuth,
    );
    expect(accessOf(decodeJwt(token))).toEqual([]);
  });

  test('a wrong password at the token endpoint is 401 UNAUTHORIZED with a Basic challenge', async () => {
    for (const auth of [basic('admin', 'wrong'), basic('nobody', 'secret'), 'Basic !!!', 'Bearer x']) {
      const response = await call(plain, 'GET', `/token?service=${plain.host}&scope=repository:x/y:pull`, {
        auth,
      });
      expect(response.status).toBe(401);
      expect(await errorOf(response)).toBe('UNAUTHORIZED');
      expect(response.headers.get('www-authenticate')).toBe(`Basic realm="${plain.host}"`);
    }
  });

  test('an anonymous token grants nothing when no rule lets anonymous in', async () => {
    const { status, body } = await getToken(plain, ['repository:x/y:pull,push', 'registry:catalog:*'], null);
    expect(status).toBe(200);
    const { payload } = await verify(plain, body.token);
    expect(payload.sub).toBe('');
    expect(accessOf(payload)).toEqual([]);
    await pushImage(plain, 'x/y', 'latest');
    const response = await call(plain, 'GET', '/v2/x/y/manifests/latest', { auth: bearer(body.token) });
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toBe('UNAUTHORIZED');
    expect(challengeOf(response).error).toBe('insufficient_scope');
  });

  test('POST /token (OAuth2 password grant) issues a token for the permitted part of the scope', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'bob',
      password: 'bob-password',
      service: ruled.host,
      client_id: 'test',
      scope: 'repository:team/app:pull,push,delete',
    });
    const response = await call(ruled, 'POST', '/token', {
      auth: null,
      body: form.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as TokenAnswer & { scope: string };
    expect(body.token).toBe(body.access_token);
    expect(body.scope).toBe('repository:team/app:pull,push,delete');
    const { payload } = await verify(ruled, body.access_token);
    expect(payload.sub).toBe('bob');
    expect(accessOf(payload)).toEqual([{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
  });

  test('POST /token refuses a wrong password (401) and other grant types (400)', async () => {
    const post = (fields: Record<string, string>) =>
      call(ruled, 'POST', '/token', {
        auth: null,
        body: new URLSearchParams(fields).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    const wrong = await post({ grant_type: 'password', username: 'bob', password: 'nope', scope: '' });
    expect(wrong.status).toBe(401);
    expect(await errorOf(wrong)).toBe('UNAUTHORIZED');
    const missing = await post({ grant_type: 'password', username: 'bob' });
    expect(missing.status).toBe(401);
    const refresh = await post({ grant_type: 'refresh_token', refresh_token: 'x' });
    expect(refresh.status).toBe(400);
    expect(((await refresh.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });
});

describe('auth.access rules', () => {
  test('anonymous pulls of public/* work with an anonymous token got by following the challenge', async () => {
    // Docker's flow: ping /v2/, read the challenge, ask the realm for the scope it needs.
    const ping = await call(ruled, 'GET', '/v2/', { auth: null });
    expect(ping.status).toBe(401);
    const { realm, service } = challengeOf(ping);
    expect(realm).toBe(`${ruled.url}/token`);
    expect(service).toBe(ruled.host);
    const answer = await fetch(`${realm}?service=${service}&scope=repository:public/app:pull,push`);
    expect(answer.status).toBe(200);
    const { token } = (await answer.json()) as TokenAnswer;
    // Anonymous may pull public/*, not push.
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'public/app', actions: ['pull'] },
    ]);
    const manifest = await call(ruled, 'GET', '/v2/public/app/manifests/latest', { auth: bearer(token) });
    expect(manifest.status).toBe(200);
    expect((await call(ruled, 'GET', '/v2/public/app/tags/list', { auth: bearer(token) })).status).toBe(200);
  });

  test('anonymous requests without a token: public/* pulls are served, anything else is challenged', async () => {
    const pull = await call(ruled, 'GET', '/v2/public/app/manifests/latest', { auth: null });
    expect(pull.status).toBe(200);
    const push = await call(ruled, 'POST', '/v2/public/app/blobs/uploads/', { auth: null });
    expect(push.status).toBe(401);
    expect(challengeOf(push)).toEqual({
      realm: `${ruled.url}/token`,
      service: ruled.host,
      scope: 'repository:public/app:pull,push',
    });
    const hidden = await call(ruled, 'GET', '/v2/private/app/manifests/latest', { auth: null });
    expect(hidden.status).toBe(401);
    expect(await errorOf(hidden)).toBe('UNAUTHORIZED');
    expect(challengeOf(hidden).scope).toBe('repository:private/app:pull');
    // The anonymous token the challenge leads to grants nothing there.
    const token = await tokenFor(ruled, ['repository:private/app:pull'], null);
    expect(accessOf(decodeJwt(token))).toEqual([]);
    const again = await call(ruled, 'GET', '/v2/private/app/manifests/latest', { auth: bearer(token) });
    expect(again.status).toBe(401);
  });

  test('bob can push to team/* with a token; elsewhere his grants are pull-only or empty', async () => {
    const token = await tokenFor(ruled, ['repository:team/app:pull,push'], BOB);
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);
    const pushed = await pushImage({ ...ruled, adminAuth: bearer(token) }, 'team/app', 'v1');
    const pulled = await call(ruled, 'GET', `/v2/team/app/manifests/${pushed.digest}`, {
      auth: bearer(token),
    });
    expect(pulled.status).toBe(200);

    const elsewhere = await tokenFor(
      ruled,
      [
        'repository:private/app:pull,push',
        'repository:public/app:pull,push,delete',
        'repository:team/app:delete',
      ],
      BOB,
    );
    expect(accessOf(decodeJwt(elsewhere))).toEqual([
      { type: 'repository', name: 'public/app', actions: ['pull'] },
    ]);
  });

  test('admin is granted everything its rule allows, anywhere', async () => {
    const token = await tokenFor(ruled, ['repository:team/app:pull,push,delete'], ADMIN);
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] },
    ]);
  });

  test('a Bearer token lacking push is 401 with error="insufficient_scope" naming the needed scope', async () => {
    const token = await tokenFor(ruled, ['repository:public/app:pull,push'], BOB);
    const response = await call(ruled, 'POST', '/v2/public/app/blobs/uploads/', { auth: bearer(token) });
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toBe('UNAUTHORIZED');
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="${ruled.url}/token",service="${ruled.host}",scope="repository:public/app:pull,push",error="insufficient_scope"`,
    );
  });

  test('a mount challenge asks for pull on the source too: a client that follows it gets the blob mounted (201)', async () => {
    const content = `mountable ${Math.random()}`;
    const digest = await pushBlob({ ...ruled, adminAuth: ADMIN }, 'public/mount-source', content);
    const target = `team/mounted-${Math.random().toString(36).slice(2, 8)}`;
    const path = `/v2/${target}/blobs/uploads/?mount=${digest}&from=public/mount-source`;
    // A generic client: the scopes exactly as the challenge gives them, to the realm, then again.
    const challenged = await call(ruled, 'POST', path, { auth: null });
    expect(challenged.status).toBe(401);
    const { realm, service, scope } = challengeOf(challenged);
    const query = new URLSearchParams({ service: service as string, scope: scope as string });
    const answer = await fetch(`${realm}?${query}`, { headers: { Authorization: BOB } });
    expect(answer.status).toBe(200);
    const { token } = (await answer.json()) as TokenAnswer;
    const mounted = await call(ruled, 'POST', path, { auth: bearer(token) });
    expect(mounted.status).toBe(201);
    const location = mounted.headers.get('location') as string;
    expect(location).toBe(`/v2/${target}/blobs/${digest}`);
    const blob = await call(ruled, 'GET', location, { auth: bearer(token) });
    expect(await blob.text()).toBe(content);
  });

  test('a client following the mount challenge without pull on the source gets an upload (202), not an error', async () => {
    const digest = await pushBlob(
      { ...ruled, adminAuth: ADMIN },
      'private/mount-source',
      `hidden ${Math.random()}`,
    );
    const path = `/v2/team/unmounted/blobs/uploads/?mount=${digest}&from=private/mount-source`;
    const challenged = await call(ruled, 'POST', path, { auth: null });
    expect(challenged.status).toBe(401);
    const { realm, service, scope } = challengeOf(challenged);
    expect(scope).toBe('repository:team/unmounted:pull,push repository:private/mount-source:pull');
    const query = new URLSearchParams({ service: service as string, scope: scope as string });
    const { token } = (await (
      await fetch(`${realm}?${query}`, { headers: { Authorization: BOB } })
    ).json()) as TokenAnswer;
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'team/unmounted', actions: ['pull', 'push'] },
    ]);
    const started = await call(ruled, 'POST', path, { auth: bearer(token) });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toMatch(/^\/v2\/team\/unmounted\/blobs\/uploads\/[0-9a-f-]{36}/);
    expect(
      (await call(ruled, 'GET', `/v2/team/unmounted/blobs/${digest}`, { auth: bearer(token) })).status,
    ).toBe(404);
  });

  test('a token for one repository does not open another', async () => {
    const token = await tokenFor(ruled, ['repository:private/app:pull'], ADMIN);
    expect((await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: bearer(token) })).status).toBe(200);
    const other = await call(ruled, 'GET', '/v2/public/app/tags/list', { auth: bearer(token) });
    expect(other.status).toBe(401);
    expect(challengeOf(other).error).toBe('insufficient_scope');
  });

  test('Basic credentials work directly on the API (curl -u), within the same rules', async () => {
    const ping = await call(ruled, 'GET', '/v2/', { auth: BOB });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({});
    const digest = await pushBlob({ ...ruled, adminAuth: BOB }, 'team/basic', `bob's blob ${Math.random()}`);
    expect((await call(ruled, 'GET', `/v2/team/basic/blobs/${digest}`, { auth: BOB })).status).toBe(200);
    const denied = await call(ruled, 'DELETE', `/v2/team/basic/blobs/${digest}`, { auth: BOB });
    expect(denied.status).toBe(403);
    expect(await errorOf(denied)).toBe('DENIED');
    const hidden = await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: BOB });
    expect(hidden.status).toBe(403);
    const wrong = await call(ruled, 'GET', '/v2/', { auth: basic('bob', 'not-his') });
    expect(wrong.status).toBe(401);
    expect(await errorOf(wrong)).toBe('UNAUTHORIZED');
  });

  test('the default admin/secret does not work once users are configured', async () => {
    expect((await call(ruled, 'GET', '/v2/', { auth: basic('admin', 'secret') })).status).toBe(401);
    expect((await getToken(ruled, [], basic('admin', 'secret'))).status).toBe(401);
  });
});

describe('admin endpoints', () => {
  const ADMIN_SCOPE = 'registry:admin:*';
  const endpoints: [string, string][] = [
    ['POST', '/admin/gc?mode=dry-run'],
    ['GET', '/admin/policies'],
    ['GET', '/admin/allowlist'],
    ['GET', '/admin/webhooks'],
    ['GET', '/admin/webhooks/1/deliveries'],
    ['POST', '/admin/vulndb/import'],
    ['GET', '/admin/vulndb'],
    ['POST', '/admin/vulndb/update'],
    ['GET', '/admin/immutable-tags'],
    ['GET', '/admin/audit'],
  ];

  test("an admin's token without registry:admin:* opens no /admin endpoint: 401 insufficient_scope asking for it", async () => {
    const pullOnly = await tokenFor(ruled, ['repository:private/app:pull'], ADMIN);
    for (const [method, url] of endpoints) {
      const response = await call(ruled, method, url, { auth: bearer(pullOnly) });
      expect(response.status, `${method} ${url}`).toBe(401);
      expect(await errorOf(response)).toBe('UNAUTHORIZED');
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer realm="${ruled.url}/token",service="${ruled.host}",scope="${ADMIN_SCOPE}",error="insufficient_scope"`,
      );
    }
  });

  test('/token grants registry:admin:* to administrators who ask for it, and the token opens /admin', async () => {
    const token = await tokenFor(ruled, [ADMIN_SCOPE], ADMIN);
    expect(accessOf(decodeJwt(token))).toEqual([{ type: 'registry', name: 'admin', actions: ['*'] }]);
    expect((await call(ruled, 'GET', '/admin/policies', { auth: bearer(token) })).status).toBe(200);
    // Asked for with a repository scope, it is granted beside it.
    const both = await tokenFor(ruled, ['repository:private/app:pull', ADMIN_SCOPE], ADMIN);
    expect(accessOf(decodeJwt(both)).map((e) => `${e.type}:${e.name}`)).toEqual([
      'repository:private/app',
      'registry:admin',
    ]);
  });

  test('a user who is no administrator is not granted registry:admin:*, and is refused either way', async () => {
    const token = await tokenFor(ruled, [ADMIN_SCOPE, 'registry:catalog:*'], BOB);
    expect(accessOf(decodeJwt(token))).toEqual([{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const byToken = await call(ruled, 'GET', '/admin/policies', { auth: bearer(token) });
    expect(byToken.status).toBe(401);
    expect(challengeOf(byToken)).toMatchObject({ scope: ADMIN_SCOPE, error: 'insufficient_scope' });
    const byBasic = await call(ruled, 'GET', '/admin/policies', { auth: BOB });
    expect(byBasic.status).toBe(403);
    expect(await errorOf(byBasic)).toBe('DENIED');
  });

  test('anonymous callers are challenged for registry:admin:*; Basic credentials of an admin keep working', async () => {
    const anonymous = await call(ruled, 'GET', '/admin/policies', { auth: null });
    expect(anonymous.status).toBe(401);
    expect(challengeOf(anonymous).scope).toBe(ADMIN_SCOPE);
    expect(challengeOf(anonymous).error).toBeUndefined();
    expect((await call(ruled, 'GET', '/admin/policies', { auth: ADMIN })).status).toBe(200);
  });
});

describe('tokens the registry did not issue, or no longer honours', () => {
  test('a token signed by another key is refused with 401 error="invalid_token"', async () => {
    const genuine = await tokenFor(ruled, ['repository:private/app:pull'], ADMIN);
    const { privateKey } = await generateKeyPair('ES256');
    const claims = decodeJwt(genuine);
    const forged = await new SignJWT({ access: claims.access })
      .setProtectedHeader({ alg: 'ES256', kid: decodeProtectedHeader(genuine).kid as string, typ: 'JWT' })
      .setIssuer('registry')
      .setSubject('admin')
      .setAudience(ruled.host)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: bearer(genuine) })).status).toBe(
      200,
    );
    const response = await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: bearer(forged) });
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toBe('UNAUTHORIZED');
    expect(challengeOf(response)).toMatchObject({
      scope: 'repository:private/app:pull',
      error: 'invalid_token',
    });
  });

  test('a genuine token whose claims were altered, or signed with "none", is refused', async () => {
    const genuine = await tokenFor(ruled, ['repository:public/app:pull'], BOB);
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(
      JSON.stringify({ ...claims, access: [{ type: 'repository', name: 'private/app', actions: ['pull'] }] }),
    ).toString('base64url');
    const tampered = `${header}.${widened}.${signature}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${widened}.`;
    for (const token of [tampered, none]) {
      const response = await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: bearer(token) });
      expect(response.status).toBe(401);
      expect(challengeOf(response).error).toBe('invalid_token');
    }
  });

  test('a token issued by another registry (another key, another audience) is refused', async () => {
    const foreign = await tokenFor(plain, ['repository:private/app:pull'], plain.adminAuth);
    const response = await call(ruled, 'GET', '/v2/private/app/tags/list', { auth: bearer(foreign) });
    expect(response.status).toBe(401);
    expect(challengeOf(response).error).toBe('invalid_token');
  });

  test('an expired token is refused with 401 error="invalid_token", even one honoured before', async () => {
    const { body } = await getToken(brief, ['repository:short/lived:pull'], brief.adminAuth);
    expect(body.expires_in).toBe(2);
    const { exp } = decodeJwt(body.token) as { exp: number };
    // Honoured while valid (the repository is unknown: 404, not 401)...
    const before = await call(brief, 'GET', '/v2/short/lived/tags/list', { auth: bearer(body.token) });
    expect(before.status).toBe(404);
    // ...and refused once it has expired, although the registry had verified it before.
    briefClock.advance(exp * 1000 - briefClock.now());
    const after = await call(brief, 'GET', '/v2/short/lived/tags/list', { auth: bearer(body.token) });
    expect(after.status).toBe(401);
    expect(await errorOf(after)).toBe('UNAUTHORIZED');
    expect(challengeOf(after).error).toBe('invalid_token');
  });
});

/** Runs `registry user add NAME --config FILE` with the password on stdin. */
const userAdd = (configFile: string, name: string, password: string) =>
  runCli(['user', 'add', name, '--config', configFile], { input: `${password}\n` });

describe('registry user add', () => {
  let dataDir: string;
  let databaseUrl: string | undefined;
  let configFile: string;
  let registry: TestRegistry | undefined;

  let data: CliData | undefined;

  beforeAll(async () => {
    // The registry is not running while the CLI writes: PGlite is one process's database.
    data = await createCliData('registry-auth-');
    ({ dataDir, databaseUrl, configFile } = data);
  });

  afterAll(async () => {
    await registry?.close();
    await data?.remove();
  });

  test('`registry user add` refuses a short password and an invalid name', async () => {
    const [short, invalid] = await Promise.all([
      userAdd(configFile, 'carol', 'short'),
      userAdd(configFile, 'car ol', 'long-enough-password'),
    ]);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('at least 8 characters');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('invalid user name');
  });

  test('after `registry user add bob`, bob can log in and the default admin/secret stops working', async () => {
    const added = await userAdd(configFile, 'bob', 'bob-password');
    expect(added.code).toBe(0);
    // It says that it ended the default account, and that auth.admins (admin) names nobody now.
    expect(added.stdout).toBe(
      'user bob saved\nthe default account admin/secret is no longer accepted: ' +
        'it applies only while no user is configured or added\n',
    );
    expect(added.stderr).toBe(
      'registry: warning: auth.admins (admin) names no user that exists: the /admin/ endpoints ' +
        'accept nobody; add one of them, or list bob in auth.admins\n',
    );
    // Adding admin itself: the default account is already gone, and auth.admins names a user again.
    const admin = await userAdd(configFile, 'admin', 'admin-password');
    expect(admin.code).toBe(0);
    expect(admin.stdout).toBe('user admin saved\n');
    expect(admin.stderr).toBe('');

    registry = await startTestRegistry({
      dataDir,
      ...(databaseUrl ? { databaseUrl } : {}),
      config: { auth: THROTTLE_OFF },
    });
    const ping = await call(registry, 'GET', '/v2/', { auth: basic('bob', 'bob-password') });
    expect(ping.status).toBe(200);
    const token = await tokenFor(registry, ['repository:bob/app:pull,push'], basic('bob', 'bob-password'));
    expect(accessOf(decodeJwt(token))).toEqual([
      { type: 'repository', name: 'bob/app', actions: ['pull', 'push'] },
    ]);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('bob', 'wrong-password') })).status).toBe(401);
    // With a user in the database the documented default no longer applies.
    expect((await call(registry, 'GET', '/v2/', { auth: basic('admin', 'secret') })).status).toBe(401);
    expect((await getToken(registry, [], basic('admin', 'secret'))).status).toBe(401);
    // Nothing of the refused invocations was saved.
    expect((await call(registry, 'GET', '/v2/', { auth: basic('carol', 'short') })).status).toBe(401);
  });
});

describe('registry user add while the registry runs', () => {
  // Two processes on one database: PostgreSQL (PGlite is one process's database), whichever project
  // runs the file.
  let dataDir: string;
  let databaseUrl: string;
  let configFile: string;
  let registry: TestRegistry;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'registry-auth-live-'));
    databaseUrl = await createPostgresDatabase();
    configFile = path.join(dataDir, 'cli.yaml');
    await writeFile(
      configFile,
      `data_dir: ${JSON.stringify(dataDir)}\ndatabase:\n  url: ${JSON.stringify(databaseUrl)}\n`,
    );
    registry = await startTestRegistry({
      dataDir,
      databaseUrl,
      database: 'postgres',
      config: { auth: THROTTLE_OFF },
    });
  });

  afterAll(async () => {
    await registry?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('the first user replaces admin/secret at once, though admin/secret was just used', async () => {
    expect((await call(registry, 'GET', '/v2/', { auth: basic('admin', 'secret') })).status).toBe(200);
    expect((await userAdd(configFile, 'dave', 'dave-password')).code).toBe(0);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('admin', 'secret') })).status).toBe(401);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('dave', 'dave-password') })).status).toBe(200);
  });

  test('a changed password takes effect at once, though the old one was just used', async () => {
    expect((await userAdd(configFile, 'dave', 'dave-new-password')).code).toBe(0);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('dave', 'dave-password') })).status).toBe(401);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('dave', 'dave-new-password') })).status).toBe(
      200,
    );
  });
});
