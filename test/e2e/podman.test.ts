// podman (as root, vfs storage in a temporary root, nothing run) against the registry: pull with
// credentials gets the pushed image, a multi-arch index resolves per platform, push works, and
// pulls without credentials or logins with a wrong password are refused.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, sha256 } from '../harness/client.ts';
import {
  ACCEPT_ALL_MANIFESTS,
  buildImage,
  buildIndex,
  type Descriptor,
  pushImage,
  putManifest,
} from '../harness/oci-image.ts';
import { startTestRegistry } from '../harness/registry.ts';
import { fileSetup, type RunResult, requireTool, run } from '../harness/tools.ts';

const CREDS = ['--tls-verify=false', '--creds', 'admin:secret'];

interface PodmanImage {
  Id: string;
  Digest: string;
  RepoDigests: string[];
  Architecture: string;
  Os: string;
}

const env = fileSetup(async (defer) => {
  await requireTool('podman');
  const registry = await startTestRegistry();
  defer(() => registry.close());
  const workDir = await mkdtemp(path.join(tmpdir(), 'podman-e2e-'));
  defer(() => rm(workDir, { recursive: true, force: true }));
  const dirs = Object.fromEntries(
    ['root', 'runroot', 'tmp', 'networks'].map((name) => [name, path.join(workDir, name)]),
  ) as Record<'root' | 'runroot' | 'tmp' | 'networks', string>;
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  const policy = path.join(workDir, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const authFile = path.join(workDir, 'auth.json');
  await writeFile(authFile, '{}');
  // Everything podman keeps lives under workDir: storage, run state, temporary files, logins.
  const global = [
    '--root',
    dirs.root,
    '--runroot',
    dirs.runroot,
    '--storage-driver',
    'vfs',
    '--tmpdir',
    dirs.tmp,
    '--network-config-dir',
    dirs.networks,
    '--events-backend',
    'none',
    '--cgroup-manager',
    'cgroupfs',
  ];
  const podmanEnv = { ...process.env, TMPDIR: dirs.tmp, REGISTRY_AUTH_FILE: authFile };
  defer(() => run('podman', [...global, 'rmi', '--all', '--force'], { env: podmanEnv }));

  const image = buildImage({
    layers: [
      { 'hello.txt': `hello from podman ${randomBytes(8).toString('hex')}\n` },
      { 'data/random.bin': randomBytes(64 * 1024) },
    ],
  });
  await pushImage(registry, 'e2e/podman', image, 'v1');
  return { registry, workDir, global, podmanEnv, policy, authFile, image };
});

beforeAll(() => env.settle()); // a failed setup fails each test, with its message
afterAll(() => env.teardown());

async function podman(args: readonly string[], input?: string): Promise<RunResult> {
  const { global, podmanEnv } = await env.get();
  return run('podman', [...global, ...args], { env: podmanEnv, input });
}

async function login(host: string, password: string): Promise<RunResult> {
  return podman(
    ['login', '--tls-verify=false', '--username', 'admin', '--password-stdin', host],
    `${password}\n`,
  );
}

async function podmanOk(args: readonly string[]): Promise<string> {
  const result = await podman(args);
  if (result.code !== 0) {
    throw new Error(
      `${result.commandLine} failed (exit code ${result.code})\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** podman pull/push with the test's trust policy (so /etc/containers/policy.json is not needed). */
async function transfer(verb: 'pull' | 'push', args: readonly string[]): Promise<RunResult> {
  const { policy } = await env.get();
  return podman([verb, '--signature-policy', policy, ...args]);
}

async function transferOk(verb: 'pull' | 'push', args: readonly string[]): Promise<string> {
  const result = await transfer(verb, args);
  if (result.code !== 0)
    throw new Error(`${result.commandLine} failed (exit code ${result.code})\n${result.stderr}`);
  return result.stdout;
}

async function inspect(ref: string): Promise<PodmanImage> {
  const [image] = JSON.parse(await podmanOk(['image', 'inspect', ref])) as PodmanImage[];
  if (!image) throw new Error(`podman image inspect ${ref}: no image`);
  return image;
}

/** A file of a pulled image, read from its mounted root filesystem. */
async function readFromImage(ref: string, file: string): Promise<Buffer> {
  const mountpoint = (await podmanOk(['image', 'mount', ref])).trim();
  try {
    return await readFile(path.join(mountpoint, file));
  } finally {
    await podman(['image', 'unmount', ref]);
  }
}

describe('podman pull', () => {
  test('podman pull with credentials gets the pushed image: same id, digest, platform and files', async () => {
    const { registry, image } = await env.get();
    const ref = `${registry.host}/e2e/podman:v1`;
    await transferOk('pull', [...CREDS, ref]);
    const pulled = await inspect(ref);
    expect(`sha256:${pulled.Id}`).toBe(image.config.digest);
    expect(pulled.Digest).toBe(image.manifest.digest);
    expect(pulled.RepoDigests).toContain(`${registry.host}/e2e/podman@${image.manifest.digest}`);
    expect(pulled.Architecture).toBe('amd64');
    expect(pulled.Os).toBe('linux');
    expect((await readFromImage(ref, 'hello.txt')).toString()).toMatch(/^hello from podman /);
  });

  test('podman pull of a multi-arch index resolves the platform asked for', async () => {
    const { registry } = await env.get();
    const [arm64, amd64] = ['arm64', 'amd64'].map((architecture) =>
      buildImage({
        platform: { os: 'linux', architecture },
        layers: [{ 'platform.txt': `${architecture}\n` }],
      }),
    );
    if (!arm64 || !amd64) throw new Error('unreachable');
    await pushImage(registry, 'e2e/podman-multi', arm64);
    await pushImage(registry, 'e2e/podman-multi', amd64);
    const index = buildIndex([arm64, amd64]);
    await putManifest(registry, 'e2e/podman-multi', 'multi', index);
    const ref = `${registry.host}/e2e/podman-multi:multi`;

    await transferOk('pull', [...CREDS, '--platform', 'linux/amd64', ref]);
    const pulledAmd64 = await inspect(ref);
    expect(pulledAmd64.Architecture).toBe('amd64');
    expect(`sha256:${pulledAmd64.Id}`).toBe(amd64.config.digest);
    expect((await readFromImage(ref, 'platform.txt')).toString()).toBe('amd64\n');

    await transferOk('pull', [...CREDS, '--platform', 'linux/arm64', ref]);
    const pulledArm64 = await inspect(ref);
    expect(pulledArm64.Architecture).toBe('arm64');
    expect(`sha256:${pulledArm64.Id}`).toBe(arm64.config.digest);
  });

  test('podman pull without credentials is refused', async () => {
    const { registry } = await env.get();
    const result = await transfer('pull', ['--tls-verify=false', `${registry.host}/e2e/podman:v1`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unauthorized|denied|authentication required/i);
  });
});

describe('podman push and login', () => {
  test('podman push of the pulled image to another repository is served with the same config', async () => {
    const { registry, image } = await env.get();
    const ref = `${registry.host}/e2e/podman:v1`;
    await transferOk('pull', [...CREDS, ref]);
    await transferOk('push', [...CREDS, ref, `${registry.host}/e2e/podman-pushed:copy`]);

    const response = await call(registry, 'GET', '/v2/e2e/podman-pushed/manifests/copy', {
      headers: { Accept: ACCEPT_ALL_MANIFESTS },
    });
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(response.headers.get('docker-content-digest')).toBe(sha256(bytes));
    const manifest = JSON.parse(new TextDecoder().decode(bytes)) as {
      config: Descriptor;
      layers: Descriptor[];
    };
    expect(manifest.config.digest).toBe(image.config.digest);
    expect(manifest.layers).toHaveLength(image.layers.length);
    for (const layer of manifest.layers) {
      const blob = await call(registry, 'GET', `/v2/e2e/podman-pushed/blobs/${layer.digest}`);
      expect(blob.status).toBe(200);
      expect(sha256(new Uint8Array(await blob.arrayBuffer()))).toBe(layer.digest);
    }
  });

  test('podman login with admin/secret is accepted, and a pull then needs no --creds', async () => {
    const { registry, authFile, image } = await env.get();
    const ok = await login(registry.host, 'secret');
    expect(ok.code, ok.stderr).toBe(0);
    const auths = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(auths.auths[registry.host]?.auth).toBe(Buffer.from('admin:secret').toString('base64'));

    try {
      // Not in local storage, so the pull must fetch it, with the stored login.
      await podman(['rmi', '--force', image.config.digest.slice('sha256:'.length)]);
      const ref = `${registry.host}/e2e/podman@${image.manifest.digest}`;
      await transferOk('pull', ['--tls-verify=false', ref]);
      expect(`sha256:${(await inspect(ref)).Id}`).toBe(image.config.digest);
    } finally {
      await podmanOk(['logout', registry.host]);
    }
  });

  test('podman login with a wrong password is refused', async () => {
    const { registry, authFile } = await env.get();
    const refused = await login(registry.host, 'not-the-password');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/invalid username\/password|unauthorized/i);
    const auths = JSON.parse(await readFile(authFile, 'utf8')) as { auths?: Record<string, unknown> };
    expect(auths.auths?.[registry.host]).toBeUndefined();
  });
});
