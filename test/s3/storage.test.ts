// The S3 backend and the disk cache in front of it, against a real S3-protocol server (s3rver)
// seen through a counting proxy, so that the tests can tell how often the registry went to S3.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, pushBlob, pushImage, sha256 } from '../harness/client.ts';
import { type CountingProxy, startCountingProxy } from '../harness/counting-proxy.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { keySize, listKeys, putKey, type S3Server, startS3Server } from '../harness/s3.ts';

const MiB = 1024 * 1024;
const name = 's3/storage';

let s3: S3Server;
let proxy: CountingProxy;
let cacheDir: string;
let registry: TestRegistry;

/** Deterministic bytes that differ per seed. */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const hex = (digest: string) => digest.slice('sha256:'.length);
const blobGets = (digest: string) => proxy.count('GET', `/blobs/sha256/${hex(digest)}`);

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await startCountingProxy(s3.endpoint);
  cacheDir = await mkdtemp(path.join(tmpdir(), 'registry-disk-cache-'));
  registry = await startTestRegistry({
    s3,
    config: {
      storage: { s3: { endpoint: proxy.url }, cache: { disk_path: cacheDir, disk_size_mb: 3 } },
      gc: { grace_period: '0s' },
    },
  });
});

afterAll(async () => {
  await registry?.close();
  await proxy?.close();
  await s3?.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

describe('S3 uploads', () => {
  it('chunks of odd sizes (1 byte, 5 MiB − 1, 5 MiB + 1) assemble into one object at blobs/sha256/<hex>', async () => {
    const sizes = [1, 5 * MiB - 1, 5 * MiB + 1, 1, 3 * MiB];
    const content = bytes(
      sizes.reduce((a, b) => a + b),
      1,
    );
    const post = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`);
    let location = post.headers.get('location') as string;
    let offset = 0;
    for (const size of sizes) {
      const patch = await call(registry, 'PATCH', location, {
        body: content.subarray(offset, offset + size),
        headers: { 'Content-Range': `${offset}-${offset + size - 1}` },
      });
      expect(patch.status).toBe(202);
      offset += size;
      expect(patch.headers.get('range')).toBe(`0-${offset - 1}`);
      location = patch.headers.get('location') as string;
    }
    const digest = sha256(content);
    expect((await call(registry, 'PUT', `${location}?digest=${digest}`)).status).toBe(201);
    expect(await listKeys(s3, `registry/blobs/sha256/${hex(digest)}`)).toEqual([
      `registry/blobs/sha256/${hex(digest)}`,
    ]);
    expect(await listKeys(s3, `registry/uploads/${location.split('/').pop()}`)).toEqual([]);
    const pulled = new Uint8Array(
      await (await call(registry, 'GET', `/v2/${name}/blobs/${digest}`)).arrayBuffer(),
    );
    expect(sha256(pulled)).toBe(digest);
  });

  it('one streamed PATCH of several parts lands as one object, moved server-side', async () => {
    const content = bytes(17 * MiB + 3, 2);
    const digest = sha256(content);
    const post = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`);
    const location = post.headers.get('location') as string;
    const patch = await call(registry, 'PATCH', location, { body: content });
    expect(patch.status).toBe(202);
    // Four multipart parts of 5 MiB; the last one is the rest.
    expect(proxy.count('PUT', `/uploads/${location.split('/').pop()}/`)).toBe(4);
    expect((await call(registry, 'PUT', `${location}?digest=${digest}`)).status).toBe(201);
    const head = await call(registry, 'HEAD', `/v2/${name}/blobs/${digest}`);
    expect(head.headers.get('content-length')).toBe(String(content.length));
  });

  it('a blob that is already stored is not written again', async () => {
    const content = bytes(MiB, 3);
    const digest = await pushBlob(registry, name, content);
    const writes = () => proxy.count('PUT', `/blobs/sha256/${hex(digest)}`);
    const before = writes();
    expect(before).toBeGreaterThan(0);
    await pushBlob(registry, 's3/elsewhere', content);
    expect(writes()).toBe(before);
    expect((await call(registry, 'HEAD', `/v2/s3/elsewhere/blobs/${digest}`)).status).toBe(200);
  });

  it('a segment beyond the confirmed size (its PATCH died before the size was recorded) is no part of the blob', async () => {
    const content = bytes(MiB, 4);
    const post = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`);
    const location = post.headers.get('location') as string;
    const id = location.split('/').pop() as string;
    const patch = await call(registry, 'PATCH', location, {
      body: content,
      headers: { 'Content-Range': `0-${content.length - 1}` },
    });
    expect(patch.status).toBe(202);
    // What S3 holds when a process completed the next segment and was killed before recording it.
    await putKey(
      s3,
      `registry/uploads/${id}/${String(content.length).padStart(16, '0')}`,
      'left by a dead PATCH',
    );
    const digest = sha256(content);
    expect((await call(registry, 'PUT', `${location}?digest=${digest}`)).status).toBe(201);
    expect(await keySize(s3, `registry/blobs/sha256/${hex(digest)}`)).toBe(content.length);
    expect(await listKeys(s3, `registry/uploads/${id}`)).toEqual([]);
  });

  it('manifests are stored at manifests/{repo}/{digest}', async () => {
    const image = await pushImage(registry, name, 'v1');
    expect(await listKeys(s3, `registry/manifests/${name}/${image.digest}`)).toHaveLength(1);
  });
});

describe('disk cache in front of S3', () => {
  it('the first GET is a MISS fetched from S3, later ones HITs served from disk', async () => {
    const content = bytes(MiB, 10);
    const digest = await pushBlob(registry, name, content);
    const first = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(sha256(new Uint8Array(await first.arrayBuffer()))).toBe(digest);
    const readsAfterFirst = blobGets(digest);
    for (let i = 0; i < 3; i++) {
      const again = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
      expect(again.headers.get('x-cache')).toBe('HIT');
      expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(digest);
    }
    expect(blobGets(digest)).toBe(readsAfterFirst);
    expect(await readdir(cacheDir)).toContain(`sha256-${hex(digest)}`);
    const metrics = await (await fetch(`${registry.url}/metrics`)).text();
    expect(metrics).toMatch(/registry_blob_cache_requests_total\{result="hit"\} [3-9]/);
  });

  it('100 concurrent misses of one blob read S3 once, and every client gets the right bytes', async () => {
    const content = bytes(2 * MiB, 11);
    const digest = await pushBlob(registry, name, content);
    const pulls = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
        return sha256(new Uint8Array(await response.arrayBuffer()));
      }),
    );
    expect(new Set(pulls)).toEqual(new Set([digest]));
    expect(blobGets(digest)).toBe(1);
  });

  it('a range of a cold blob is served from S3, and the whole blob is brought to disk', async () => {
    const content = bytes(MiB, 12);
    const digest = await pushBlob(registry, name, content);
    const part = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`, {
      headers: { Range: 'bytes=1000-1999' },
    });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(Buffer.from(content.subarray(1000, 2000)));
    for (let i = 0; i < 50 && !(await readdir(cacheDir)).includes(`sha256-${hex(digest)}`); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const hit = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`, {
      headers: { Range: 'bytes=-10' },
    });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(Buffer.from(await hit.arrayBuffer())).toEqual(Buffer.from(content.subarray(content.length - 10)));
  });

  it('stays under its bound by evicting the least recently used blob', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 3; i++) digests.push(await pushBlob(registry, name, bytes(1.2 * MiB, 20 + i)));
    for (const digest of digests)
      await (await call(registry, 'GET', `/v2/${name}/blobs/${digest}`)).arrayBuffer();
    // The client has every byte slightly before the cache file is renamed into place and the
    // eviction that follows has run: wait (bounded) for the cache to settle.
    const last = `sha256-${hex(digests[2] as string)}`;
    const usage = async () => {
      let bytes = 0;
      for (const file of await readdir(cacheDir))
        bytes += (await stat(path.join(cacheDir, file)).catch(() => null))?.size ?? 0;
      return bytes;
    };
    let total = await usage();
    for (let i = 0; i < 50 && (!(await readdir(cacheDir)).includes(last) || total > 3 * MiB); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      total = await usage();
    }
    const cached = await readdir(cacheDir);
    expect(total).toBeLessThanOrEqual(3 * MiB);
    expect(cached).toContain(`sha256-${hex(digests[2] as string)}`);
    expect(cached).not.toContain(`sha256-${hex(digests[0] as string)}`);
    const again = await call(registry, 'GET', `/v2/${name}/blobs/${digests[0]}`);
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(digests[0]);
  });

  it('a blob larger than the whole cache is streamed from S3 and not cached', async () => {
    const content = bytes(4 * MiB, 30);
    const digest = await pushBlob(registry, name, content);
    for (let i = 0; i < 2; i++) {
      const response = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
      expect(response.headers.get('x-cache')).toBe('MISS');
      expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(digest);
    }
    expect(await readdir(cacheDir)).not.toContain(`sha256-${hex(digest)}`);
  });
});

describe('garbage collection and the caches', () => {
  // Last in the file: with no grace period, GC sweeps every unreferenced blob pushed above.
  it('a blob GC deletes leaves S3 and the disk cache', async () => {
    const digest = await pushBlob(registry, name, bytes(MiB, 50));
    for (let i = 0; i < 2; i++)
      await (await call(registry, 'GET', `/v2/${name}/blobs/${digest}`)).arrayBuffer();
    expect(await readdir(cacheDir)).toContain(`sha256-${hex(digest)}`);
    const gc = await call(registry, 'POST', '/admin/gc?mode=delete');
    expect(gc.status).toBe(200);
    expect(await readdir(cacheDir)).not.toContain(`sha256-${hex(digest)}`);
    expect(await listKeys(s3, `registry/blobs/sha256/${hex(digest)}`)).toEqual([]);
    expect((await call(registry, 'GET', `/v2/${name}/blobs/${digest}`)).status).toBe(404);
  });
});

describe('S3 redirect', () => {
  it('with s3.redirect, a blob GET answers 307 to a presigned URL that serves the blob', async () => {
    const redirecting = await startTestRegistry({ s3, config: { storage: { s3: { redirect: true } } } });
    try {
      const content = bytes(64 * 1024, 40);
      const digest = await pushBlob(redirecting, name, content);
      const response = await call(redirecting, 'GET', `/v2/${name}/blobs/${digest}`);
      expect(response.status).toBe(307);
      const location = response.headers.get('location') as string;
      expect(location).toContain(`/blobs/sha256/${hex(digest)}`);
      expect(location).toContain('X-Amz-Signature=');
      const direct = await fetch(location);
      expect(direct.status).toBe(200);
      expect(
        createHash('sha256')
          .update(new Uint8Array(await direct.arrayBuffer()))
          .digest('hex'),
      ).toBe(hex(digest));
    } finally {
      await redirecting.close();
    }
  });
});
