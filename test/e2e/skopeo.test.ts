// skopeo against the registry: an OCI image layout made by hand is copied in, copied back out to
// another layout, and comes back byte for byte (same manifest and blob digests); skopeo inspect
// and list-tags report what was pushed; a multi-arch index survives copy --all; a wrong
// password is refused.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, sha256 } from '../harness/client.ts';
import {
  ACCEPT_ALL_MANIFESTS,
  buildImage,
  buildIndex,
  type Image,
  readOciLayout,
  writeOciLayout,
} from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup, requireTool, run, runOk } from '../harness/tools.ts';

const env = fileSetup(async (defer) => {
  await requireTool('skopeo');
  const registry = await startTestRegistry();
  defer(() => registry.close());
  const workDir = await mkdtemp(path.join(tmpdir(), 'skopeo-e2e-'));
  defer(() => rm(workDir, { recursive: true, force: true }));
  // A config dir of its own, so no credentials from the machine are picked up.
  const skopeoEnv = { ...process.env, REGISTRY_AUTH_FILE: path.join(workDir, 'auth.json'), TMPDIR: workDir };
  const image = buildImage({
    layers: [
      { 'hello.txt': `hello from skopeo ${randomBytes(8).toString('hex')}\n` },
      { 'data/random.bin': randomBytes(64 * 1024) },
    ],
  });
  const layout = path.join(workDir, 'source');
  await writeOciLayout(layout, image.blobs, { v1: image.manifest });
  return { registry, workDir, skopeoEnv, image, layout };
});

beforeAll(() => env.settle()); // a failed setup fails each test, with its message
afterAll(() => env.teardown());

/** skopeo with a trust policy that accepts anything (no /etc/containers/policy.json needed). */
async function skopeo(args: readonly string[]): Promise<string> {
  const { skopeoEnv } = await env.get();
  return (await runOk('skopeo', ['--insecure-policy', ...args], { env: skopeoEnv })).stdout;
}

const DEST = ['--dest-tls-verify=false', '--dest-creds', 'admin:secret'];
const SRC = ['--src-tls-verify=false', '--src-creds', 'admin:secret'];
const REMOTE = ['--tls-verify=false', '--creds', 'admin:secret'];

let copiedIn: Promise<void> | undefined;

/** skopeo copy oci:source:v1 → docker://…/e2e/skopeo:v1 (once). */
async function copyIn(): Promise<void> {
  const { registry, layout } = await env.get();
  copiedIn ??= skopeo([
    'copy',
    '--preserve-digests',
    ...DEST,
    `oci:${layout}:v1`,
    `docker://${registry.host}/e2e/skopeo:v1`,
  ]).then(() => {});
  return copiedIn;
}

/** Fetches a manifest and each blob it references, checking every digest. */
async function expectServed(name: string, reference: string, image: Image): Promise<void> {
  const { registry } = await env.get();
  const response = await call(registry, 'GET', `/v2/${name}/manifests/${reference}`, {
    headers: { Accept: ACCEPT_ALL_MANIFESTS },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(image.manifest.mediaType);
  expect(response.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(image.manifest.bytes))).toBe(true);
  for (const blob of image.blobs) {
    const fetched = await call(registry, 'GET', `/v2/${name}/blobs/${blob.digest}`);
    expect(fetched.status, blob.digest).toBe(200);
    expect(sha256(new Uint8Array(await fetched.arrayBuffer()))).toBe(blob.digest);
  }
}

describe('skopeo copy', () => {
  test('skopeo copy of an OCI layout to the registry stores the manifest and blobs unchanged', async () => {
    const { image } = await env.get();
    await copyIn();
    await expectServed('e2e/skopeo', 'v1', image);
  });

  test('skopeo copy back out to another OCI layout gives identical manifest and blob digests', async () => {
    const { registry, workDir, image } = await env.get();
    await copyIn();
    const out = path.join(workDir, 'copied-out');
    await skopeo([
      'copy',
      '--preserve-digests',
      ...SRC,
      `docker://${registry.host}/e2e/skopeo:v1`,
      `oci:${out}:v1`,
    ]);
    const layout = await readOciLayout(out);
    const tagged = layout.tagged('v1');
    expect(tagged.digest).toBe(image.manifest.digest);
    expect(tagged.mediaType).toBe(image.manifest.mediaType);
    expect(
      Buffer.from(await layout.blob(image.manifest.digest)).equals(Buffer.from(image.manifest.bytes)),
    ).toBe(true);
    for (const blob of image.blobs) {
      expect(Buffer.from(await layout.blob(blob.digest)).equals(Buffer.from(blob.bytes)), blob.digest).toBe(
        true,
      );
    }
  });

  test('skopeo copy from the registry to the registry under another tag keeps the digest', async () => {
    const { registry, image } = await env.get();
    await copyIn();
    await skopeo([
      'copy',
      '--preserve-digests',
      ...SRC,
      ...DEST,
      `docker://${registry.host}/e2e/skopeo:v1`,
      `docker://${registry.host}/e2e/skopeo-copy:v2`,
    ]);
    await expectServed('e2e/skopeo-copy', 'v2', image);
  });

  test('skopeo copy --all of a multi-arch OCI index keeps the index and image digests', async () => {
    const { registry, workDir } = await env.get();
    const images = ['amd64', 'arm64'].map((architecture) =>
      buildImage({
        platform: { os: 'linux', architecture },
        layers: [{ 'platform.txt': `${architecture}\n` }, { 'random.bin': randomBytes(4096) }],
      }),
    );
    const index = buildIndex(images);
    const source = path.join(workDir, 'multi-source');
    await writeOciLayout(source, [...images.flatMap((i) => i.blobs), ...images.map((i) => i.manifest)], {
      multi: index,
    });
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      ...DEST,
      `oci:${source}:multi`,
      `docker://${registry.host}/e2e/skopeo-multi:multi`,
    ]);

    const served = await call(registry, 'GET', '/v2/e2e/skopeo-multi/manifests/multi', {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    expect(served.headers.get('content-type')).toBe(index.mediaType);
    expect(served.headers.get('docker-content-digest')).toBe(index.digest);
    for (const image of images) await expectServed('e2e/skopeo-multi', image.manifest.digest, image);

    const out = path.join(workDir, 'multi-out');
    await skopeo([
      'copy',
      '--all',
      '--preserve-digests',
      ...SRC,
      `docker://${registry.host}/e2e/skopeo-multi:multi`,
      `oci:${out}:multi`,
    ]);
    const layout = await readOciLayout(out);
    expect(layout.tagged('multi').digest).toBe(index.digest);
    for (const image of images) {
      for (const blob of [image.manifest, ...image.blobs]) {
        expect(Buffer.from(await layout.blob(blob.digest)).equals(Buffer.from(blob.bytes)), blob.digest).toBe(
          true,
        );
      }
    }
  });

  test('skopeo copy with a wrong password is refused and stores nothing', async () => {
    const { registry, layout, skopeoEnv } = await env.get();
    const result = await run(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'admin:not-the-password',
        `oci:${layout}:v1`,
        `docker://${registry.host}/e2e/skopeo-refused:v1`,
      ],
      { env: skopeoEnv },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized|authentication required|invalid username\/password/i);
    expect((await call(registry, 'GET', '/v2/e2e/skopeo-refused/tags/list')).status).toBe(404);
  });
});

describe('skopeo inspect and list-tags', () => {
  test('skopeo inspect reports the pushed digest, layers and platform', async () => {
    const { registry, image } = await env.get();
    await copyIn();
    const info = JSON.parse(
      await skopeo(['inspect', ...REMOTE, `docker://${registry.host}/e2e/skopeo:v1`]),
    ) as {
      Name: string;
      Digest: string;
      Layers: string[];
      Architecture: string;
      Os: string;
      RepoTags: string[];
    };
    expect(info.Name).toBe(`${registry.host}/e2e/skopeo`);
    expect(info.Digest).toBe(image.manifest.digest);
    expect(info.Layers).toEqual(image.layers.map((l) => l.digest));
    expect(info.Architecture).toBe('amd64');
    expect(info.Os).toBe('linux');
    expect(info.RepoTags).toContain('v1');
  });

  test('skopeo inspect --raw and --config return the manifest and config as pushed', async () => {
    const { registry, image } = await env.get();
    await copyIn();
    const ref = `docker://${registry.host}/e2e/skopeo:v1`;
    const raw = await skopeo(['inspect', '--raw', ...REMOTE, ref]);
    expect(sha256(raw)).toBe(image.manifest.digest);
    const config = await skopeo(['inspect', '--config', '--raw', ...REMOTE, ref]);
    expect(sha256(config)).toBe(image.config.digest);
  });

  test('skopeo list-tags lists every tag of the repository', async () => {
    const { registry, layout } = await env.get();
    await copyIn();
    for (const tag of ['v1.1', 'latest']) {
      await skopeo([
        'copy',
        '--preserve-digests',
        ...DEST,
        `oci:${layout}:v1`,
        `docker://${registry.host}/e2e/skopeo:${tag}`,
      ]);
    }
    const listed = JSON.parse(
      await skopeo(['list-tags', ...REMOTE, `docker://${registry.host}/e2e/skopeo`]),
    ) as {
      Repository: string;
      Tags: string[];
    };
    expect(listed.Repository).toBe(`${registry.host}/e2e/skopeo`);
    expect([...listed.Tags].sort()).toEqual(['latest', 'v1', 'v1.1']);
  });
});
