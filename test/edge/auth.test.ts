// Auth at the edge, without a round trip: origin's ES256 tokens verified against its JWKS (fetched
// once, fetched again for an unknown key id, at most once per 10 s), answers identical to origin's
// (both build them from shared/), well-formed Basic credentials sent to origin's token realm, and
// tokens kept out of the cache key.
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushImage } from '../harness/client.ts';
import { startCountingProxy } from '../harness/counting-proxy.ts';
import { startTestEdge } from '../harness/edge.ts';
import { startTestRegistry } from '../harness/registry.ts';
import {
  ask,
  basic,
  bearer,
  type EdgeSetup,
  pullToken,
  signingKey,
  signToken,
  startEdgeSetup,
  token,
} from './support.ts';

const NAME = 'edge/auth';
const OTHER = 'edge/auth-other';

let setup: EdgeSetup;
let digest: string;

beforeAll(async () => {
  setup = await startEdgeSetup();
  digest = (await pushImage(setup.registry, NAME, 'v1')).digest;
  await pushImage(setup.registry, OTHER, 'v1');
});
afterAll(async () => setup?.close());

/** The same request to both tiers; the answers' status, challenge and body. */
async function compare(path: string, authorization?: string) {
  const answer = async (base: string) => {
    const response = await ask(base, path, authorization ? { auth: authorization } : {});
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: await response.text(),
    };
  };
  return { edge: await answer(setup.edge.url), origin: await answer(setup.registry.url) };
}

const service = () => setup.registry.running.services.config.auth.service;
const realm = () => `${setup.registry.url}/token`;

describe('requests without a valid token get origin’s challenge', () => {
  test('no credentials: 401 with origin’s challenge, for /v2/ and for a repository', async () => {
    for (const path of [
      '/v2/',
      `/v2/${NAME}/manifests/v1`,
      `/v2/${NAME}/blobs/${digest}`,
      `/v2/${NAME}/tags/list`,
    ]) {
      const { edge, origin } = await compare(path);
      expect(edge.status, path).toBe(401);
      expect(edge, path).toEqual(origin);
    }
    const { edge } = await compare(`/v2/${NAME}/manifests/v1`);
    expect(edge.challenge).toBe(
      `Bearer realm="${realm()}",service="${service()}",scope="repository:${NAME}:pull"`,
    );
  });

  test('every refused credential gets the same status, body and challenge from the edge as from origin', async () => {
    const { kid, privateJwk } = await signingKey(setup.registry);
    const pull = [{ type: 'repository', name: NAME, actions: ['pull'] }];
    const expired = await signToken(privateJwk, kid, { aud: service(), access: pull, expiresIn: -5 });
    const otherRepository = await pullToken(setup.registry, OTHER);
    const cases: [string, string | undefined, string, string | null][] = [
      ['no Authorization', undefined, 'authentication required', null],
      ['Bearer with nothing after it', 'Bearer', 'invalid or expired token', 'invalid_token'],
      ['Bearer and a space', 'Bearer ', 'invalid or expired token', 'invalid_token'],
      ['Bearer, odd case', 'bEaReR', 'invalid or expired token', 'invalid_token'],
      ['Bearer garbage', 'Bearer garbage', 'invalid or expired token', 'invalid_token'],
      ['Bearer three garbage parts', 'Bearer a.b.c', 'invalid or expired token', 'invalid_token'],
      ['an expired token', bearer(expired), 'invalid or expired token', 'invalid_token'],
      ['a token for another repository', bearer(otherRepository), 'insufficient scope', 'insufficient_scope'],
      [
        'the same, odd case and spacing',
        `bearer   ${otherRepository}`,
        'insufficient scope',
        'insufficient_scope',
      ],
      ['Basic with nothing after it', 'Basic', 'malformed Basic credentials', null],
      ['Basic garbage', 'Basic !!!garbage', 'malformed Basic credentials', null],
      ['Basic without a colon', `Basic ${btoa('nocolon')}`, 'malformed Basic credentials', null],
      ['an unknown scheme', 'Digest username="admin"', 'unsupported authorization scheme digest', null],
      ['a bare word', 'garbage', 'unsupported authorization scheme garbage', null],
    ];
    const scoped = `Bearer realm="${realm()}",service="${service()}",scope="repository:${NAME}:pull"`;
    for (const [what, authorization, message, error] of cases) {
      const { edge, origin } = await compare(`/v2/${NAME}/manifests/v1`, authorization);
      expect(edge, what).toEqual(origin);
      expect(edge.status, what).toBe(401);
      expect(JSON.parse(edge.body), what).toEqual({ errors: [{ code: 'UNAUTHORIZED', message }] });
      expect(edge.challenge, what).toBe(error ? `${scoped},error="${error}"` : scoped);
    }
  });

  test('Basic credentials get the Bearer challenge, and the token from its realm is accepted', async () => {
    const response = await ask(setup.edge.url, `/v2/${NAME}/manifests/v1`, {
      auth: basic('admin', 'secret'),
    });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toBe(
      `Bearer realm="${realm()}",service="${service()}",scope="repository:${NAME}:pull"`,
    );
    // What docker does next: ask the realm for the scope, with the Basic credentials.
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const url = new URL(params.realm as string);
    url.searchParams.set('service', params.service as string);
    url.searchParams.set('scope', params.scope as string);
    const issued = await fetch(url, { headers: { Authorization: basic('admin', 'secret') } });
    const { token: granted } = (await issued.json()) as { token: string };
    const retried = await ask(setup.edge.url, `/v2/${NAME}/manifests/v1`, { auth: bearer(granted) });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('docker-content-digest')).toBe(digest);
    // /v2/ (docker login) takes any valid token.
    const login = await ask(setup.edge.url, '/v2/', { auth: bearer(await token(setup.registry)) });
    expect(login.status).toBe(200);
    expect(await login.json()).toEqual({});
  });

  test('a token signed by another key is invalid_token, as at origin', async () => {
    const { kid } = await signingKey(setup.registry);
    const other = await generateKeyPair('ES256', { extractable: true });
    const forged = await signToken(await exportJWK(other.privateKey), kid, {
      aud: service(),
      access: [{ type: 'repository', name: NAME, actions: ['pull'] }],
    });
    for (const path of ['/v2/', `/v2/${NAME}/manifests/v1`, `/v2/${NAME}/blobs/${digest}`]) {
      const { edge, origin } = await compare(path, bearer(forged));
      expect(edge.status, path).toBe(401);
      expect(edge, path).toEqual(origin);
    }
    const { edge } = await compare(`/v2/${NAME}/manifests/v1`, bearer(forged));
    expect(edge.challenge).toContain('error="invalid_token"');
    for (const garbage of ['not-a-jwt', 'a.b.c', '']) {
      const response = await ask(setup.edge.url, `/v2/${NAME}/manifests/v1`, { auth: `Bearer ${garbage}` });
      expect(response.status, garbage).toBe(401);
    }
  });

  test('expired, not yet valid, and wrong-audience or wrong-issuer tokens are invalid_token, as at origin', async () => {
    const { kid, privateJwk } = await signingKey(setup.registry);
    const access = [{ type: 'repository', name: NAME, actions: ['pull'] }];
    const valid = await signToken(privateJwk, kid, { aud: service(), access });
    expect((await ask(setup.edge.url, `/v2/${NAME}/manifests/v1`, { auth: bearer(valid) })).status).toBe(200);
    const tokens = {
      expired: await signToken(privateJwk, kid, { aud: service(), access, expiresIn: -5 }),
      'not yet valid': await signToken(privateJwk, kid, { aud: service(), access, notBeforeIn: 60 }),
      'another audience': await signToken(privateJwk, kid, { aud: 'elsewhere.example', access }),
      'another issuer': await signToken(privateJwk, kid, { aud: service(), iss: 'someone-else', access }),
    };
    for (const [what, forged] of Object.entries(tokens)) {
      const { edge, origin } = await compare(`/v2/${NAME}/manifests/v1`, bearer(forged));
      expect(edge.status, what).toBe(401);
      expect(edge, what).toEqual(origin);
      expect(edge.challenge, what).toContain('error="invalid_token"');
    }
  });

  test('a token for another repository is insufficient_scope, as at origin', async () => {
    const otherToken = bearer(await pullToken(setup.registry, OTHER));
    for (const path of [`/v2/${NAME}/manifests/v1`, `/v2/${NAME}/blobs/${digest}`, `/v2/${NAME}/tags/list`]) {
      const { edge, origin } = await compare(path, otherToken);
      expect(edge.status, path).toBe(401);
      expect(edge, path).toEqual(origin);
      expect(edge.challenge).toContain('error="insufficient_scope"');
    }
    // A push-only grant does not allow pulls either.
    const pushOnly = bearer(await token(setup.registry, `repository:${NAME}:push`));
    const { edge, origin } = await compare(`/v2/${NAME}/manifests/v1`, pushOnly);
    expect(edge).toEqual(origin);
  });

  test('tokens are not part of the cache key: another client’s token is served the cached answer', async () => {
    const first = await ask(setup.edge.url, `/v2/${NAME}/manifests/${digest}`, {
      auth: bearer(await pullToken(setup.registry, NAME)),
    });
    expect(first.status).toBe(200);
    const before = setup.proxy.requests.length;
    const { kid, privateJwk } = await signingKey(setup.registry);
    const second = await signToken(privateJwk, kid, {
      aud: service(),
      access: [{ type: 'repository', name: NAME, actions: ['pull'] }],
    });
    const again = await ask(setup.edge.url, `/v2/${NAME}/manifests/${digest}`, { auth: bearer(second) });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-edge-cache')).toBe('HIT');
    expect(setup.proxy.requests.slice(before)).toEqual([]);
  });
});

describe('origin’s keys', () => {
  test('a token naming an unknown key makes one JWKS fetch; more within 10 s make none', async () => {
    const jwksFetches = () => setup.proxy.count('GET', '/token/jwks.json');
    const stranger = await generateKeyPair('ES256', { extractable: true });
    const strangerJwk = await exportJWK(stranger.privateKey);
    const before = jwksFetches();
    for (const kid of ['unknown-1', 'unknown-2', 'unknown-3']) {
      const forged = await signToken(strangerJwk, kid, { aud: service() });
      const response = await ask(setup.edge.url, '/v2/', { auth: bearer(forged) });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    expect(jwksFetches() - before).toBe(1);
  });

  test('when origin’s signing key changes, the first token with the new key fetches the new key set', async () => {
    const first = await startTestRegistry();
    const proxy = await startCountingProxy(first.url);
    const { auth } = first.running.services.config;
    const edge = await startTestEdge({
      originUrl: proxy.url,
      originPublicUrl: first.url,
      service: auth.service,
      issuer: auth.issuer,
    });
    let second: Awaited<ReturnType<typeof startTestRegistry>> | undefined;
    let firstOpen = true;
    try {
      const before = await ask(edge.url, '/v2/', { auth: bearer(await token(first)) });
      expect(before.status).toBe(200);
      const firstKid = (await signingKey(first)).kid;
      // A new origin at the same address (the one the edge reaches: the proxy) for the same
      // service, with a new key (a fresh database).
      firstOpen = false;
      await first.close();
      second = await startTestRegistry({ config: { auth: { service: auth.service } } });
      proxy.retarget(second.url);
      expect((await signingKey(second)).kid).not.toBe(firstKid);
      const after = await ask(edge.url, '/v2/', { auth: bearer(await token(second)) });
      expect(after.status).toBe(200);
      expect(proxy.count('GET', '/token/jwks.json')).toBe(2);
    } finally {
      await edge.close();
      await proxy.close();
      await second?.close();
      if (firstOpen) await first.close();
    }
  });
});
