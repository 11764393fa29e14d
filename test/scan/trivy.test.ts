// The Trivy scanner's parts that run here (no Trivy binary can be installed on this machine):
// the OCI layout it hands Trivy is read back by skopeo, and a missing binary stops the origin at
// startup with a clear message.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { exportOciLayout } from '../../origin/scan/trivy-scanner.ts';
import { parseManifest, scanSubject } from '../../shared/manifest.ts';
import { runCli } from '../harness/cli.ts';
import { buildImage, pushImage } from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup, runOk } from '../harness/tools.ts';

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry({ config: { scan: { on_push: false } } });
  defer(() => registry.close());
  const dir = await mkdtemp(path.join(tmpdir(), 'trivy-layout-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  return { registry, dir };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

test('the image is exported as an OCI layout that skopeo reads back blob for blob', async () => {
  const { registry, dir } = await env.get();
  const image = buildImage({
    layers: [{ 'etc/os-release': 'ID=alpine\nVERSION_ID=3.14.0\n' }, { 'srv/a.txt': 'a\n' }],
  });
  await pushImage(registry, 'trivy/layout', image, 'v1');
  const manifest = parseManifest(image.manifest.bytes, image.manifest.mediaType);
  if (!manifest.ok) throw new Error(manifest.error.message);
  const kind = scanSubject(manifest.value);
  if (kind.kind !== 'image') throw new Error('not an image');
  const layout = path.join(dir, 'layout');
  const exported = await exportOciLayout(
    registry.running.services.store,
    {
      repository: 'trivy/layout',
      digest: image.manifest.digest,
      configDigest: kind.configDigest,
      layers: kind.layers,
    },
    layout,
  );
  expect(exported).toEqual({ ok: true });
  const raw = await runOk('skopeo', ['inspect', '--raw', `oci:${layout}`]);
  expect(raw.stdout).toBe(new TextDecoder().decode(image.manifest.bytes));
  // skopeo copy verifies every blob's digest as it reads it.
  const copy = path.join(dir, 'copy');
  await runOk('skopeo', ['copy', `oci:${layout}`, `dir:${copy}`]);
  for (const layer of image.layers) {
    expect(
      Buffer.compare(
        await readFile(path.join(copy, layer.digest.slice('sha256:'.length))),
        Buffer.from(layer.bytes),
      ),
    ).toBe(0);
  }
});

test('scanner: trivy without a trivy binary stops `registry serve` at startup with a clear message', async () => {
  const data = await mkdtemp(path.join(tmpdir(), 'trivy-missing-'));
  try {
    const result = await runCli(['serve'], {
      env: {
        REGISTRY_DATA_DIR: data,
        REGISTRY_HTTP_ADDR: '127.0.0.1:0',
        REGISTRY_SCAN_SCANNER: 'trivy',
        REGISTRY_SCAN_TRIVY_PATH: path.join(data, 'no-such-trivy'),
      },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('scan.scanner is trivy but the trivy binary was not found');
  } finally {
    await rm(data, { recursive: true, force: true });
  }
});
