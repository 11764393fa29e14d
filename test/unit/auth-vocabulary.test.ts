// shared/'s auth vocabulary, which origin and edge both answer from: the Authorization header as
// read, the challenge, what each endpoint requires, and token verification (exp strict, nbf with
// 5 s leeway).
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS } from '../../origin/http/app.ts';
import { readCredentials } from '../../shared/authorization-header.ts';
import { importVerifyKey, tokenKeyId, type VerifyKey, verifyToken } from '../../shared/bearer-token.ts';
import { challenge, unauthorized } from '../../shared/challenge.ts';
import { grantMeets, REQUIREMENTS, requirementFor } from '../../shared/requirement.ts';
import type { Route, RouteKind } from '../../shared/route.ts';

const b64 = (text: string) => btoa(text);

describe('the Authorization header is read alike whatever its spacing and case', () => {
  it.each([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    ['   ', { kind: 'none' }],
    ['Bearer tok', { kind: 'bearer', token: 'tok' }],
    ['bearer tok', { kind: 'bearer', token: 'tok' }],
    ['BEARER   tok  ', { kind: 'bearer', token: 'tok' }],
    ['  Bearer\ttok', { kind: 'bearer', token: 'tok' }],
    [
      `Basic ${b64('alice:s3cret:with:colons')}`,
      { kind: 'basic', user: 'alice', password: 's3cret:with:colons' },
    ],
    [`basic    ${b64('alice:')}  `, { kind: 'basic', user: 'alice', password: '' }],
    // Base64 of UTF-8, as clients send names and passwords outside ASCII.
    [
      `Basic ${Buffer.from('zoë:pässword').toString('base64')}`,
      { kind: 'basic', user: 'zoë', password: 'pässword' },
    ],
  ])('%j', (header, expected) => expect(readCredentials(header)).toEqual(expected));

  it('Bearer with no token after it is an invalid token, however it is spaced', () => {
    for (const header of ['Bearer', 'Bearer ', 'bearer    ', ' BEARER\t'])
      expect(readCredentials(header), header).toEqual({ kind: 'refused', refusal: 'invalid-token' });
  });

  it('Basic that is not base64 of user:password is malformed', () => {
    for (const header of [
      'Basic',
      'Basic ',
      'Basic !!!',
      `Basic ${b64('nocolon')}`,
      `Basic ${b64(':nouser')}`,
    ])
      expect(readCredentials(header), header).toEqual({ kind: 'refused', refusal: 'malformed-basic' });
  });

  it('any other scheme is unsupported, named in lower case', () => {
    expect(readCredentials('Digest x=1')).toEqual({
      kind: 'refused',
      refusal: { unsupportedScheme: 'digest' },
    });
    expect(readCredentials('x')).toEqual({ kind: 'refused', refusal: { unsupportedScheme: 'x' } });
  });
});

describe('the challenge', () => {
  const realm = { publicUrl: 'https://registry.example', service: 'registry.example' };
  const base = 'Bearer realm="https://registry.example/token",service="registry.example"';

  it('asks for the scope the request needs, a push as pull,push', () => {
    expect(challenge(realm, { kind: 'authenticated' })).toBe(base);
    expect(challenge(realm, { kind: 'catalog' })).toBe(`${base},scope="registry:catalog:*"`);
    expect(challenge(realm, { kind: 'admin' })).toBe(`${base},scope="registry:admin:*"`);
    expect(challenge(realm, { kind: 'repository', name: 'a/b', action: 'pull' })).toBe(
      `${base},scope="repository:a/b:pull"`,
    );
    expect(challenge(realm, { kind: 'repository', name: 'a/b', action: 'push' })).toBe(
      `${base},scope="repository:a/b:pull,push"`,
    );
    expect(challenge(realm, { kind: 'repository', name: 'a', action: 'delete' }, 'invalid_token')).toBe(
      `${base},scope="repository:a:delete",error="invalid_token"`,
    );
  });

  it('a mount asks for pull on its source too, after the push scope, space-separated', () => {
    const mount = {
      kind: 'repository',
      name: 'a',
      action: 'push',
      wanted: { name: 'b/c', action: 'pull' },
    } as const;
    expect(challenge(realm, mount)).toBe(`${base},scope="repository:a:pull,push repository:b/c:pull"`);
    expect(challenge(realm, mount, 'insufficient_scope')).toBe(
      `${base},scope="repository:a:pull,push repository:b/c:pull",error="insufficient_scope"`,
    );
  });

  it('each refusal says what went wrong, and the token errors name themselves in the challenge', () => {
    const pull = { kind: 'repository', name: 'a', action: 'pull' } as const;
    const answer = (refusal: Parameters<typeof unauthorized>[2]) => {
      const error = unauthorized(realm, pull, refusal);
      return [error.status, error.code, error.message, error.headers?.['WWW-Authenticate']];
    };
    const scoped = `${base},scope="repository:a:pull"`;
    expect(answer('authentication-required')).toEqual([
      401,
      'UNAUTHORIZED',
      'authentication required',
      scoped,
    ]);
    expect(answer('invalid-token')).toEqual([
      401,
      'UNAUTHORIZED',
      'invalid or expired token',
      `${scoped},error="invalid_token"`,
    ]);
    expect(answer('insufficient-scope')).toEqual([
      401,
      'UNAUTHORIZED',
      'insufficient scope',
      `${scoped},error="insufficient_scope"`,
    ]);
    expect(answer('malformed-basic')).toEqual([401, 'UNAUTHORIZED', 'malformed Basic credentials', scoped]);
    expect(answer({ unsupportedScheme: 'digest' })).toEqual([
      401,
      'UNAUTHORIZED',
      'unsupported authorization scheme digest',
      scoped,
    ]);
    expect(answer('token-required')[2]).toBe(
      'authentication required: get a token from https://registry.example/token',
    );
  });
});

describe('what each endpoint requires', () => {
  const H64 = 'a'.repeat(64);
  const routes: Route[] = [
    { kind: 'base' },
    { kind: 'catalog' },
    { kind: 'tags', name: 'a' },
    { kind: 'manifest', name: 'a', reference: 'v1' },
    { kind: 'manifest-scan', name: 'a', reference: 'v1' },
    { kind: 'scan-summary', name: 'a' },
    { kind: 'blob', name: 'a', digest: `sha256:${H64}` },
    { kind: 'uploads', name: 'a' },
    { kind: 'upload', name: 'a', uploadId: 'u' },
    { kind: 'referrers', name: 'a', digest: `sha256:${H64}` },
  ];
  const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'constructor', 'toString'];

  it('covers every route kind', () => {
    expect(routes.map((r) => r.kind).sort()).toEqual(Object.keys(REQUIREMENTS).sort());
  });

  it('origin has a handler for exactly the methods the table requires something of', () => {
    for (const kind of Object.keys(REQUIREMENTS) as RouteKind[]) {
      expect(Object.keys(HANDLERS[kind]).sort(), kind).toEqual(Object.keys(REQUIREMENTS[kind]).sort());
    }
  });

  it('reads need pull, writes push, deletes delete; the ping any caller who signed in', () => {
    const need = (route: Route, method: string) => {
      const r = requirementFor(route, method, new URLSearchParams());
      return r === null ? null : r.kind === 'repository' ? `${r.action} ${r.name}` : r.kind;
    };
    const table = Object.fromEntries(
      routes.map((route) => [
        route.kind,
        Object.fromEntries(METHODS.map((m) => [m, need(route, m)]).filter(([, n]) => n !== null)),
      ]),
    );
    expect(table).toEqual({
      base: { GET: 'authenticated', HEAD: 'authenticated' },
      catalog: { GET: 'catalog' },
      tags: { GET: 'pull a' },
      manifest: { GET: 'pull a', HEAD: 'pull a', PUT: 'push a', DELETE: 'delete a' },
      'manifest-scan': { GET: 'pull a', HEAD: 'pull a', POST: 'push a' },
      'scan-summary': { GET: 'pull a', HEAD: 'pull a' },
      blob: { GET: 'pull a', HEAD: 'pull a', DELETE: 'delete a' },
      uploads: { POST: 'push a' },
      upload: { GET: 'push a', PATCH: 'push a', PUT: 'push a', DELETE: 'push a' },
      referrers: { GET: 'pull a' },
    });
  });

  it('a mount wants pull on its source without needing it; nothing else wants more', () => {
    const uploads: Route = { kind: 'uploads', name: 'a' };
    const mount = (query: string) => requirementFor(uploads, 'POST', new URLSearchParams(query));
    const digest = `sha256:${H64}`;
    expect(mount(`mount=${digest}&from=b/c`)).toEqual({
      kind: 'repository',
      name: 'a',
      action: 'push',
      wanted: { name: 'b/c', action: 'pull' },
    });
    // No mount, no source, the target itself, or a source that is no repository name: push alone.
    for (const query of [
      '',
      `from=b`,
      `mount=${digest}`,
      `mount=${digest}&from=a`,
      `mount=${digest}&from=B@d`,
    ])
      expect(mount(query), query).toEqual({ kind: 'repository', name: 'a', action: 'push' });
    const manifest: Route = { kind: 'manifest', name: 'a', reference: 'v1' };
    expect(requirementFor(manifest, 'PUT', new URLSearchParams(`mount=${digest}&from=b`))).toEqual({
      kind: 'repository',
      name: 'a',
      action: 'push',
    });
    // Met by push on the target alone: the source is only asked for.
    const push = [{ type: 'repository', name: 'a', actions: ['push'] }];
    expect(grantMeets(push, mount(`mount=${digest}&from=b`) as NonNullable<ReturnType<typeof mount>>)).toBe(
      true,
    );
  });

  it('a token meets a requirement only with the grant it names', () => {
    const access = [
      { type: 'repository', name: 'a', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ];
    expect(grantMeets([], { kind: 'authenticated' })).toBe(true);
    expect(grantMeets(access, { kind: 'catalog' })).toBe(true);
    expect(grantMeets([], { kind: 'catalog' })).toBe(false);
    // The catalog grant is no admin grant.
    expect(grantMeets(access, { kind: 'admin' })).toBe(false);
    expect(grantMeets([{ type: 'registry', name: 'admin', actions: ['*'] }], { kind: 'admin' })).toBe(true);
    expect(grantMeets(access, { kind: 'repository', name: 'a', action: 'pull' })).toBe(true);
    expect(grantMeets(access, { kind: 'repository', name: 'a', action: 'push' })).toBe(false);
    expect(grantMeets(access, { kind: 'repository', name: 'b', action: 'pull' })).toBe(false);
  });
});

describe('token verification', () => {
  const expect_ = { issuer: 'registry', audience: 'registry.example' };
  /** The verifier's time (s): tokens are signed relative to it, so no second can tick in between. */
  const now = Math.floor(Date.now() / 1000);
  const verify = (token: string) => verifyToken(token, key, expect_, now * 1000);
  let privateJwk: JWK;
  let key: VerifyKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateJwk = await exportJWK(pair.privateKey);
    key = await importVerifyKey(await exportJWK(pair.publicKey));
  });

  /** A token like origin's, with times in seconds from now and claims overridden (undefined: left out). */
  async function sign(times: { exp?: number; nbf?: number }, claims: Record<string, unknown> = {}) {
    const payload: Record<string, unknown> = {
      access: [{ type: 'repository', name: 'a', actions: ['pull'] }],
      iss: 'registry',
      sub: 'alice',
      aud: 'registry.example',
      iat: now,
      exp: now + (times.exp ?? 300),
      ...(times.nbf === undefined ? {} : { nbf: now + times.nbf }),
      ...claims,
    };
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(await importJWK(privateJwk, 'ES256'));
  }

  it('a valid token yields its claims, and its key id is read before verification', async () => {
    const token = await sign({});
    expect(tokenKeyId(token)).toBe('k1');
    const claims = await verify(token);
    expect(claims?.sub).toBe('alice');
    expect(claims?.access).toEqual([{ type: 'repository', name: 'a', actions: ['pull'] }]);
  });

  it('exp is strict: a token 2 s past it is refused although nbf has 5 s of leeway', async () => {
    expect(await verify(await sign({ exp: -2 }))).toBeNull();
    expect(await verify(await sign({ exp: 0 }))).toBeNull();
    expect(await verify(await sign({ exp: 3 }))).not.toBeNull();
  });

  it('nbf may lie up to 5 s in the future', async () => {
    expect(await verify(await sign({ nbf: 3 }))).not.toBeNull();
    expect(await verify(await sign({ nbf: 8 }))).toBeNull();
  });

  it('another issuer or audience, a malformed access claim, or no exp or sub is refused', async () => {
    expect(await verify(await sign({}, { iss: 'someone' }))).toBeNull();
    expect(await verify(await sign({}, { aud: 'elsewhere' }))).toBeNull();
    expect(await verify(await sign({}, { aud: ['elsewhere', 'registry.example'] }))).not.toBeNull();
    expect(await verify(await sign({}, { access: 'all' }))).toBeNull();
    expect(await verify(await sign({}, { access: [{ type: 'repository', name: 'a' }] }))).toBeNull();
    const noExp = await sign({}, { exp: undefined });
    expect(await verify(noExp)).toBeNull();
    expect(await verify(await sign({}, { sub: undefined }))).toBeNull();
  });

  it('a token signed by another key, or garbage, is refused; only ES256 tokens name a key id', async () => {
    const other = await generateKeyPair('ES256');
    const forged = await new SignJWT({ access: [], iss: 'registry', sub: 'alice', aud: 'registry.example' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setExpirationTime(now + 300)
      .sign(other.privateKey);
    expect(await verify(forged)).toBeNull();
    for (const garbage of ['', 'not-a-jwt', 'a.b.c']) {
      expect(await verify(garbage), garbage).toBeNull();
      expect(tokenKeyId(garbage), garbage).toBeNull();
    }
    const hs256 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new Uint8Array(32));
    expect(tokenKeyId(hs256)).toBeNull();
    expect(await verify(hs256)).toBeNull();
  });
});
