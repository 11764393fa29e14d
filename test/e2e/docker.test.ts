// The seed's demo end to end, with the real Docker engine and CLI: build an image locally,
// docker login, tag, push, rmi, pull, and get the same image back; what the registry then
// serves over its API; multi-arch indexes resolved by docker pull; and what must be refused
// (a push without login, a push over an immutable tag, a push over a quota).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatSize } from '../../origin/policy/quotas.ts';
import { call, sha256 } from '../harness/client.ts';
import { buildScratchImage, type DockerCli, inspectImage, startDockerWorkspace } from '../harness/dockerd.ts';
import {
  ACCEPT_ALL_MANIFESTS,
  buildImage,
  buildIndex,
  type Descriptor,
  type Files,
  type ImageFormat,
  pushImage,
  putManifest,
} from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

/** Keeps this file's local image names apart from other files' in the shared engine. */
const RUN = randomBytes(4).toString('hex');

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Architecture: string;
  Os: string;
  RootFS: { Layers: string[] };
}

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry();
  defer(() => registry.close());
  const { session, docker, workDir, images } = await startDockerWorkspace(defer, 'docker-e2e-');
  const login = await docker.login(registry.host, 'admin', 'secret');
  if (login.code !== 0)
    throw new Error(`docker login ${registry.host} as admin/secret failed: ${login.stderr}`);
  return { registry, session, docker, workDir, images };
});

beforeAll(() => env.settle()); // a failed setup fails each test, with its message
afterAll(() => env.teardown());

const inspect = (docker: DockerCli, ref: string) => inspectImage<ImageInspect>(docker, ref);

/** docker build of FROM scratch with one COPY (so one layer) per file; returns the image id. */
async function buildLocal(tag: string, files: Files): Promise<string> {
  const { docker, workDir, images } = await env.get();
  await buildScratchImage(docker, await mkdtemp(path.join(workDir, 'context-')), tag, files);
  images.add(tag);
  return (await inspect(docker, tag)).Id;
}

/** A file of an image, read through a created (never started) container. */
async function readFromImage(ref: string, file: string): Promise<Buffer> {
  const { docker, workDir } = await env.get();
  const container = (await docker.ok(['create', '--network', 'none', ref, '/nothing'])).trim();
  try {
    const out = path.join(workDir, `copy-${container}`);
    await docker.ok(['cp', `${container}:${file}`, out]);
    return await readFile(out);
  } finally {
    await docker.run(['rm', '--force', container]);
  }
}

function pushedDigest(output: string): { digest: string; size: number } {
  const match = /digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(output);
  if (!match) throw new Error(`docker push printed no digest:\n${output}`);
  return { digest: match[1] as string, size: Number(match[2]) };
}

interface Demo {
  readonly files: Files;
  readonly local: string;
  readonly repository: string;
  readonly remote: string;
  readonly id: string;
  readonly layers: string[];
  readonly digest: string;
  readonly size: number;
}

let demo: Promise<Demo> | undefined;

/** The demo: a three-layer image built locally, tagged for the registry and pushed (once). */
function pushedDemo(): Promise<Demo> {
  demo ??= (async () => {
    const { docker, registry, images } = await env.get();
    const files: Files = {
      'greeting.txt': `hello from the e2e run ${RUN}\n`,
      'data/random.bin': randomBytes(300 * 1024),
      'etc/notes.txt': `three COPY lines, three layers (${RUN})\n`,
    };
    const local = `e2e-${RUN}/demo:built`;
    const id = await buildLocal(local, files);
    const repository = 'e2e/demo';
    const remote = `${registry.host}/${repository}:1.0`;
    await docker.ok(['tag', local, remote]);
    images.add(remote);
    const pushed = pushedDigest(await docker.ok(['push', remote]));
    const { RootFS } = await inspect(docker, local);
    return { files, local, repository, remote, id, layers: RootFS.Layers, ...pushed };
  })();
  return demo;
}

describe('docker login', () => {
  test('docker login with admin/secret is accepted and stores the credentials', async () => {
    const { session, registry } = await env.get();
    const cli = await session.newCli();
    const login = await cli.login(registry.host, 'admin', 'secret');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    const config = JSON.parse(await readFile(path.join(cli.configDir, 'config.json'), 'utf8'));
    expect(config.auths[registry.host].auth).toBe(Buffer.from('admin:secret').toString('base64'));
  });

  test('docker login with a wrong password is refused and stores nothing', async () => {
    const { session, registry } = await env.get();
    const cli = await session.newCli();
    const login = await cli.login(registry.host, 'admin', 'not-the-password');
    expect(login.code).not.toBe(0);
    expect(login.stderr).toMatch(/unauthorized|incorrect username or password/i);
    const config = await readFile(path.join(cli.configDir, 'config.json'), 'utf8').catch(() => '{}');
    expect(JSON.parse(config).auths?.[registry.host]).toBeUndefined();
  });
});

describe('docker push and pull (the seed demo)', () => {
  test('docker build FROM scratch with three COPY lines makes a three-layer image, and docker push uploads it', async () => {
    const { docker, registry } = await env.get();
    const pushed = await pushedDemo();
    expect(pushed.layers).toHaveLength(3);
    expect(pushed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const image = await inspect(docker, pushed.remote);
    expect(image.Id).toBe(pushed.id);
    expect(image.RepoDigests).toContain(`${registry.host}/${pushed.repository}@${pushed.digest}`);
  });

  test('docker pull after rmi gets the pushed image back: same id, digest, layers and files', async () => {
    const { docker, registry, images } = await env.get();
    const pushed = await pushedDemo();
    await docker.ok(['rmi', pushed.remote, pushed.local]);
    images.delete(pushed.local);
    const gone = await docker.run(['image', 'inspect', pushed.id]);
    expect(gone.code, 'the image is still in the engine after docker rmi').not.toBe(0);

    const pull = await docker.ok(['pull', pushed.remote]);
    expect(pull).toContain(`Digest: ${pushed.digest}`);
    const image = await inspect(docker, pushed.remote);
    expect(image.Id).toBe(pushed.id);
    expect(image.RootFS.Layers).toEqual(pushed.layers);
    expect(image.RepoDigests).toContain(`${registry.host}/${pushed.repository}@${pushed.digest}`);
    for (const [name, content] of Object.entries(pushed.files)) {
      expect(Buffer.compare(await readFromImage(pushed.remote, `/${name}`), Buffer.from(content)), name).toBe(
        0,
      );
    }
  });

  test('docker pull by digest gets the same image', async () => {
    const { docker, registry, images } = await env.get();
    const pushed = await pushedDemo();
    const byDigest = `${registry.host}/${pushed.repository}@${pushed.digest}`;
    const pull = await docker.ok(['pull', byDigest]);
    images.add(byDigest);
    expect(pull).toContain(`Digest: ${pushed.digest}`);
    expect((await inspect(docker, byDigest)).Id).toBe(pushed.id);
  });

  test('docker push of a second tag of the same image reuses the layers and moves no new blob', async () => {
    const { docker, registry, images } = await env.get();
    const pushed = await pushedDemo();
    const latest = `${registry.host}/${pushed.repository}:latest`;
    await docker.ok(['tag', pushed.remote, latest]);
    images.add(latest);
    const output = await docker.ok(['push', latest]);
    expect(output.match(/Layer already exists/g)).toHaveLength(3);
    expect(pushedDigest(output).digest).toBe(pushed.digest);
  });
});

describe('what the registry serves after docker push', () => {
  test('GET /v2/_catalog lists the repository and /v2/<name>/tags/list its tags', async () => {
    const { docker, registry, images } = await env.get();
    const pushed = await pushedDemo();
    const second = `${registry.host}/${pushed.repository}:catalog`;
    await docker.ok(['tag', pushed.remote, second]);
    images.add(second);
    await docker.ok(['push', second]);

    const catalog = await call(registry, 'GET', '/v2/_catalog');
    expect(catalog.status).toBe(200);
    expect(((await catalog.json()) as { repositories: string[] }).repositories).toContain(pushed.repository);

    const tags = await call(registry, 'GET', `/v2/${pushed.repository}/tags/list`);
    expect(tags.status).toBe(200);
    const list = (await tags.json()) as { name: string; tags: string[] };
    expect(list.name).toBe(pushed.repository);
    expect(list.tags).toContain('1.0');
    expect(list.tags).toContain('catalog');
  });

  test('the pushed manifest is served under an OCI Accept header with its media type and Docker-Content-Digest', async () => {
    const { registry } = await env.get();
    const pushed = await pushedDemo();
    const response = await call(registry, 'GET', `/v2/${pushed.repository}/manifests/1.0`, {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as {
      mediaType: string;
      config: Descriptor;
      layers: Descriptor[];
    };
    // Docker's engine pushes Docker's v2 schema 2 (the containerd image store, OCI): served as pushed.
    expect([DOCKER_MANIFEST, OCI_MANIFEST]).toContain(manifest.mediaType);
    expect(response.headers.get('content-type')).toBe(manifest.mediaType);
    expect(response.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(sha256(bytes)).toBe(pushed.digest);
    expect(bytes.byteLength).toBe(pushed.size);
    expect(manifest.config.digest).toBe(pushed.id);
    expect(manifest.layers).toHaveLength(3);

    const head = await call(registry, 'HEAD', `/v2/${pushed.repository}/manifests/1.0`, {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
  });

  test('every blob of the pushed manifest is fetchable and matches its digest and size', async () => {
    const { registry } = await env.get();
    const pushed = await pushedDemo();
    const response = await call(registry, 'GET', `/v2/${pushed.repository}/manifests/${pushed.digest}`, {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    const manifest = (await response.json()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [manifest.config, ...manifest.layers]) {
      const blob = await call(registry, 'GET', `/v2/${pushed.repository}/blobs/${d.digest}`);
      expect(blob.status, d.digest).toBe(200);
      const bytes = new Uint8Array(await blob.arrayBuffer());
      expect(sha256(bytes)).toBe(d.digest);
      expect(bytes.byteLength).toBe(d.size);
      expect(blob.headers.get('docker-content-digest')).toBe(d.digest);
    }
  });
});

describe('multi-arch images', () => {
  /** Pushes linux/arm64 and linux/amd64 images by digest and an index of both (arm64 first) as :multi. */
  async function pushMultiArch(format: ImageFormat, repository = `e2e/multi-${format}`) {
    const { registry } = await env.get();
    const image = (architecture: string) =>
      buildImage({
        format,
        platform: { os: 'linux', architecture },
        layers: [
          { 'platform.txt': `${architecture} ${RUN}\n` },
          { 'shared/common.txt': `both ${randomBytes(8).toString('hex')}` },
        ],
      });
    const arm64 = image('arm64');
    const amd64 = image('amd64');
    await pushImage(registry, repository, arm64);
    await pushImage(registry, repository, amd64);
    const index = buildIndex([arm64, amd64], format);
    await putManifest(registry, repository, 'multi', index);
    return { repository, remote: `${registry.host}/${repository}:multi`, arm64, amd64, index };
  }

  test.each<ImageFormat>(['oci', 'docker'])(
    'docker pull of a %s multi-arch index resolves the linux/amd64 image',
    async (format) => {
      const { docker, registry, images } = await env.get();
      const multi = await pushMultiArch(format);

      const served = await call(registry, 'GET', `/v2/${multi.repository}/manifests/multi`, {
        headers: { Accept: ACCEPT_ALL_MANIFESTS },
      });
      expect(served.headers.get('content-type')).toBe(multi.index.mediaType);
      expect(served.headers.get('docker-content-digest')).toBe(multi.index.digest);

      const pull = await docker.ok(['pull', multi.remote]);
      images.add(multi.remote);
      expect(pull).toContain(`Digest: ${multi.index.digest}`);
      const image = await inspect(docker, multi.remote);
      expect(image.Architecture).toBe('amd64');
      expect(image.Os).toBe('linux');
      expect(image.Id).toBe(multi.amd64.config.digest);
      expect(image.RepoDigests).toContain(`${registry.host}/${multi.repository}@${multi.index.digest}`);
      expect((await readFromImage(multi.remote, '/platform.txt')).toString()).toBe(`amd64 ${RUN}\n`);
    },
  );

  test('docker pull --platform linux/arm64 of a multi-arch index gets the linux/arm64 image', async () => {
    const { docker, registry, images } = await env.get();
    const multi = await pushMultiArch('oci', 'e2e/multi-platform');
    const pull = await docker.ok(['pull', '--platform', 'linux/arm64', multi.remote]);
    images.add(multi.remote);
    expect(pull).toContain(`Digest: ${multi.index.digest}`);
    const image = await inspect(docker, multi.remote);
    expect(image.Architecture).toBe('arm64');
    expect(image.Id).toBe(multi.arm64.config.digest);
    expect(image.RepoDigests).toContain(`${registry.host}/${multi.repository}@${multi.index.digest}`);
  });
});

describe('refusals', () => {
  test('docker push without docker login is refused and the registry stores nothing', async () => {
    const { session, registry, images } = await env.get();
    const anonymous = await session.newCli(); // never logged in
    const local = `e2e-${RUN}/anonymous:built`;
    await buildLocal(local, { 'anonymous.txt': `pushed by nobody ${RUN}\n` });
    const remote = `${registry.host}/e2e/anonymous:1`;
    await anonymous.ok(['tag', local, remote]);
    images.add(remote);

    const push = await anonymous.run(['push', remote]);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/denied|no basic auth credentials|unauthorized|authentication required/i);

    const tags = await call(registry, 'GET', '/v2/e2e/anonymous/tags/list');
    expect(tags.status).toBe(404);
    const catalog = (await (await call(registry, 'GET', '/v2/_catalog')).json()) as {
      repositories: string[];
    };
    expect(catalog.repositories).not.toContain('e2e/anonymous');
  });

  test('docker push over an immutable tag fails printing "tag … is immutable"; pushing the same image again succeeds', async () => {
    const { docker, registry, images } = await env.get();
    const rule = await call(registry, 'PUT', '/admin/immutable-tags', {
      body: JSON.stringify({ prefix: 'e2e/immutable', tags: ['v*'] }),
    });
    expect(rule.status).toBe(200);
    const remote = `${registry.host}/e2e/immutable:v1.0.0`;
    const first = `e2e-${RUN}/immutable:first`;
    const second = `e2e-${RUN}/immutable:second`;
    await buildLocal(first, { 'release.txt': `the release ${RUN}\n` });
    await buildLocal(second, { 'release.txt': `a rebuild that must not replace it ${RUN}\n` });
    images.add(remote);
    await docker.ok(['tag', first, remote]);
    const pushed = pushedDigest(await docker.ok(['push', remote]));

    await docker.ok(['tag', second, remote]);
    const refused = await docker.run(['push', remote]);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}\n${refused.stderr}`).toMatch(/denied: tag v1\.0\.0 is immutable/);

    // A CI job retrying its push of the same image is not refused.
    await docker.ok(['tag', first, remote]);
    expect(pushedDigest(await docker.ok(['push', remote])).digest).toBe(pushed.digest);
    const head = await call(registry, 'HEAD', '/v2/e2e/immutable/manifests/v1.0.0', {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    expect(head.headers.get('docker-content-digest')).toBe(pushed.digest);
  });

  test('docker push over a quota fails printing "quota exceeded: … of … used by …"; the usage is unchanged', async () => {
    const { docker, registry, images } = await env.get();
    const rule = await call(registry, 'PUT', '/admin/quotas/e2e/quota/', {
      body: JSON.stringify({ limit: '3kB' }),
    });
    expect(rule.status).toBe(200);
    const usedNow = async () =>
      ((await (await call(registry, 'GET', '/admin/quotas/e2e/quota/')).json()) as { used: number }).used;
    const small = `e2e-${RUN}/quota:small`;
    const big = `e2e-${RUN}/quota:big`;
    await buildLocal(small, { 'small.txt': `small ${RUN}\n` });
    // Random text compresses little: its layer alone passes the limit.
    await buildLocal(big, { 'big.txt': randomBytes(4096).toString('base64') });
    const remote = `${registry.host}/e2e/quota/app`;
    images.add(`${remote}:small`);
    images.add(`${remote}:big`);
    await docker.ok(['tag', small, `${remote}:small`]);
    await docker.ok(['push', `${remote}:small`]);
    const before = await usedNow();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(3000);

    await docker.ok(['tag', big, `${remote}:big`]);
    const refused = await docker.run(['push', `${remote}:big`]);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}\n${refused.stderr}`).toContain(
      `denied: quota exceeded: ${formatSize(before, Math.floor)} of 3 kB used by e2e/quota/`,
    );
    expect(await usedNow()).toBe(before);
    expect((await call(registry, 'HEAD', '/v2/e2e/quota/app/manifests/big')).status).toBe(404);
  });
});
