// Conformance: push (OCI Distribution Spec, "Pushing blobs" and "Pushing manifests").
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, errorCode, OCI_MANIFEST, pushBlob, pushImage, sha256 } from '../harness/client.ts';
import { ManualClock } from '../harness/clock.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';

let registry: TestRegistry;
const name = 'conformance/push';

beforeAll(async () => {
  registry = await startTestRegistry();
});
afterAll(async () => registry?.close());

async function startUpload(repository = name): Promise<string> {
  const response = await call(registry, 'POST', `/v2/${repository}/blobs/uploads/`);
  expect(response.status).toBe(202);
  expect(response.headers.get('docker-upload-uuid')).toMatch(/^[0-9a-f-]{36}$/);
  return response.headers.get('location') as string;
}

async function blobText(digest: string, repository = name): Promise<string | number> {
  const response = await call(registry, 'GET', `/v2/${repository}/blobs/${digest}`);
  return response.status === 200 ? response.text() : response.status;
}

describe('push: blobs', () => {
  it('monolithic POST ?digest= stores the blob and answers 201 with its location', async () => {
    const content = 'monolithic blob';
    const response = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${sha256(content)}`, {
      body: content,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/v2/${name}/blobs/${sha256(content)}`);
    expect(await blobText(sha256(content))).toBe(content);
  });

  it('POST then PUT ?digest= with the body stores the blob', async () => {
    const content = 'post then put';
    const location = await startUpload();
    const response = await call(registry, 'PUT', `${location}?digest=${sha256(content)}`, { body: content });
    expect(response.status).toBe(201);
    expect(response.headers.get('docker-content-digest')).toBe(sha256(content));
    expect(await blobText(sha256(content))).toBe(content);
  });

  it('streamed upload: one PATCH without Content-Range, then PUT', async () => {
    const content = 'streamed '.repeat(10_000);
    const location = await startUpload();
    const patch = await call(registry, 'PATCH', location, { body: content });
    expect(patch.status).toBe(202);
    expect(patch.headers.get('range')).toBe(`0-${content.length - 1}`);
    const put = await call(registry, 'PUT', `${patch.headers.get('location')}?digest=${sha256(content)}`);
    expect(put.status).toBe(201);
    expect(await blobText(sha256(content))).toBe(content);
  });

  it('chunked upload: PATCHes with Content-Range in order, then PUT', async () => {
    const chunks = ['alpha-', 'beta-', 'gamma-', 'delta'];
    let location = await startUpload();
    let offset = 0;
    for (const chunk of chunks) {
      const response = await call(registry, 'PATCH', location, {
        body: chunk,
        headers: {
          'Content-Range': `${offset}-${offset + chunk.length - 1}`,
          'Content-Length': String(chunk.length),
        },
      });
      expect(response.status).toBe(202);
      offset += chunk.length;
      expect(response.headers.get('range')).toBe(`0-${offset - 1}`);
      location = response.headers.get('location') as string;
    }
    const whole = chunks.join('');
    const put = await call(registry, 'PUT', `${location}?digest=${sha256(whole)}`);
    expect(put.status).toBe(201);
    expect(await blobText(sha256(whole))).toBe(whole);
  });

  it('out-of-order blob upload should return 416 with the real offset', async () => {
    const location = await startUpload();
    await call(registry, 'PATCH', location, { body: 'abcd', headers: { 'Content-Range': '0-3' } });
    const skip = await call(registry, 'PATCH', location, {
      body: 'zz',
      headers: { 'Content-Range': '10-11' },
    });
    expect(skip.status).toBe(416);
    expect(skip.headers.get('range')).toBe('0-3');
    const retry = await call(registry, 'PATCH', location, {
      body: 'abcd',
      headers: { 'Content-Range': '0-3' },
    });
    expect(retry.status).toBe(416);
    expect(await errorCode(retry)).toBe('BLOB_UPLOAD_INVALID');
  });

  it('GET on an upload reports its progress (204, Range, Docker-Upload-UUID) so it can resume', async () => {
    const location = await startUpload();
    await call(registry, 'PATCH', location, { body: '0123456789', headers: { 'Content-Range': '0-9' } });
    const status = await call(registry, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-9');
    expect(location.endsWith(status.headers.get('docker-upload-uuid') as string)).toBe(true);
    const rest = await call(registry, 'PATCH', location, {
      body: 'abc',
      headers: { 'Content-Range': '10-12' },
    });
    expect(rest.status).toBe(202);
    const put = await call(registry, 'PUT', `${location}?digest=${sha256('0123456789abc')}`);
    expect(put.status).toBe(201);
  });

  it('an upload resumes on a restarted registry over the same storage and database', async () => {
    const first = await startTestRegistry();
    const location = await (async () => {
      const post = await call(first, 'POST', `/v2/${name}/blobs/uploads/`);
      const at = post.headers.get('location') as string;
      await call(first, 'PATCH', at, { body: 'before restart|', headers: { 'Content-Range': '0-14' } });
      return at;
    })();
    await first.running.close();
    const second = await startTestRegistry({
      dataDir: first.dataDir,
      databaseUrl: first.databaseUrl,
      s3: first.s3,
    });
    try {
      const status = await call(second, 'GET', location);
      expect(status.headers.get('range')).toBe('0-14');
      await call(second, 'PATCH', location, { body: 'after', headers: { 'Content-Range': '15-19' } });
      const put = await call(second, 'PUT', `${location}?digest=${sha256('before restart|after')}`);
      expect(put.status).toBe(201);
      const get = await call(second, 'GET', `/v2/${name}/blobs/${sha256('before restart|after')}`);
      expect(await get.text()).toBe('before restart|after');
    } finally {
      await second.running.close();
      await first.close();
    }
  });

  it('a PUT on another process verifies with the digest recorded at PATCH time, without reading the blob back', async () => {
    const first = await startTestRegistry();
    const content = 'patched on one process, finished on another';
    const post = await call(first, 'POST', `/v2/${name}/blobs/uploads/`);
    const location = post.headers.get('location') as string;
    await call(first, 'PATCH', location, { body: content });
    await first.running.close();
    // Alter the staged bytes (same length): only a read-back would notice.
    await first.overwriteStaged(location.split('/').pop() as string, 'x'.repeat(content.length));
    const second = await startTestRegistry({
      dataDir: first.dataDir,
      databaseUrl: first.databaseUrl,
      s3: first.s3,
    });
    try {
      const put = await call(second, 'PUT', `${location}?digest=${sha256(content)}`);
      expect(put.status).toBe(201);
    } finally {
      await second.running.close();
      await first.close();
    }
  });

  it('PUT with a wrong digest answers DIGEST_INVALID and stores nothing', async () => {
    const location = await startUpload();
    const wrong = sha256('something else');
    const put = await call(registry, 'PUT', `${location}?digest=${wrong}`, { body: 'actual content' });
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe('DIGEST_INVALID');
    expect(await blobText(wrong)).toBe(404);
    expect(await blobText(sha256('actual content'))).toBe(404);
  });

  it('DELETE on an upload cancels it; the upload is then unknown', async () => {
    const location = await startUpload();
    const cancel = await call(registry, 'DELETE', location);
    expect(cancel.status).toBe(204);
    const status = await call(registry, 'GET', location);
    expect(status.status).toBe(404);
    expect(await errorCode(status)).toBe('BLOB_UPLOAD_UNKNOWN');
  });

  it('pushing an existing blob again is deduplicated and succeeds', async () => {
    const content = 'same content twice';
    await pushBlob(registry, name, content);
    await pushBlob(registry, 'conformance/other', content);
    expect(await blobText(sha256(content), 'conformance/other')).toBe(content);
  });

  it('idle uploads expire and their staged data is removed', async () => {
    const clock = new ManualClock();
    const short = await startTestRegistry({
      config: { uploads: { expiry: '1h', purge_interval: '50ms' } },
      clock,
    });
    try {
      const post = await call(short, 'POST', `/v2/${name}/blobs/uploads/`);
      const location = post.headers.get('location') as string;
      await call(short, 'PATCH', location, { body: 'soon gone' });
      expect(await short.stagedUploads()).toEqual([location.split('/').pop()]);
      clock.advance(3_600_001);
      // The purge runs every purge_interval (wall time): wait for it to forget the session and to
      // remove its staged data (the session goes first, so seeing it gone is not enough).
      await vi.waitFor(
        async () => {
          expect((await call(short, 'GET', location)).status).toBe(404);
          expect(await short.stagedUploads()).toEqual([]);
        },
        { timeout: 5_000, interval: 50 },
      );
    } finally {
      await short.close();
    }
  });
});

describe('push: cross-repository mount', () => {
  it('mount from a readable repository answers 201 and makes the blob visible', async () => {
    const digest = await pushBlob(registry, 'conformance/source', 'mountable');
    const response = await call(
      registry,
      'POST',
      `/v2/${name}/blobs/uploads/?mount=${digest}&from=conformance/source`,
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/v2/${name}/blobs/${digest}`);
    expect(await blobText(digest)).toBe('mountable');
  });

  it('mount of a blob the source does not hold falls back to a normal upload (202)', async () => {
    const digest = sha256('never pushed anywhere');
    const response = await call(
      registry,
      'POST',
      `/v2/${name}/blobs/uploads/?mount=${digest}&from=conformance/source`,
    );
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toMatch(/\/blobs\/uploads\//);
  });
});

describe('push: manifests', () => {
  it('PUT manifest by tag answers 201 with Location and Docker-Content-Digest', async () => {
    const image = await pushImage(registry, name, 'tagged');
    const head = await call(registry, 'HEAD', `/v2/${name}/manifests/tagged`);
    expect(head.headers.get('docker-content-digest')).toBe(image.digest);
  });

  it('PUT manifest by digest stores it untagged', async () => {
    const image = await pushImage(registry, name, 'temporary');
    const response = await call(registry, 'PUT', `/v2/${name}/manifests/${image.digest}`, {
      body: image.manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/v2/${name}/manifests/${image.digest}`);
  });

  it('a manifest with a subject answers OCI-Subject', async () => {
    const subject = await pushImage(registry, name, 'subject');
    const signature = await pushImage(registry, name, 'signature', {
      extra: {
        artifactType: 'application/vnd.example.signature',
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
      },
    });
    const head = await call(registry, 'HEAD', `/v2/${name}/manifests/${signature.digest}`);
    expect(head.status).toBe(200);
    const again = await call(registry, 'PUT', `/v2/${name}/manifests/${signature.digest}`, {
      body: signature.manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(again.headers.get('oci-subject')).toBe(subject.digest);
  });

  it('moving a tag makes it point to the new manifest', async () => {
    const one = await pushImage(registry, name, 'moving');
    const two = await pushImage(registry, name, 'moving');
    expect(one.digest).not.toBe(two.digest);
    const head = await call(registry, 'HEAD', `/v2/${name}/manifests/moving`);
    expect(head.headers.get('docker-content-digest')).toBe(two.digest);
  });
});
