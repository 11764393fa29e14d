// The edge tier with the real Docker CLI: images are pushed to origin with docker push and pulled
// through the edge Worker (workerd, under miniflare) with docker pull. A counting proxy sits between
// the edge and origin, so each test can tell which requests reached origin; docker gets its tokens
// from origin's /token directly (the edge's 401 challenge names it), not through the proxy. The edge
// listens over HTTPS, as `wrangler dev --local-protocol https` does in the README's recipe: docker
// tries HTTPS first, and over plain HTTP it would wait 10 s on every command (test/harness/edge.ts).
//   - docker login to the edge works, at once (the challenge sends docker to origin's token service);
//   - a cold pull through the edge gives the pushed image; after rmi, a cached pull sends no blob
//     GET to origin and at most one tag revalidation;
//   - a tag moved at origin is seen through the edge after the tag TTL;
//   - a policy set at origin blocks the first pull through the edge once the policy TTL has
//     passed, with origin's message; the allowlist lifts it for the next pull;
//   - with origin unreachable (the proxy closed), the cached image still pulls through the edge,
//     by digest and by tag (the last known mapping).
// The tests move the edge's clock past its TTLs rather than sleep (test/harness/edge.ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call } from '../harness/client.ts';
import { startCountingProxy } from '../harness/counting-proxy.ts';
import {
  buildAlpineImage,
  buildScratchImage,
  type DockerCli,
  inspectImage,
  startDockerWorkspace,
} from '../harness/dockerd.ts';
import { startTestEdge } from '../harness/edge.ts';
import type { Files } from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup } from '../harness/tools.ts';

/** Keeps this file's local image names apart from other files' in the shared engine. */
const RUN = randomBytes(4).toString('hex');
const MiB = 1024 * 1024;

/** The edge's settings for this file: the tests move its clock past the TTLs. */
const CHUNK_SIZE = MiB;
const TAG_TTL_SECONDS = 2;
const POLICY_TTL_SECONDS = 2;

const REPOSITORY = 'edge/demo';
const TAG = '1.0';
const POLICY_REPOSITORY = 'policy/alpine';
const POLICY_TAG = '3.14';

interface ImageInspect {
  Id: string;
  RepoDigests: string[];
  RootFS: { Layers: string[] };
}

const env = fileSetup(async (defer) => {
  const registry = await startTestRegistry({
    config: {
      scan: { concurrency: 1, poll_interval: '200ms', vulndb_dir: path.resolve('test/fixtures') },
      policy: { refresh_interval: '200ms' },
    },
  });
  defer(() => registry.close());
  const imported = await call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: 'osv' }),
  });
  if (imported.status !== 200) throw new Error(`import: ${imported.status} ${await imported.text()}`);

  const proxy = await startCountingProxy(registry.url);
  let proxyOpen = true;
  /** "Origin goes away" for the edge: its only way there is the proxy. */
  const closeProxy = async () => {
    if (!proxyOpen) return;
    proxyOpen = false;
    await proxy.close();
  };
  defer(closeProxy);

  const { auth } = registry.running.services.config;
  const edge = await startTestEdge({
    originUrl: proxy.url,
    originPublicUrl: registry.url,
    service: auth.service,
    issuer: auth.issuer,
    chunkSize: CHUNK_SIZE,
    tagTtlSeconds: TAG_TTL_SECONDS,
    policyTtlSeconds: POLICY_TTL_SECONDS,
    staleSeconds: 3600,
    https: true,
  });
  defer(() => edge.close());
  /** The edge as docker names it. */
  const edgeHost = edge.host;

  const { session, docker, workDir, images } = await startDockerWorkspace(defer, 'edge-docker-');
  // Pushes go to origin; pulls through the edge log in there in their own test first.
  const login = await docker.login(registry.host, 'admin', 'secret');
  if (login.code !== 0) throw new Error(`docker login ${registry.host} failed: ${login.stderr}`);
  return { registry, proxy, closeProxy, edge, edgeHost, session, docker, workDir, images };
});

beforeAll(() => env.settle()); // a failed setup fails each test, with its message
afterAll(() => env.teardown());

const inspect = (docker: DockerCli, ref: string) => inspectImage<ImageInspect>(docker, ref);

async function present(ref: string): Promise<boolean> {
  const { docker } = await env.get();
  return (await docker.run(['image', 'inspect', ref])).code === 0;
}

/** docker build of FROM scratch with one COPY (so one layer) per file; returns the image id. */
async function buildLocal(tag: string, files: Files): Promise<string> {
  const { docker, workDir, images } = await env.get();
  await buildScratchImage(docker, await mkdtemp(path.join(workDir, 'context-')), tag, files);
  images.add(tag);
  return (await inspect(docker, tag)).Id;
}

function pushedDigest(output: string): string {
  const match = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(output);
  if (!match) throw new Error(`docker push printed no digest:\n${output}`);
  return match[1] as string;
}

interface Pushed {
  readonly id: string;
  /** The manifest digest docker push printed. */
  readonly digest: string;
  readonly layers: string[];
}

/**
 * Tags the local image for origin, pushes it there, then removes both names from the engine, so
 * that the image is gone and a pull has to fetch every layer.
 */
async function pushToOriginAndForget(local: string, repository: string, tag: string): Promise<Pushed> {
  const { docker, registry, images } = await env.get();
  const { Id: id, RootFS } = await inspect(docker, local);
  const remote = `${registry.host}/${repository}:${tag}`;
  await docker.ok(['tag', local, remote]);
  images.add(remote);
  const digest = pushedDigest(await docker.ok(['push', remote]));
  await docker.ok(['rmi', remote, local]);
  images.delete(remote);
  images.delete(local);
  if (await present(id)) throw new Error(`image ${id} is still in the engine after docker rmi`);
  return { id, digest, layers: RootFS.Layers };
}

/** Removes a pulled name; the image must then be gone from the engine. */
async function forget(ref: string, id: string): Promise<void> {
  const { docker, images } = await env.get();
  await docker.ok(['rmi', ref]);
  images.delete(ref);
  if (await present(id)) throw new Error(`image ${id} is still in the engine after docker rmi ${ref}`);
}

let edgeLogin: Promise<void> | undefined;

/** The main CLI logged in to the edge (checked by its own test). */
function loggedInToEdge(): Promise<void> {
  edgeLogin ??= (async () => {
    const { docker, edgeHost } = await env.get();
    const login = await docker.login(edgeHost, 'admin', 'secret');
    if (login.code !== 0) throw new Error(`docker login ${edgeHost} as admin/secret failed: ${login.stderr}`);
  })();
  return edgeLogin;
}

/** Origin requests seen by the proxy while `work` runs, as "METHOD path". */
async function originRequestsDuring(work: () => Promise<unknown>): Promise<string[]> {
  const { proxy } = await env.get();
  const mark = proxy.requests.length;
  await work();
  return proxy.requests.slice(mark);
}

const blobGets = (requests: string[], repository: string) =>
  requests.filter((r) => r.startsWith(`GET /v2/${repository}/blobs/`));
const manifestRequests = (requests: string[], repository: string) =>
  requests.filter((r) => r.includes(`/v2/${repository}/manifests/`));

let first: Promise<Pushed> | undefined;

/** Image A: four layers, one of 5 MiB of random bytes (several edge chunks); pushed once. */
function firstImage(): Promise<Pushed> {
  first ??= (async () => {
    const files: Files = {
      'greeting.txt': `hello through the edge ${RUN}\n`,
      'data/random.bin': randomBytes(5 * MiB),
      'data/small.bin': randomBytes(200 * 1024),
      'etc/notes.txt': `image A of ${RUN}\n`,
    };
    await buildLocal(`edge-e2e-${RUN}/a:built`, files);
    return pushToOriginAndForget(`edge-e2e-${RUN}/a:built`, REPOSITORY, TAG);
  })();
  return first;
}

interface ColdPull {
  readonly image: ImageInspect;
  readonly output: string;
  readonly origin: string[];
}

let cold: Promise<ColdPull> | undefined;

/** The first pull of image A through the edge (nothing of it cached yet); the image is then removed. */
function coldPull(): Promise<ColdPull> {
  cold ??= (async () => {
    const { docker, edgeHost, images } = await env.get();
    const pushed = await firstImage();
    await loggedInToEdge();
    const ref = `${edgeHost}/${REPOSITORY}:${TAG}`;
    let output = '';
    const origin = await originRequestsDuring(async () => {
      output = await docker.ok(['pull', ref]);
    });
    images.add(ref);
    const image = await inspect(docker, ref);
    await forget(ref, pushed.id);
    return { image, output, origin };
  })();
  return cold;
}

/** Docker's TLS handshake timeout: a docker command that waited it out fell back from HTTPS. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

describe('docker login through the edge', () => {
  test("docker login <edge> with admin/secret succeeds at once, over HTTPS: the edge's 401 challenge sends docker to origin's /token", async () => {
    const { session, edge, edgeHost, registry } = await env.get();
    const challenge = await edge.fetch('/v2/');
    await challenge.arrayBuffer();
    expect(challenge.status).toBe(401);
    const header = challenge.headers.get('www-authenticate') ?? '';
    expect(header).toMatch(/^Bearer /);
    expect(header).toContain(`realm="${registry.url}/token"`);
    expect(header).toContain(`service="${registry.running.services.config.auth.service}"`);

    const cli = await session.newCli();
    const started = performance.now();
    const login = await cli.login(edgeHost, 'admin', 'secret');
    const elapsed = performance.now() - started;
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Login Succeeded');
    // Over plain HTTP, docker's HTTPS attempt would have waited out its handshake timeout first.
    expect(elapsed).toBeLessThan(TLS_HANDSHAKE_TIMEOUT_MS);
    const config = JSON.parse(await readFile(path.join(cli.configDir, 'config.json'), 'utf8'));
    expect(config.auths[edgeHost].auth).toBe(Buffer.from('admin:secret').toString('base64'));

    const wrong = await (await session.newCli()).login(edgeHost, 'admin', 'not-the-password');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|incorrect username or password/i);

    await expect(loggedInToEdge()).resolves.toBeUndefined();
  });
});

describe('docker pull through the edge', () => {
  test('a cold pull through the edge gives the image pushed to origin (same id, digest and layers), its blobs fetched from origin', async () => {
    const pushed = await firstImage();
    const { image, output, origin } = await coldPull();
    expect(output).toContain(`Digest: ${pushed.digest}`);
    expect(image.Id).toBe(pushed.id);
    expect(image.RootFS.Layers).toEqual(pushed.layers);
    expect(image.RootFS.Layers).toHaveLength(4);
    // Cold: the edge had to go to origin for the blobs.
    expect(blobGets(origin, REPOSITORY).length, origin.join('\n')).toBeGreaterThan(0);
  });

  test('after docker rmi, a cached pull through the edge sends no blob GET to origin and at most one tag revalidation', async () => {
    const { docker, edgeHost, images } = await env.get();
    const pushed = await firstImage();
    await coldPull();
    const ref = `${edgeHost}/${REPOSITORY}:${TAG}`;
    expect(await present(pushed.id), 'the image must be gone before the cached pull').toBe(false);
    let output = '';
    const origin = await originRequestsDuring(async () => {
      output = await docker.ok(['pull', ref]);
    });
    images.add(ref);
    expect(output).toContain(`Digest: ${pushed.digest}`);
    // Every layer was downloaded (the engine had none of them), from the edge's cache.
    expect(output).toMatch(/Pull complete/);
    const image = await inspect(docker, ref);
    expect(image.Id).toBe(pushed.id);
    expect(image.RootFS.Layers).toEqual(pushed.layers);
    expect(blobGets(origin, REPOSITORY), `origin saw:\n${origin.join('\n')}`).toEqual([]);
    expect(
      manifestRequests(origin, REPOSITORY).length,
      `origin saw:\n${origin.join('\n')}`,
    ).toBeLessThanOrEqual(1);
    await forget(ref, pushed.id);
  });
});

interface MovedTag {
  readonly pushed: Pushed;
  readonly output: string;
  readonly image: ImageInspect;
}

let moved: Promise<MovedTag> | undefined;

/**
 * Image B pushed to the same tag at origin while the edge maps the tag to A (pulled just before);
 * then, after the tag TTL, one pull through the edge (its image left in the engine).
 */
function tagMoved(): Promise<MovedTag> {
  moved ??= (async () => {
    const { docker, edge, edgeHost, images } = await env.get();
    const a = await firstImage();
    await coldPull();
    const ref = `${edgeHost}/${REPOSITORY}:${TAG}`;
    await docker.ok(['pull', ref]);
    images.add(ref);
    await forget(ref, a.id);
    const files: Files = {
      'greeting.txt': `hello again through the edge ${RUN}\n`,
      'data/random.bin': randomBytes(2 * MiB),
      'etc/notes.txt': `image B of ${RUN}\n`,
    };
    await buildLocal(`edge-e2e-${RUN}/b:built`, files);
    const pushed = await pushToOriginAndForget(`edge-e2e-${RUN}/b:built`, REPOSITORY, TAG);
    await edge.advanceClock(TAG_TTL_SECONDS * 1000);
    const output = await docker.ok(['pull', ref]);
    images.add(ref);
    return { pushed, output, image: await inspect(docker, ref) };
  })();
  return moved;
}

describe('tags at the edge', () => {
  test('a tag moved at origin (another image pushed to it): after the tag TTL, docker pull through the edge gets the new image', async () => {
    const a = await firstImage();
    const { pushed, output, image } = await tagMoved();
    expect(pushed.id).not.toBe(a.id);
    expect(output).toContain(`Digest: ${pushed.digest}`);
    expect(image.Id).toBe(pushed.id);
    expect(image.RootFS.Layers).toEqual(pushed.layers);
  }, 120_000);
});

describe('pull policy at the edge', () => {
  test('a policy set at origin blocks docker pull through the edge once the policy TTL has passed, with origin’s message; the allowlist lifts it at once', async () => {
    const { registry, docker, edge, edgeHost, workDir, images } = await env.get();
    await loggedInToEdge();
    // An Alpine 3.14 root: its apk database names openssl 1.1.1k (CVE-2021-3711, critical).
    const local = `edge-e2e-${RUN}/alpine:built`;
    await buildAlpineImage(docker, path.join(workDir, 'alpine'), local, RUN);
    images.add(local);
    const pushed = await pushToOriginAndForget(local, POLICY_REPOSITORY, POLICY_TAG);

    const deadline = Date.now() + 60_000;
    for (;;) {
      const report = (await (
        await call(registry, 'GET', `/v2/${POLICY_REPOSITORY}/manifests/${POLICY_TAG}/scan`)
      ).json()) as { status: string };
      if (report.status === 'completed') break;
      if (Date.now() > deadline) throw new Error(`scan still ${report.status}`);
      await sleep(100);
    }

    // Pulled through the edge before any policy: the edge now holds the image.
    const ref = `${edgeHost}/${POLICY_REPOSITORY}:${POLICY_TAG}`;
    await docker.ok(['pull', ref]);
    images.add(ref);
    expect((await inspect(docker, ref)).Id).toBe(pushed.id);
    await forget(ref, pushed.id);

    const admin = async (method: string, url: string, body: unknown) => {
      const response = await call(registry, method, url, {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
    };

    await admin('PUT', '/admin/policies', { prefix: 'policy/', threshold: 'critical' });
    // The edge's decision to allow the pull stands for POLICY_TTL; past it, the first pull is refused.
    await edge.advanceClock(POLICY_TTL_SECONDS * 1000);
    const blocked = await docker.run(['pull', ref]);
    expect(blocked.code, 'the pull through the edge was not refused').not.toBe(0);
    expect(blocked.stderr).toContain('image blocked due to critical vulnerabilities (CVE-2021-3711)');

    // A block is never cached: allowlisted at origin, the next pull goes through.
    await admin('PUT', '/admin/allowlist', {
      prefix: POLICY_REPOSITORY,
      vulnerability: 'CVE-2021-3711',
      reason: 'not reachable in this image',
    });
    const allowed = await docker.run(['pull', ref]);
    expect(allowed.code, allowed.stderr).toBe(0);
    images.add(ref);
    expect((await inspect(docker, ref)).Id).toBe(pushed.id);
  }, 180_000);
});

describe('origin unreachable', () => {
  test('with the edge cut off from origin, the cached image still pulls through the edge: by digest, and by tag from the last known mapping', async () => {
    const { docker, edge, edgeHost, closeProxy, proxy, images } = await env.get();
    const { pushed } = await tagMoved();
    const ref = `${edgeHost}/${REPOSITORY}:${TAG}`;
    // The image (B, the tag's current one) was pulled through the edge: the edge holds it all.
    if (await present(ref)) await forget(ref, pushed.id);

    await closeProxy();
    await expect(
      fetch(new URL('/v2/', proxy.url)),
      'origin is still reachable for the edge',
    ).rejects.toThrow();
    // Past the tag TTL: the edge would revalidate the tag, and cannot.
    await edge.advanceClock(TAG_TTL_SECONDS * 1000);

    const byDigest = `${edgeHost}/${REPOSITORY}@${pushed.digest}`;
    const digestPull = await docker.run(['pull', byDigest]);
    expect(digestPull.code, digestPull.stderr).toBe(0);
    images.add(byDigest);
    expect((await inspect(docker, byDigest)).Id).toBe(pushed.id);
    await forget(byDigest, pushed.id);

    const tagPull = await docker.run(['pull', ref]);
    expect(tagPull.code, tagPull.stderr).toBe(0);
    images.add(ref);
    expect(tagPull.stdout).toContain(`Digest: ${pushed.digest}`);
    const image = await inspect(docker, ref);
    expect(image.Id).toBe(pushed.id);
    expect(image.RootFS.Layers).toEqual(pushed.layers);
  }, 120_000);
});
