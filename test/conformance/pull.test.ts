// Conformance: pull (OCI Distribution Spec, "Pulling manifests" and "Pulling blobs").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  OCI_INDEX,
  OCI_MANIFEST,
  type PushedImage,
  pushBlob,
  pushImage,
  sha256,
} from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';

let registry: TestRegistry;
let image: PushedImage;
const name = 'conformance/pull';

beforeAll(async () => {
  registry = await startTestRegistry();
  image = await pushImage(registry, name, 'v1', { layers: ['first layer', 'second layer, a little longer'] });
});
afterAll(async () => registry?.close());

describe('pull: manifests', () => {
  it('GET /v2/ answers 200 with Docker-Distribution-API-Version', async () => {
    const response = await call(registry, 'GET', '/v2/');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('GET manifest by tag returns the pushed bytes with digest, type, length and ETag', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/manifests/v1`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(image.manifest);
    expect(response.headers.get('docker-content-digest')).toBe(image.digest);
    expect(response.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(image.manifest)));
    expect(response.headers.get('etag')).toBe(`"${image.digest}"`);
  });

  it('GET manifest by digest returns the same manifest', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`);
    expect(response.status).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(image.digest);
  });

  it('HEAD manifest answers headers without a body', async () => {
    const response = await call(registry, 'HEAD', `/v2/${name}/manifests/v1`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(image.digest);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(image.manifest)));
    expect(await response.text()).toBe('');
  });

  it('If-None-Match with the current digest answers 304', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/manifests/v1`, {
      headers: { 'If-None-Match': `"${image.digest}"` },
    });
    expect(response.status).toBe(304);
  });

  it('an index is served to clients that accept it, and its amd64 image to clients that only accept images', async () => {
    const amd = await pushImage(registry, name, 'amd');
    const arm = await pushImage(registry, name, 'arm');
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
    const put = await call(registry, 'PUT', `/v2/${name}/manifests/multi`, {
      body: index,
      headers: { 'Content-Type': OCI_INDEX },
    });
    expect(put.status).toBe(201);
    const asIndex = await call(registry, 'GET', `/v2/${name}/manifests/multi`, {
      headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` },
    });
    expect(asIndex.headers.get('content-type')).toBe(OCI_INDEX);
    expect(await asIndex.text()).toBe(index);
    const asImage = await call(registry, 'GET', `/v2/${name}/manifests/multi`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(asImage.headers.get('docker-content-digest')).toBe(amd.digest);
  });
});

describe('pull: blobs', () => {
  it('GET blob streams the content with its digest', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/blobs/${image.layers[1]}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('second layer, a little longer');
    expect(response.headers.get('docker-content-digest')).toBe(image.layers[1]);
    expect(response.headers.get('content-length')).toBe('29');
  });

  it('HEAD blob answers its size without a body', async () => {
    const response = await call(registry, 'HEAD', `/v2/${name}/blobs/${image.layers[0]}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('11');
    expect(await response.text()).toBe('');
  });

  it('GET blob with a Range answers 206 with that part only', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/blobs/${image.layers[1]}`, {
      headers: { Range: 'bytes=7-11' },
    });
    expect(response.status).toBe(206);
    expect(await response.text()).toBe('layer');
    expect(response.headers.get('content-range')).toBe('bytes 7-11/29');
  });

  it('open-ended and suffix ranges are served', async () => {
    const open = await call(registry, 'GET', `/v2/${name}/blobs/${image.layers[1]}`, {
      headers: { Range: 'bytes=20-' },
    });
    expect(await open.text()).toBe('a little longer'.slice(6));
    const suffix = await call(registry, 'GET', `/v2/${name}/blobs/${image.layers[1]}`, {
      headers: { Range: 'bytes=-6' },
    });
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe('longer');
  });

  it('a range beyond the blob answers 416 with the blob size', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/blobs/${image.layers[0]}`, {
      headers: { Range: 'bytes=100-200' },
    });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe('bytes */11');
  });

  it('sha512 blobs are stored and served', async () => {
    const content = 'a blob addressed by sha512';
    const { createHash } = await import('node:crypto');
    const digest = `sha512:${createHash('sha512').update(content).digest('hex')}`;
    const put = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      body: content,
    });
    expect(put.status).toBe(201);
    const get = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
    expect(await get.text()).toBe(content);
  });

  it('a large blob streams back byte-identical', async () => {
    const big = new Uint8Array(24 * 1024 * 1024).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
    const digest = await pushBlob(registry, name, big);
    const response = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(digest);
  });
});
