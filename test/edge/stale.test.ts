// Serve-stale-on-error: when origin cannot be reached (its address refuses connections, or it
// answers 5xx), the edge keeps serving what it has cached — blobs and manifests by digest, tags
// from the last mapping origin confirmed — for STALE_SECONDS past their TTLs, and no longer.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBlob, pushImage, sha256 } from '../harness/client.ts';
import type { TestEdge } from '../harness/edge.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { ask, bearer, type FaultyProxy, pullToken, startEdgeFor, startFaultyProxy } from './support.ts';

const TTL = 1;
const STALE = 30;
/** How far the tests move the edge's clock to be past the TTLs (but well within STALE_SECONDS). */
const PAST_TTL_MS = TTL * 1000 + 200;
const NAME = 'edge/stale';
const MiB = 1024 * 1024;

let registry: TestRegistry;
let proxy: FaultyProxy;
let edge: TestEdge;
let auth: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  proxy = await startFaultyProxy(registry.url);
  edge = await startEdgeFor(registry, proxy.url, {
    chunkSize: MiB,
    tagTtlSeconds: TTL,
    policyTtlSeconds: TTL,
    linkTtlSeconds: TTL,
    staleSeconds: STALE,
  });
  auth = bearer(await pullToken(registry, NAME));
});
afterAll(async () => {
  await edge?.close();
  await proxy?.close();
  await registry?.close();
});

async function warm(tag: string) {
  const layer = new Uint8Array(randomBytes(Math.floor(1.5 * MiB)));
  const image = await pushImage(registry, NAME, tag, { layers: [Buffer.from(layer).toString('latin1')] });
  const paths = {
    tag: `/v2/${NAME}/manifests/${tag}`,
    digest: `/v2/${NAME}/manifests/${image.digest}`,
    layer: `/v2/${NAME}/blobs/${image.layers[0]}`,
    tags: `/v2/${NAME}/tags/list`,
  };
  for (const path of Object.values(paths)) {
    const response = await ask(edge.url, path, { auth });
    expect(response.status, path).toBe(200);
    await response.arrayBuffer();
  }
  return { image, paths };
}

async function expectServed(
  paths: Record<string, string>,
  image: { digest: string; layers: string[] },
  tag: string,
) {
  const byTag = await ask(edge.url, paths.tag as string, { auth });
  expect(byTag.status).toBe(200);
  expect(byTag.headers.get('x-edge-cache')).toBe('STALE');
  expect(byTag.headers.get('docker-content-digest')).toBe(image.digest);
  const byDigest = await ask(edge.url, paths.digest as string, { auth });
  expect(byDigest.status).toBe(200);
  expect(sha256(new Uint8Array(await byDigest.arrayBuffer()))).toBe(image.digest);
  const layer = await ask(edge.url, paths.layer as string, { auth });
  expect(layer.status).toBe(200);
  expect(layer.headers.get('x-edge-cache')).toBe('STALE');
  expect(sha256(new Uint8Array(await layer.arrayBuffer()))).toBe(image.layers[0]);
  const tags = await ask(edge.url, paths.tags as string, { auth });
  expect(tags.status).toBe(200);
  expect(((await tags.json()) as { tags: string[] }).tags).toContain(tag);
}

describe('origin unreachable', () => {
  test('origin answering 5xx: cached blobs, manifests and tags are served past their TTLs; nothing uncached is', async () => {
    const { image, paths } = await warm('five');
    const fresh = await pushBlob(registry, NAME, 'never pulled through the edge');
    proxy.fault = () => '502';
    await edge.advanceClock(PAST_TTL_MS);
    await expectServed(paths, image, 'five');
    const uncached = await ask(edge.url, `/v2/${NAME}/blobs/${fresh}`, { auth });
    expect(uncached.status).toBe(503);
    expect(((await uncached.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAVAILABLE');
    proxy.fault = () => 'pass';
  });

  test('origin refusing connections: the same, for STALE_SECONDS past the TTLs and then no longer', async () => {
    const { image, paths } = await warm('down');
    const unknownTag = `/v2/${NAME}/manifests/never-pulled`;
    proxy.fault = () => 'drop';
    await edge.advanceClock(PAST_TTL_MS);
    await expectServed(paths, image, 'down');
    const uncached = await ask(edge.url, unknownTag, { auth });
    expect(uncached.status).toBe(503);

    // Past TTL + STALE_SECONDS since origin last vouched: the edge stops standing in.
    await edge.advanceClock((TTL + STALE) * 1000 + 300 - PAST_TTL_MS);
    for (const path of [paths.tag, paths.digest, paths.layer, paths.tags]) {
      const response = await ask(edge.url, path, { auth });
      expect(response.status, path).toBe(503);
      await response.arrayBuffer();
    }
    // Back up: served again, from the cache (the layer without any GET at origin).
    proxy.fault = () => 'pass';
    const gets = proxy.count('GET', paths.layer);
    await expectFresh(paths.layer, image.layers[0] as string);
    expect(proxy.count('GET', paths.layer)).toBe(gets);
  });
});

async function expectFresh(path: string, digest: string) {
  const response = await ask(edge.url, path, { auth });
  expect(response.status).toBe(200);
  expect(response.headers.get('x-edge-cache')).toBe('HIT');
  expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(digest);
}
