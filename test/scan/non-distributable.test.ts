// A non-distributable layer pushed without `urls` lives in this registry like any other layer:
// origin requires it at push, so the scanner must read it (shared/manifest.ts isExternalLayer).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { call, errorCode, OCI_MANIFEST, pushBlob, sha256 } from '../harness/client.ts';
import { buildImage, descriptor, type Image, putManifest } from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

const FIXTURES = path.resolve('test/fixtures');
const NON_DISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
const NAME = 'scan/nondistributable';

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry({ config: { scan: { concurrency: 1, poll_interval: '200ms' } } });
  defer(() => registry.close());
  const imported = await call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: path.join(FIXTURES, 'osv') }),
  });
  if (imported.status !== 200) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
  return { registry };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

/** An image whose one layer (npm's minimist 1.2.5, vulnerable to CVE-2021-44906) is non-distributable, without urls. */
function imageWithNonDistributableLayer(): Image {
  const built = buildImage({
    layers: [
      {
        'srv/app/node_modules/minimist/package.json': readFileSync(
          path.join(FIXTURES, 'images/debian-app/minimist-package.json'),
          'utf8',
        ),
      },
    ],
  });
  const layers = built.layers.map((l) => ({ ...l, mediaType: NON_DISTRIBUTABLE }));
  const bytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(built.config),
      layers: layers.map((l) => descriptor(l)),
    }),
  );
  return {
    ...built,
    layers,
    blobs: [built.config, ...layers],
    manifest: { mediaType: OCI_MANIFEST, digest: sha256(bytes), bytes },
  };
}

interface Report {
  status: string;
  error?: string;
  details: { id: string; package: string; installed_version: string; layer: string }[];
  packages?: { name: string; version: string; layer: string }[];
}

test('a non-distributable layer without urls is required at push and read by the scan', async () => {
  const { registry } = await env.get();
  const image = imageWithNonDistributableLayer();
  const layer = image.layers[0];
  if (!layer) throw new Error('the image has no layer');

  await pushBlob(registry, NAME, image.config.bytes);
  const early = await call(registry, 'PUT', `/v2/${NAME}/manifests/v1`, {
    body: image.manifest.bytes,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  expect(early.status).toBe(400);
  expect(await errorCode(early)).toBe('MANIFEST_BLOB_UNKNOWN');

  await pushBlob(registry, NAME, layer.bytes);
  await putManifest(registry, NAME, 'v1', image.manifest);

  const deadline = Date.now() + 60_000;
  let report: Report;
  for (;;) {
    const response = await call(registry, 'GET', `/v2/${NAME}/manifests/v1/scan?packages=true`);
    expect(response.status).toBe(200);
    report = (await response.json()) as Report;
    if (report.status === 'completed' || report.status === 'failed') break;
    if (Date.now() > deadline) throw new Error(`the scan is still ${report.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(report.error).toBeUndefined();
  expect(report.status).toBe('completed');
  expect(report.packages?.map((p) => `${p.name}@${p.version} ${p.layer}`)).toEqual([
    `minimist@1.2.5 ${layer.digest}`,
  ]);
  expect(report.details.map((d) => `${d.id} ${d.package} ${d.installed_version} ${d.layer}`)).toEqual([
    `CVE-2021-44906 minimist 1.2.5 ${layer.digest}`,
  ]);
});
