// Conformance: content management (deleting tags, manifests and blobs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, errorCode, pushImage } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';

let registry: TestRegistry;
const name = 'conformance/manage';

beforeAll(async () => {
  registry = await startTestRegistry();
});
afterAll(async () => registry?.close());

describe('content management', () => {
  it('DELETE by tag removes the tag and keeps the manifest', async () => {
    const image = await pushImage(registry, name, 'doomed-tag');
    const response = await call(registry, 'DELETE', `/v2/${name}/manifests/doomed-tag`);
    expect(response.status).toBe(202);
    expect((await call(registry, 'GET', `/v2/${name}/manifests/doomed-tag`)).status).toBe(404);
    expect((await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`)).status).toBe(200);
  });

  it('DELETE by digest removes the manifest and every tag pointing to it', async () => {
    const image = await pushImage(registry, name, 'one');
    await call(registry, 'PUT', `/v2/${name}/manifests/two`, {
      body: image.manifest,
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    const response = await call(registry, 'DELETE', `/v2/${name}/manifests/${image.digest}`);
    expect(response.status).toBe(202);
    const gone = await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`);
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('MANIFEST_UNKNOWN');
    for (const tag of ['one', 'two'])
      expect((await call(registry, 'HEAD', `/v2/${name}/manifests/${tag}`)).status).toBe(404);
    const list = (await (await call(registry, 'GET', `/v2/${name}/tags/list`)).json()) as { tags: string[] };
    expect(list.tags).not.toContain('one');
    expect(list.tags).not.toContain('two');
  });

  it('DELETE of a blob makes it unknown in that repository only', async () => {
    const image = await pushImage(registry, name, 'blobs', { layers: ['shared layer content'] });
    await pushImage(registry, 'conformance/manage-other', 'blobs', { layers: ['shared layer content'] });
    const layer = image.layers[0] as string;
    const response = await call(registry, 'DELETE', `/v2/${name}/blobs/${layer}`);
    expect(response.status).toBe(202);
    const gone = await call(registry, 'GET', `/v2/${name}/blobs/${layer}`);
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('BLOB_UNKNOWN');
    expect((await call(registry, 'GET', `/v2/conformance/manage-other/blobs/${layer}`)).status).toBe(200);
  });

  it('deleting an unknown manifest answers MANIFEST_UNKNOWN', async () => {
    const response = await call(registry, 'DELETE', `/v2/${name}/manifests/sha256:${'1'.repeat(64)}`);
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('MANIFEST_UNKNOWN');
  });
});
