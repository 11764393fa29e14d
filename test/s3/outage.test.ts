// The S3 server down: requests that need it answer 503 UNAVAILABLE (the client retries), not 400
// (which blames the request) nor 500 (which blames the registry); an upload whose chunk failed so
// resumes once S3 is back. (test/faults/ runs the outage under load.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, pushBlob, sha256 } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import type { S3Server } from '../harness/s3.ts';

const name = 's3/outage';
let registry: TestRegistry;
let s3: S3Server;

beforeAll(async () => {
  registry = await startTestRegistry({ storage: 's3' });
  s3 = registry.s3 as S3Server;
});

afterAll(async () => {
  await registry?.close();
});

describe('the S3 server down', () => {
  it('answers 503 UNAVAILABLE to what needs it, and an upload resumes once it is back', async () => {
    const stored = new TextEncoder().encode('a layer pushed before the outage');
    const digest = await pushBlob(registry, name, stored);
    const chunk = new TextEncoder().encode('a chunk sent during the outage');
    const post = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`);
    expect(post.status).toBe(202);
    const location = post.headers.get('location') as string;

    await s3.halt();
    try {
      const patch = await call(registry, 'PATCH', location, {
        body: chunk,
        headers: { 'Content-Range': `0-${chunk.length - 1}` },
      });
      expect(patch.status).toBe(503);
      expect(await errorCode(patch)).toBe('UNAVAILABLE');
      const monolithic = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${sha256(chunk)}`, {
        body: chunk,
      });
      expect(monolithic.status).toBe(503);
      expect(await errorCode(monolithic)).toBe('UNAVAILABLE');
      const get = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
      expect(get.status).toBe(503);
      expect(await errorCode(get)).toBe('UNAVAILABLE');
    } finally {
      await s3.restart();
    }

    // Nothing of the failed chunk counts: the upload is empty, and takes the chunk again.
    const status = await call(registry, 'GET', location);
    expect(status.headers.get('range')).toBe('0-0');
    const again = await call(registry, 'PATCH', location, {
      body: chunk,
      headers: { 'Content-Range': `0-${chunk.length - 1}` },
    });
    expect(again.status).toBe(202);
    const put = await call(registry, 'PUT', `${again.headers.get('location')}?digest=${sha256(chunk)}`);
    expect(put.status).toBe(201);
    const pulled = await call(registry, 'GET', `/v2/${name}/blobs/${sha256(chunk)}`);
    expect(new Uint8Array(await pulled.arrayBuffer())).toEqual(chunk);
    const before = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
    expect(new Uint8Array(await before.arrayBuffer())).toEqual(stored);
  });
});
