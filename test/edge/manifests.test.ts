// The edge's manifest and tags path: answers identical to origin's (bytes and headers), served
// from the cache within their TTLs, Accept negotiation kept apart in the cache, a moved tag seen
// after TAG_TTL (revalidated with a conditional request), a deleted manifest gone after the TTL.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, OCI_INDEX, OCI_MANIFEST, type PushedImage, pushImage, sha256 } from '../harness/client.ts';
import { ACCEPT_ALL_MANIFESTS } from '../harness/oci-image.ts';
import { ask, bearer, type EdgeSetup, headersOf, pullToken, startEdgeSetup, token } from './support.ts';

/** Long enough never to run out by themselves here: the tests move the edge's clock past them. */
const TAG_TTL = 30;
const POLICY_TTL = 30;
const NAME = 'edge/manifests';
/**
 * The headers origin sets on a manifest answer; the edge must set the same. Both also send
 * X-Registry-Policy-Epoch: the edge's is the epoch its decision was taken under.
 */
const MANIFEST_HEADERS = [
  'content-type',
  'content-length',
  'docker-content-digest',
  'etag',
  'docker-distribution-api-version',
];

/** The edge's answer was decided under origin's policy state at most as recent as origin's now. */
function expectEpoch(edge: Response, origin: Response) {
  const edgeEpoch = Number(edge.headers.get('x-registry-policy-epoch'));
  expect(Number.isInteger(edgeEpoch)).toBe(true);
  expect(edgeEpoch).toBeLessThanOrEqual(Number(origin.headers.get('x-registry-policy-epoch')));
}

let setup: EdgeSetup;
let auth: string;
let image: PushedImage;

beforeAll(async () => {
  setup = await startEdgeSetup({ tagTtlSeconds: TAG_TTL, policyTtlSeconds: POLICY_TTL });
  auth = bearer(await pullToken(setup.registry, NAME));
  image = await pushImage(setup.registry, NAME, 'v1');
});
afterAll(async () => setup?.close());

const manifestGets = (reference: string) => setup.proxy.count('GET', `/v2/${NAME}/manifests/${reference}`);

/** The same request to the edge and to origin. */
async function both(path: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  const edge = await ask(setup.edge.url, path, { auth, ...options });
  const origin = await ask(setup.registry.url, path, { auth, ...options });
  return { edge, origin, edgeBody: await edge.text(), originBody: await origin.text() };
}

describe('manifests are answered as origin answers them', () => {
  test('GET and HEAD by tag and by digest: the same status, bytes and headers', async () => {
    for (const reference of ['v1', image.digest]) {
      for (const method of ['GET', 'HEAD']) {
        for (const accept of [undefined, OCI_MANIFEST, ACCEPT_ALL_MANIFESTS]) {
          const headers: Record<string, string> = accept ? { Accept: accept } : {};
          const { edge, origin, edgeBody, originBody } = await both(`/v2/${NAME}/manifests/${reference}`, {
            method,
            headers,
          });
          const what = `${method} ${reference} ${accept}`;
          expect(edge.status, what).toBe(200);
          expect(headersOf(edge, MANIFEST_HEADERS), what).toEqual(headersOf(origin, MANIFEST_HEADERS));
          expectEpoch(edge, origin);
          expect(edgeBody, what).toBe(originBody);
          expect(edgeBody, what).toBe(method === 'GET' ? image.manifest : '');
        }
      }
    }
  });

  test('a manifest asked again within the TTLs is served from the cache, with no origin request', async () => {
    const pushed = await pushImage(setup.registry, NAME, 'cached');
    const first = await ask(setup.edge.url, `/v2/${NAME}/manifests/cached`, { auth });
    expect(first.headers.get('x-edge-cache')).toBe('MISS');
    const before = setup.proxy.requests.length;
    // By tag, then by the digest it gave (as docker pull does), well within the TTLs.
    const byTag = await ask(setup.edge.url, `/v2/${NAME}/manifests/cached`, { auth, method: 'HEAD' });
    const byDigest = await ask(setup.edge.url, `/v2/${NAME}/manifests/${pushed.digest}`, { auth });
    expect(byTag.headers.get('x-edge-cache')).toBe('HIT');
    expect(byDigest.headers.get('x-edge-cache')).toBe('HIT');
    expect(await byDigest.text()).toBe(pushed.manifest);
    expect(setup.proxy.requests.slice(before)).toEqual([]);
  });

  test('If-None-Match with the digest answers 304, as origin does', async () => {
    for (const value of [`"${image.digest}"`, image.digest]) {
      const { edge, origin } = await both(`/v2/${NAME}/manifests/v1`, {
        headers: { 'If-None-Match': value },
      });
      expect(edge.status).toBe(304);
      expect(origin.status).toBe(304);
      expect(edge.headers.get('docker-content-digest')).toBe(image.digest);
    }
    const other = await both(`/v2/${NAME}/manifests/v1`, { headers: { 'If-None-Match': '"sha256:0"' } });
    expect(other.edge.status).toBe(200);
  });

  test('an index goes to clients that accept it, its linux/amd64 image to those that do not: each keeps its answer in the cache', async () => {
    const amd = await pushImage(setup.registry, NAME, 'amd');
    const arm = await pushImage(setup.registry, NAME, 'arm');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: arm.digest,
          size: arm.manifest.length,
          platform: { os: 'linux', architecture: 'arm64' },
        },
        {
          mediaType: OCI_MANIFEST,
          digest: amd.digest,
          size: amd.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    const put = await call(setup.registry, 'PUT', `/v2/${NAME}/manifests/multi`, {
      body: index,
      headers: { 'Content-Type': OCI_INDEX },
    });
    expect(put.status).toBe(201);
    const indexDigest = sha256(index);
    // Asked in an order that would show an answer cached for one Accept served to another.
    const cases: [string | undefined, string][] = [
      [OCI_MANIFEST, amd.digest],
      [`${OCI_INDEX}, ${OCI_MANIFEST}`, indexDigest],
      [undefined, indexDigest],
      [OCI_MANIFEST, amd.digest],
      [`${OCI_MANIFEST};q=0.9, ${OCI_INDEX}`, indexDigest],
      [ACCEPT_ALL_MANIFESTS, indexDigest],
    ];
    for (const reference of ['multi', indexDigest]) {
      for (const [accept, expected] of cases) {
        const headers: Record<string, string> = accept ? { Accept: accept } : {};
        const { edge, origin, edgeBody, originBody } = await both(`/v2/${NAME}/manifests/${reference}`, {
          headers,
        });
        expect(edge.headers.get('docker-content-digest'), `${reference} ${accept}`).toBe(expected);
        expect(headersOf(edge, MANIFEST_HEADERS)).toEqual(headersOf(origin, MANIFEST_HEADERS));
        expectEpoch(edge, origin);
        expect(edgeBody).toBe(originBody);
      }
    }
  });

  test('a reference that is neither a tag nor a digest is origin’s answer: 404 MANIFEST_UNKNOWN, and 400 TAG_INVALID on PUT', async () => {
    for (const reference of ['sha256:short', 'bad!tag', '-dash', `sha1:${'a'.repeat(40)}`]) {
      for (const method of ['GET', 'HEAD']) {
        const { edge, origin, edgeBody, originBody } = await both(`/v2/${NAME}/manifests/${reference}`, {
          method,
        });
        expect(edge.status, `${method} ${reference}`).toBe(404);
        expect(origin.status).toBe(404);
        expect(edgeBody).toBe(originBody);
        if (method === 'GET') expect(JSON.parse(edgeBody).errors[0].code).toBe('MANIFEST_UNKNOWN');
      }
    }
    const push = bearer(await token(setup.registry, `repository:${NAME}:pull,push`));
    const put = await fetch(`${setup.edge.url}/v2/${NAME}/manifests/bad!tag`, {
      method: 'PUT',
      body: image.manifest,
      headers: { Authorization: push, 'Content-Type': OCI_MANIFEST },
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('TAG_INVALID');
    const unknown = await both(`/v2/${NAME}/manifests/never-pushed`);
    expect(unknown.edge.status).toBe(404);
    expect(unknown.edgeBody).toBe(unknown.originBody);
  });
});

describe('tags are mutable', () => {
  test('a tag moved at origin is served with the new digest after TAG_TTL; an unchanged one is revalidated', async () => {
    const first = await pushImage(setup.registry, NAME, 'moving');
    const path = `/v2/${NAME}/manifests/moving`;
    expect((await ask(setup.edge.url, path, { auth })).headers.get('docker-content-digest')).toBe(
      first.digest,
    );
    const second = await pushImage(setup.registry, NAME, 'moving');
    // Within TAG_TTL the edge still serves what origin said; past it, the new digest.
    const beforeTtl = await ask(setup.edge.url, path, { auth });
    expect(beforeTtl.headers.get('x-edge-cache')).toBe('HIT');
    expect(beforeTtl.headers.get('docker-content-digest')).toBe(first.digest);
    await setup.edge.advanceClock(TAG_TTL * 1000);
    const pastTtl = await ask(setup.edge.url, path, { auth });
    expect(pastTtl.headers.get('docker-content-digest')).toBe(second.digest);

    // Unchanged past the TTL: origin is asked with If-None-Match and answers 304.
    await setup.edge.advanceClock(TAG_TTL * 1000);
    const gets = manifestGets('moving');
    const again = await ask(setup.edge.url, path, { auth });
    expect(again.headers.get('x-edge-cache')).toBe('REVALIDATED');
    expect(again.headers.get('docker-content-digest')).toBe(second.digest);
    expect(await again.text()).toBe(second.manifest);
    expect(manifestGets('moving')).toBe(gets + 1);
  });

  test('a manifest deleted at origin is gone at the edge after the TTL, by digest and by tag', async () => {
    const pushed = await pushImage(setup.registry, NAME, 'doomed');
    for (const reference of ['doomed', pushed.digest]) {
      expect((await ask(setup.edge.url, `/v2/${NAME}/manifests/${reference}`, { auth })).status).toBe(200);
    }
    const deleted = await call(setup.registry, 'DELETE', `/v2/${NAME}/manifests/${pushed.digest}`);
    expect(deleted.status).toBe(202);
    await setup.edge.advanceClock(Math.max(TAG_TTL, POLICY_TTL) * 1000);
    for (const reference of ['doomed', pushed.digest]) {
      const path = `/v2/${NAME}/manifests/${reference}`;
      const { edge, edgeBody, originBody } = await both(path);
      expect(edge.status).toBe(404);
      expect(edgeBody).toBe(originBody);
    }
  });

  test('tags lists are answered as origin answers them, and a new tag shows after TAG_TTL', async () => {
    const name = 'edge/tag-list';
    const listAuth = bearer(await pullToken(setup.registry, name));
    await pushImage(setup.registry, name, 'a');
    await pushImage(setup.registry, name, 'b');
    for (const query of ['', '?n=1', '?n=1&last=a']) {
      const path = `/v2/${name}/tags/list${query}`;
      const edge = await ask(setup.edge.url, path, { auth: listAuth });
      const origin = await ask(setup.registry.url, path, { auth: listAuth });
      expect(edge.status).toBe(200);
      expect(edge.headers.get('link')).toBe(origin.headers.get('link'));
      expect(edge.headers.get('content-type')).toBe(origin.headers.get('content-type'));
      expect(await edge.json()).toEqual(await origin.json());
    }
    const gets = setup.proxy.count('GET', `/v2/${name}/tags/list`);
    await pushImage(setup.registry, name, 'c');
    const cached = await ask(setup.edge.url, `/v2/${name}/tags/list`, { auth: listAuth });
    expect(cached.headers.get('x-edge-cache')).toBe('HIT');
    expect(setup.proxy.count('GET', `/v2/${name}/tags/list`)).toBe(gets);
    await setup.edge.advanceClock(TAG_TTL * 1000);
    const shown = await ask(setup.edge.url, `/v2/${name}/tags/list`, { auth: listAuth });
    expect(((await shown.json()) as { tags: string[] }).tags).toContain('c');
  });
});
