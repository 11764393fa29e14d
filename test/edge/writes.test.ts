// The edge serves its own writes: a manifest PUT or DELETE passed through the edge replaces what
// the data centre cached about the repository's tags before the edge answers, so the next pull
// through it sees the change at once — every Accept variant, by tag and by digest, and the tags
// lists. TAG_TTL is long here and the clock never moves: nothing but the write can explain what
// the next read sees. Writes made at origin directly keep the TAG_TTL bound.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, OCI_MANIFEST, type PushedImage, pushImage } from '../harness/client.ts';
import { ACCEPT_ALL_MANIFESTS } from '../harness/oci-image.ts';
import type { TestRegistry } from '../harness/registry.ts';
import { ask, bearer, type EdgeSetup, pullToken, startEdgeSetup, token } from './support.ts';

/** Far longer than the tests take, and short of the tokens' 5 minutes once the clock moves past it. */
const TAG_TTL = 120;
const POLICY_TTL = 120;
/** The Accept headers a pull may send: each is its own entry in the edge's cache. */
const ACCEPTS = [undefined, OCI_MANIFEST, ACCEPT_ALL_MANIFESTS];

let setup: EdgeSetup;
let counter = 0;

beforeAll(async () => {
  setup = await startEdgeSetup({ tagTtlSeconds: TAG_TTL, policyTtlSeconds: POLICY_TTL });
});
afterAll(async () => setup?.close());

interface Repository {
  readonly name: string;
  /** The registry as the client sees it through the edge, with a push token. */
  readonly viaEdge: TestRegistry;
  readonly pull: string;
}

async function repository(): Promise<Repository> {
  const name = `edge/writes-${++counter}`;
  const push = bearer(await token(setup.registry, `repository:${name}:pull,push,delete`));
  return {
    name,
    viaEdge: { ...setup.registry, url: setup.edge.url, adminAuth: push },
    pull: bearer(await pullToken(setup.registry, name)),
  };
}

/** A GET of the manifest through the edge: its status, digest and cache verdict. */
async function pullManifest(repo: Repository, reference: string, accept?: string) {
  const response = await ask(setup.edge.url, `/v2/${repo.name}/manifests/${reference}`, {
    auth: repo.pull,
    headers: accept ? { Accept: accept } : {},
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    digest: response.headers.get('docker-content-digest'),
    cache: response.headers.get('x-edge-cache'),
  };
}

/** Pulls every Accept variant of `reference` twice: the second must come from the cache. */
async function cacheEveryVariant(repo: Repository, reference: string, digest: string) {
  for (const accept of ACCEPTS) {
    expect((await pullManifest(repo, reference, accept)).digest).toBe(digest);
    expect(await pullManifest(repo, reference, accept)).toEqual({ status: 200, digest, cache: 'HIT' });
  }
}

async function tagsOf(repo: Repository, query = ''): Promise<{ tags: string[]; cache: string | null }> {
  const response = await ask(setup.edge.url, `/v2/${repo.name}/tags/list${query}`, { auth: repo.pull });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { tags: string[] };
  return { tags: body.tags, cache: response.headers.get('x-edge-cache') };
}

describe('a manifest write through the edge is seen by the next pull through it', () => {
  test('a tag moved through the edge is served with its new digest at once, for every Accept', async () => {
    const repo = await repository();
    const first = await pushImage(repo.viaEdge, repo.name, 'moving');
    await cacheEveryVariant(repo, 'moving', first.digest);
    const second = await pushImage(repo.viaEdge, repo.name, 'moving');
    for (const accept of ACCEPTS) {
      const pulled = await pullManifest(repo, 'moving', accept);
      expect(pulled.digest, String(accept)).toBe(second.digest);
      expect(pulled.cache, String(accept)).not.toBe('HIT');
    }
    // And then cached again under the new state.
    expect(await pullManifest(repo, 'moving')).toEqual({ status: 200, digest: second.digest, cache: 'HIT' });
  });

  test('a tag deleted through the edge is 404 at once; the manifest stays by digest', async () => {
    const repo = await repository();
    const image = await pushImage(repo.viaEdge, repo.name, 'doomed');
    await cacheEveryVariant(repo, 'doomed', image.digest);
    const deleted = await call(repo.viaEdge, 'DELETE', `/v2/${repo.name}/manifests/doomed`);
    expect(deleted.status).toBe(202);
    for (const accept of ACCEPTS) expect((await pullManifest(repo, 'doomed', accept)).status).toBe(404);
    expect((await pullManifest(repo, image.digest)).digest).toBe(image.digest);
  });

  test('a manifest deleted by digest through the edge is 404 at once, by digest and by its tag', async () => {
    const repo = await repository();
    const image = await pushImage(repo.viaEdge, repo.name, 'gone');
    await cacheEveryVariant(repo, 'gone', image.digest);
    await cacheEveryVariant(repo, image.digest, image.digest);
    const deleted = await call(repo.viaEdge, 'DELETE', `/v2/${repo.name}/manifests/${image.digest}`);
    expect(deleted.status).toBe(202);
    for (const accept of ACCEPTS) {
      expect((await pullManifest(repo, image.digest, accept)).status).toBe(404);
      expect((await pullManifest(repo, 'gone', accept)).status).toBe(404);
    }
  });

  test('tags lists show a tag pushed or deleted through the edge at once, for every query', async () => {
    const repo = await repository();
    await pushImage(repo.viaEdge, repo.name, 'a');
    for (const query of ['', '?n=5']) {
      await tagsOf(repo, query);
      expect(await tagsOf(repo, query)).toEqual({ tags: ['a'], cache: 'HIT' });
    }
    await pushImage(repo.viaEdge, repo.name, 'b');
    for (const query of ['', '?n=5']) expect((await tagsOf(repo, query)).tags).toEqual(['a', 'b']);
    expect((await call(repo.viaEdge, 'DELETE', `/v2/${repo.name}/manifests/a`)).status).toBe(202);
    for (const query of ['', '?n=5']) expect((await tagsOf(repo, query)).tags).toEqual(['b']);
  });
});

describe('what does not renew the cache', () => {
  test('a write origin refuses leaves the cache as it was: refused writes cannot empty it', async () => {
    const repo = await repository();
    const image = await pushImage(repo.viaEdge, repo.name, 'kept');
    await cacheEveryVariant(repo, 'kept', image.digest);
    // No token, a pull-only token, and a manifest origin refuses: 401, 401, 400.
    const refused = [
      await call(repo.viaEdge, 'DELETE', `/v2/${repo.name}/manifests/kept`, { auth: null }),
      await call(repo.viaEdge, 'DELETE', `/v2/${repo.name}/manifests/kept`, { auth: repo.pull }),
      await call(repo.viaEdge, 'PUT', `/v2/${repo.name}/manifests/kept`, {
        body: '{"schemaVersion":1}',
        headers: { 'Content-Type': OCI_MANIFEST },
      }),
    ];
    expect(refused.map((r) => r.status)).toEqual([401, 401, 400]);
    for (const accept of ACCEPTS)
      expect(await pullManifest(repo, 'kept', accept)).toEqual({
        status: 200,
        digest: image.digest,
        cache: 'HIT',
      });
  });

  // Last: it moves the edge's clock.
  test('a write made at origin directly is seen at the edge only after TAG_TTL, as documented', async () => {
    const repo = await repository();
    const first: PushedImage = await pushImage(repo.viaEdge, repo.name, 'elsewhere');
    await cacheEveryVariant(repo, 'elsewhere', first.digest);
    const atOrigin = { ...setup.registry, adminAuth: repo.viaEdge.adminAuth };
    const second = await pushImage(atOrigin, repo.name, 'elsewhere');
    expect(await pullManifest(repo, 'elsewhere')).toEqual({
      status: 200,
      digest: first.digest,
      cache: 'HIT',
    });
    await setup.edge.advanceClock(TAG_TTL * 1000);
    expect((await pullManifest(repo, 'elsewhere')).digest).toBe(second.digest);
  });
});
