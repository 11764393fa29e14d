// The edge's blob path: blobs cached in aligned chunks (1 MiB here), served with origin's headers,
// Range mapped onto chunks, concurrent misses coalesced into one origin fetch per chunk, and a
// cached blob served for a repository only when origin says that repository holds it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pushBlob, sha256 } from '../harness/client.ts';
import type { TestRegistry } from '../harness/registry.ts';
import {
  ask,
  bearer,
  type EdgeSetup,
  headersOf,
  pullToken,
  startEdgeFor,
  startEdgeSetup,
  startFaultyProxy,
  within,
} from './support.ts';

const MiB = 1024 * 1024;
const CHUNK = MiB;
const NAME = 'edge/blobs';
/** The headers origin sets on a blob answer; the edge must set the same. */
const BLOB_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'docker-content-digest',
  'etag',
  'accept-ranges',
  'cache-control',
  'docker-distribution-api-version',
];

let setup: EdgeSetup;
let auth: string;

beforeAll(async () => {
  setup = await startEdgeSetup({ chunkSize: CHUNK });
  auth = bearer(await pullToken(setup.registry, NAME));
});
afterAll(async () => setup?.close());

/** Pushes `size` random bytes to `name` at origin. */
async function pushRandom(registry: TestRegistry, name: string, size: number) {
  const bytes = new Uint8Array(randomBytes(size));
  const digest = await pushBlob(registry, name, bytes);
  return { bytes, digest };
}

const blobGets = (digest: string) => setup.proxy.count('GET', `/blobs/${digest}`);

describe('blobs are served from chunks of the cache', () => {
  test('a cold blob comes from origin; the second GET comes from the cache with no origin request', async () => {
    const blob = await pushRandom(setup.registry, NAME, Math.floor(2.5 * MiB));
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    const before = setup.proxy.requests.length;

    const cold = await ask(setup.edge.url, path, { auth });
    expect(cold.status).toBe(200);
    expect(cold.headers.get('x-edge-cache')).toBe('MISS');
    expect(sha256(new Uint8Array(await cold.arrayBuffer()))).toBe(blob.digest);
    expect(blobGets(blob.digest)).toBe(3); // one per 1 MiB chunk

    const origin = await ask(setup.registry.url, path, { auth });
    await origin.arrayBuffer();
    const afterCold = setup.proxy.requests.length;
    const warm = await ask(setup.edge.url, path, { auth });
    expect(warm.status).toBe(200);
    expect(warm.headers.get('x-edge-cache')).toBe('HIT');
    expect(headersOf(warm, BLOB_HEADERS)).toEqual(headersOf(origin, BLOB_HEADERS));
    expect(sha256(new Uint8Array(await warm.arrayBuffer()))).toBe(blob.digest);
    expect(setup.proxy.requests.slice(afterCold)).toEqual([]);
    // The cold GET cost one link check (HEAD) and one GET per chunk.
    expect(setup.proxy.requests.slice(before).filter((r) => r.includes(blob.digest))).toEqual([
      `HEAD ${path}`,
      `GET ${path}`,
      `GET ${path}`,
      `GET ${path}`,
    ]);
  });

  test('HEAD answers origin’s headers without a body, and If-None-Match answers 304', async () => {
    const blob = await pushRandom(setup.registry, NAME, 1000);
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    for (const method of ['HEAD', 'GET']) {
      const headers = method === 'GET' ? { 'If-None-Match': `"${blob.digest}"` } : undefined;
      const edge = await ask(setup.edge.url, path, { auth, method, headers });
      const origin = await ask(setup.registry.url, path, { auth, method, headers });
      expect(edge.status).toBe(origin.status);
      expect(edge.status).toBe(method === 'HEAD' ? 200 : 304);
      const compared = BLOB_HEADERS.filter((h) => method === 'HEAD' || h !== 'content-length');
      expect(headersOf(edge, compared)).toEqual(headersOf(origin, compared));
      expect(await edge.text()).toBe('');
    }
    expect(blobGets(blob.digest)).toBe(0);
  });

  test('Range requests across chunk boundaries answer 206 with the Content-Range origin answers', async () => {
    const blob = await pushRandom(setup.registry, NAME, Math.floor(2.5 * MiB));
    const size = blob.bytes.byteLength;
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    // A range inside the middle chunk, cold: only that chunk is fetched.
    const inside = await ask(setup.edge.url, path, {
      auth,
      headers: { Range: `bytes=${MiB + 10}-${MiB + 20}` },
    });
    expect(inside.status).toBe(206);
    expect(Buffer.from(await inside.arrayBuffer())).toEqual(
      Buffer.from(blob.bytes.subarray(MiB + 10, MiB + 21)),
    );
    expect(blobGets(blob.digest)).toBe(1);

    const ranges = [
      `bytes=${MiB - 5}-${MiB + 5}`, // across the first boundary
      `bytes=${MiB - 1}-${2 * MiB}`, // one byte each side of a whole chunk
      'bytes=0-0',
      `bytes=0-${MiB - 1}`, // exactly the first chunk
      'bytes=-100', // the last 100 bytes
      `bytes=${2 * MiB}-`, // to the end
      `bytes=${size - 10}-${size + 1000}`, // past the end: cut at the end
      `bytes=0-${size - 1}`,
    ];
    for (const range of ranges) {
      const edge = await ask(setup.edge.url, path, { auth, headers: { Range: range } });
      const origin = await ask(setup.registry.url, path, { auth, headers: { Range: range } });
      expect(edge.status, range).toBe(206);
      expect(headersOf(edge, BLOB_HEADERS), range).toEqual(headersOf(origin, BLOB_HEADERS));
      const fromEdge = Buffer.from(await edge.arrayBuffer());
      const fromOrigin = Buffer.from(await origin.arrayBuffer());
      // Compared as bytes: a deep toEqual of megabytes takes seconds, during which the idle
      // keep-alive connection the next request reuses can be closed under it.
      const sizes = `${range}: ${fromEdge.length} bytes from the edge, ${fromOrigin.length} from origin`;
      expect(fromEdge.equals(fromOrigin), sizes).toBe(true);
    }
    expect(blobGets(blob.digest)).toBe(3); // each chunk fetched once
  });

  test('an unsatisfiable or malformed range answers 416 with Content-Range bytes */SIZE, as origin does', async () => {
    const blob = await pushRandom(setup.registry, NAME, 3000);
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    for (const range of [
      'bytes=3000-',
      'bytes=5000-6000',
      'bytes=20-10',
      'bytes=-0',
      'lines=1-2',
      'bytes=1-2,5-6',
    ]) {
      const edge = await ask(setup.edge.url, path, { auth, headers: { Range: range } });
      const origin = await ask(setup.registry.url, path, { auth, headers: { Range: range } });
      expect(edge.status, range).toBe(416);
      expect(edge.headers.get('content-range'), range).toBe('bytes */3000');
      expect(await edge.json(), range).toEqual(await origin.json());
    }
  });

  test('a blob of several chunks is assembled in order from cached and cold chunks alike', async () => {
    const blob = await pushRandom(setup.registry, NAME, 4 * MiB + 123);
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    // Chunks 1 and 3 cached first; the whole GET then mixes hits and misses.
    for (const range of [`bytes=${MiB}-${MiB}`, `bytes=${3 * MiB + 5}-${3 * MiB + 6}`]) {
      expect((await ask(setup.edge.url, path, { auth, headers: { Range: range } })).status).toBe(206);
    }
    const whole = await ask(setup.edge.url, path, { auth });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(4 * MiB + 123));
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(blob.digest);
    expect(blobGets(blob.digest)).toBe(5);
  });
});

describe('concurrent misses are coalesced', () => {
  test('100 concurrent GETs of a cold blob make one origin fetch per chunk, and all get the blob', async () => {
    const blob = await pushRandom(setup.registry, NAME, Math.floor(2.5 * MiB));
    const path = `/v2/${NAME}/blobs/${blob.digest}`;
    const digests = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await ask(setup.edge.url, path, { auth });
        expect(response.status).toBe(200);
        return sha256(new Uint8Array(await response.arrayBuffer()));
      }),
    );
    expect(new Set(digests)).toEqual(new Set([blob.digest]));
    expect(blobGets(blob.digest)).toBe(3);
    expect(setup.proxy.count('HEAD', `/blobs/${blob.digest}`)).toBe(1);
  });

  test('when the fetching request fails, the waiting ones elect another and get the blob', async () => {
    const faulty = await startFaultyProxy(setup.registry.url);
    const edge = await startEdgeFor(setup.registry, faulty.url, { chunkSize: CHUNK });
    try {
      const blob = await pushRandom(setup.registry, NAME, 500_000);
      const path = `/v2/${NAME}/blobs/${blob.digest}`;
      // The first GET of the blob at origin fails mid-way: its connection is dropped.
      faulty.fault = (method, p, seen) => (method === 'GET' && p === path && seen === 0 ? 'drop' : 'pass');
      const answers = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const response = await ask(edge.url, path, { auth });
          return { status: response.status, digest: sha256(new Uint8Array(await response.arrayBuffer())) };
        }),
      );
      const served = answers.filter((a) => a.status === 200);
      expect(served.length).toBeGreaterThanOrEqual(19); // all but the one whose fetch failed
      expect(new Set(served.map((a) => a.digest))).toEqual(new Set([blob.digest]));
      expect(faulty.count('GET', path)).toBe(2);
    } finally {
      await edge.close();
      await faulty.close();
    }
  });

  test('when the fetching request takes too long, one waiting request takes over after COALESCE_TIMEOUT', async () => {
    const faulty = await startFaultyProxy(setup.registry.url);
    const edge = await startEdgeFor(setup.registry, faulty.url, {
      chunkSize: CHUNK,
      coalesceTimeoutSeconds: 1,
    });
    try {
      const blob = await pushRandom(setup.registry, NAME, 300_000);
      const path = `/v2/${NAME}/blobs/${blob.digest}`;
      faulty.fault = (method, p, seen) =>
        method === 'GET' && p === path && seen === 0 ? { delayMs: 3_000 } : 'pass';
      const started = Date.now();
      const slow = ask(edge.url, path, { auth }); // becomes the leader, stuck at origin
      expect(await within(10_000, async () => faulty.count('GET', path) > 0, 20)).toBeGreaterThanOrEqual(0);
      const others = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const response = await ask(edge.url, path, { auth });
          return sha256(new Uint8Array(await response.arrayBuffer()));
        }),
      );
      const othersMs = Date.now() - started;
      expect(new Set(others)).toEqual(new Set([blob.digest]));
      expect(othersMs).toBeLessThan(2_500);
      expect(faulty.count('GET', path)).toBe(2);
      const first = await slow;
      expect(sha256(new Uint8Array(await first.arrayBuffer()))).toBe(blob.digest);
    } finally {
      await edge.close();
      await faulty.close();
    }
  });
});

describe('link checks: the cache is shared, what a repository may see is not', () => {
  test('a blob cached through repository A is BLOB_UNKNOWN through repository B, where it was never pushed', async () => {
    const other = 'edge/blobs-other';
    await pushRandom(setup.registry, other, 10); // B exists, without the blob
    const blob = await pushRandom(setup.registry, NAME, 5000);
    const cached = await ask(setup.edge.url, `/v2/${NAME}/blobs/${blob.digest}`, { auth });
    expect(cached.status).toBe(200);
    await cached.arrayBuffer();

    const path = `/v2/${other}/blobs/${blob.digest}`;
    const otherAuth = bearer(await pullToken(setup.registry, other));
    for (const method of ['GET', 'HEAD', 'GET']) {
      const edge = await ask(setup.edge.url, path, { auth: otherAuth, method });
      const origin = await ask(setup.registry.url, path, { auth: otherAuth, method });
      expect(edge.status, method).toBe(404);
      expect(origin.status).toBe(404);
      if (method === 'GET') expect(await edge.json()).toEqual(await origin.json());
    }
    // Each was asked of origin (no negative caching), and never as a GET.
    expect(setup.proxy.count('HEAD', path)).toBe(3);
    expect(setup.proxy.count('GET', path)).toBe(0);
    // With the blob pushed to B, B may read it (from the cache: no GET).
    await pushBlob(setup.registry, other, blob.bytes);
    const now = await ask(setup.edge.url, path, { auth: otherAuth });
    expect(now.status).toBe(200);
    expect(sha256(new Uint8Array(await now.arrayBuffer()))).toBe(blob.digest);
    expect(setup.proxy.count('GET', path)).toBe(0);
  });
});
