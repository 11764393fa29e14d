// Immutable tags: a tag matching its repository's rule, once pushed, never names another digest
// and is never deleted, nor is the manifest it names (or one its index lists); the same digest
// pushed again succeeds. Rules from the config file (read-only through the API) and from
// /admin/immutable-tags, the longest prefix winning; a rule set through the API applies to the
// next write. Runs on both engines: the rules are read, and tags claimed, inside the write's
// transaction, whose locking differs between PGlite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, errorCode, OCI_MANIFEST, type PushedImage, pushImage } from './harness/client.ts';
import { buildImage, buildIndex, pushImage as pushOciImage, putManifest } from './harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** May push and delete everywhere, but is no administrator. */
const DEV = basic('dev', 'dev-password');

const CONFIG_RULES = [
  { prefix: 'cfg/', tags: ['v*', 'release-?'] },
  // Longer, and empty: the tags of cfg/scratch/… are all mutable.
  { prefix: 'cfg/scratch/', tags: [] },
];

let registry: TestRegistry;

beforeAll(async () => {
  const [adminHash, devHash] = await Promise.all([hashPassword('secret'), hashPassword('dev-password')]);
  registry = await startTestRegistry({
    config: {
      immutable_tags: CONFIG_RULES,
      auth: {
        users: [
          { name: 'admin', password_hash: adminHash },
          { name: 'dev', password_hash: devHash },
        ],
        access: [{ prefix: '', users: ['admin', 'dev'], actions: ['pull', 'push', 'delete'] }],
      },
    },
  });
});

afterAll(async () => registry?.close());

function putTag(name: string, reference: string, manifest: string): Promise<Response> {
  return call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body: manifest,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
}

/** The digest the tag names now (null: none). */
async function tagged(name: string, tag: string): Promise<string | null> {
  const response = await call(registry, 'HEAD', `/v2/${name}/manifests/${tag}`, {
    headers: { Accept: OCI_MANIFEST },
  });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

interface ErrorEntry {
  code: string;
  message: string;
  detail?: Record<string, unknown>;
}

async function denial(response: Response): Promise<ErrorEntry> {
  expect(response.status).toBe(403);
  const body = (await response.json()) as { errors: ErrorEntry[] };
  expect(body.errors).toHaveLength(1);
  return body.errors[0] as ErrorEntry;
}

function admin(method: string, url: string, body?: unknown, auth?: string | null): Promise<Response> {
  return call(registry, method, url, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { 'Content-Type': 'application/json' },
    ...(auth === undefined ? {} : { auth }),
  });
}

interface ListedRule {
  prefix: string;
  tags: string[];
  source: string;
  read_only: boolean;
  in_effect: boolean;
}

async function listed(): Promise<ListedRule[]> {
  const response = await admin('GET', '/admin/immutable-tags');
  expect(response.status).toBe(200);
  return ((await response.json()) as { immutable_tags: ListedRule[] }).immutable_tags;
}

/** Pushes a first image under `tag`, and a second, different one under a mutable tag. */
async function twoImages(name: string, tag: string): Promise<[PushedImage, PushedImage]> {
  const first = await pushImage(registry, name, tag);
  const second = await pushImage(registry, name, 'candidate');
  expect(second.digest).not.toBe(first.digest);
  return [first, second];
}

describe('a tag matching a rule', () => {
  test('moving it to another digest is refused with DENIED "tag v1.2.0 is immutable"; it still names the first', async () => {
    const [first, second] = await twoImages('cfg/app', 'v1.2.0');
    const refused = await denial(await putTag('cfg/app', 'v1.2.0', second.manifest));
    expect(refused).toEqual({
      code: 'DENIED',
      message: 'tag v1.2.0 is immutable',
      detail: { name: 'cfg/app', tag: 'v1.2.0', digest: first.digest, rule: 'cfg/' },
    });
    expect(await tagged('cfg/app', 'v1.2.0')).toBe(first.digest);
  });

  test('pushing the digest it names again succeeds (a CI retry), as often as it comes', async () => {
    const [first] = await twoImages('cfg/retry', 'v2');
    for (let i = 0; i < 2; i += 1) {
      const again = await putTag('cfg/retry', 'v2', first.manifest);
      expect(again.status).toBe(201);
      expect(again.headers.get('docker-content-digest')).toBe(first.digest);
    }
    expect(await tagged('cfg/retry', 'v2')).toBe(first.digest);
  });

  test('every pattern of the rule counts, matching whole tags: release-? is immutable, release-10 and latest are not', async () => {
    const [first, second] = await twoImages('cfg/patterns', 'release-1');
    expect((await denial(await putTag('cfg/patterns', 'release-1', second.manifest))).message).toBe(
      'tag release-1 is immutable',
    );
    for (const tag of ['release-10', 'latest', 'xv1']) {
      expect((await putTag('cfg/patterns', tag, first.manifest)).status, tag).toBe(201);
      expect((await putTag('cfg/patterns', tag, second.manifest)).status, tag).toBe(201);
      expect(await tagged('cfg/patterns', tag)).toBe(second.digest);
    }
  });

  test('a push by digest is no tag move: the image behind an immutable tag can still be pushed by digest', async () => {
    const [, second] = await twoImages('cfg/by-digest', 'v1');
    expect((await putTag('cfg/by-digest', second.digest, second.manifest)).status).toBe(201);
  });

  test('deleting the tag is refused, and so is deleting the manifest it names by digest', async () => {
    const [first] = await twoImages('cfg/delete', 'v3');
    const byTag = await denial(await call(registry, 'DELETE', '/v2/cfg/delete/manifests/v3'));
    expect(byTag).toMatchObject({ code: 'DENIED', message: 'tag v3 is immutable' });
    const byDigest = await denial(await call(registry, 'DELETE', `/v2/cfg/delete/manifests/${first.digest}`));
    expect(byDigest).toMatchObject({
      code: 'DENIED',
      message: 'tag v3 is immutable',
      detail: { tag: 'v3', digest: first.digest },
    });
    expect(await tagged('cfg/delete', 'v3')).toBe(first.digest);
    const tags = (await (await call(registry, 'GET', '/v2/cfg/delete/tags/list')).json()) as {
      tags: string[];
    };
    expect(tags.tags).toEqual(['candidate', 'v3']);
  });

  test('an image an immutable tag names through its index cannot be deleted; one no such tag names can', async () => {
    const name = 'cfg/multi';
    const amd = buildImage({ layers: [{ 'a.txt': `amd64 ${Math.random()}` }] });
    const arm = buildImage({
      layers: [{ 'a.txt': `arm64 ${Math.random()}` }],
      platform: { os: 'linux', architecture: 'arm64' },
    });
    await pushOciImage(registry, name, amd);
    await pushOciImage(registry, name, arm);
    const index = buildIndex([amd, arm]);
    await putManifest(registry, name, 'v1', index);
    const refused = await denial(
      await call(registry, 'DELETE', `/v2/${name}/manifests/${arm.manifest.digest}`),
    );
    expect(refused).toMatchObject({
      code: 'DENIED',
      message: 'tag v1 is immutable',
      detail: { tag: 'v1', digest: index.digest, listed: arm.manifest.digest },
    });
    const child = await call(registry, 'HEAD', `/v2/${name}/manifests/${arm.manifest.digest}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(child.status).toBe(200);

    const loose = buildImage({ layers: [{ 'a.txt': `no tag ${Math.random()}` }] });
    await pushOciImage(registry, name, loose);
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/${loose.manifest.digest}`)).status).toBe(
      202,
    );
  });

  test('a blob an immutable tag reaches cannot be deleted (directly or through its index); others can', async () => {
    // Found by an outside review: a blob DELETE left the image behind an immutable tag unpullable.
    const name = 'cfg/blobs';
    const image = buildImage({ layers: [{ 'a.txt': `plain ${Math.random()}` }] });
    const listed = buildImage({ layers: [{ 'a.txt': `listed ${Math.random()}` }] });
    const loose = buildImage({ layers: [{ 'a.txt': `loose ${Math.random()}` }] });
    for (const built of [image, listed, loose]) await pushOciImage(registry, name, built);
    await putManifest(registry, name, 'v1', image.manifest);
    const index = buildIndex([listed]);
    await putManifest(registry, name, 'v2', index);
    const layer = image.layers[0]?.digest as string;
    const direct = await denial(await call(registry, 'DELETE', `/v2/${name}/blobs/${layer}`, { auth: DEV }));
    expect(direct).toMatchObject({ code: 'DENIED', message: 'tag v1 is immutable' });
    const config = await denial(await call(registry, 'DELETE', `/v2/${name}/blobs/${listed.config.digest}`));
    expect(config).toMatchObject({ code: 'DENIED', message: 'tag v2 is immutable' });
    expect((await call(registry, 'HEAD', `/v2/${name}/blobs/${layer}`)).status).toBe(200);
    const free = loose.layers[0]?.digest as string;
    expect((await call(registry, 'DELETE', `/v2/${name}/blobs/${free}`)).status).toBe(202);
  });

  test('concurrent first pushes of one immutable tag: exactly one wins, the others are refused', async () => {
    const name = 'cfg/race';
    const images = await Promise.all(
      Array.from({ length: 4 }, (_, i) => pushImage(registry, name, `candidate-${i}`)),
    );
    const answers = await Promise.all(images.map((image) => putTag(name, 'v9', image.manifest)));
    const won = answers.flatMap((a, i) => (a.status === 201 ? [images[i] as PushedImage] : []));
    expect(won).toHaveLength(1);
    for (const answer of answers.filter((a) => a.status !== 201))
      expect((await denial(answer)).message).toBe('tag v9 is immutable');
    expect(await tagged(name, 'v9')).toBe(won[0]?.digest);
  });
});

describe('which rule applies', () => {
  test('the longest prefix wins: cfg/scratch/ (no patterns) makes v1 mutable under cfg/', async () => {
    const [, second] = await twoImages('cfg/scratch/app', 'v1');
    expect((await putTag('cfg/scratch/app', 'v1', second.manifest)).status).toBe(201);
    expect(await tagged('cfg/scratch/app', 'v1')).toBe(second.digest);
    expect((await call(registry, 'DELETE', '/v2/cfg/scratch/app/manifests/v1')).status).toBe(202);
  });

  test('a longer prefix set through the API wins over a config rule, and stops winning once removed', async () => {
    const set = await admin('PUT', '/admin/immutable-tags', { prefix: 'cfg/strict/', tags: ['*'] });
    expect(set.status).toBe(200);
    try {
      const [first, second] = await twoImages('cfg/strict/app', 'latest');
      // `candidate` was created under the rule: it is immutable too.
      expect((await denial(await putTag('cfg/strict/app', 'candidate', first.manifest))).message).toBe(
        'tag candidate is immutable',
      );
      expect((await denial(await putTag('cfg/strict/app', 'latest', second.manifest))).message).toBe(
        'tag latest is immutable',
      );
    } finally {
      expect((await admin('DELETE', '/admin/immutable-tags?prefix=cfg/strict/')).status).toBe(204);
    }
    // Back under cfg/: latest is mutable, v-tags are not.
    const moved = await pushImage(registry, 'cfg/strict/app', 'latest');
    expect(await tagged('cfg/strict/app', 'latest')).toBe(moved.digest);
  });

  test('a prefix is a prefix of the name, as for pull policies: cfg/ does not cover cfgx/ nor other/cfg/', async () => {
    for (const name of ['cfgx/app', 'other/cfg/app']) {
      const [, second] = await twoImages(name, 'v1');
      expect((await putTag(name, 'v1', second.manifest)).status, name).toBe(201);
    }
  });
});

describe('rules through /admin/immutable-tags', () => {
  test('the config file rules are listed read-only; PUT and DELETE of their prefix are refused', async () => {
    const rules = await listed();
    expect(rules.filter((r) => r.source === 'config')).toEqual([
      { prefix: 'cfg/', tags: ['v*', 'release-?'], source: 'config', read_only: true, in_effect: true },
      { prefix: 'cfg/scratch/', tags: [], source: 'config', read_only: true, in_effect: true },
    ]);
    const put = await denial(await admin('PUT', '/admin/immutable-tags', { prefix: 'cfg/', tags: [] }));
    expect(put.message).toMatch(/config file/);
    const removed = await denial(await admin('DELETE', '/admin/immutable-tags?prefix=cfg/'));
    expect(removed.message).toMatch(/config file/);
    expect((await listed()).filter((r) => r.source === 'config')).toHaveLength(2);
  });

  test('PUT sets a rule, PUT again replaces its patterns, DELETE removes it; the list says each', async () => {
    const first = await admin('PUT', '/admin/immutable-tags', { prefix: 'crud/', tags: ['v*'] });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      prefix: 'crud/',
      tags: ['v*'],
      source: 'api',
      read_only: false,
      in_effect: true,
    });
    expect(
      (await admin('PUT', '/admin/immutable-tags', { prefix: 'crud/', tags: ['1.*', 'stable'] })).status,
    ).toBe(200);
    expect((await listed()).filter((r) => r.prefix === 'crud/')).toEqual([
      { prefix: 'crud/', tags: ['1.*', 'stable'], source: 'api', read_only: false, in_effect: true },
    ]);
    expect((await admin('DELETE', '/admin/immutable-tags?prefix=crud/')).status).toBe(204);
    expect((await listed()).some((r) => r.prefix === 'crud/')).toBe(false);
    const again = await admin('DELETE', '/admin/immutable-tags?prefix=crud/');
    expect(again.status).toBe(404);
    expect(await errorCode(again)).toBe('NAME_UNKNOWN');
    // Found by the HTTP fuzz: a prefix PostgreSQL cannot hold failed the query (500).
    const unstorable = await admin('DELETE', '/admin/immutable-tags?prefix=%00');
    expect(unstorable.status).toBe(404);
    expect(await errorCode(unstorable)).toBe('NAME_UNKNOWN');
  });

  test('a pattern that is not a glob of tag characters, or an unknown field, is refused with 400', async () => {
    for (const body of [
      { prefix: 'bad/', tags: ['v/1'] },
      { prefix: 'bad/', tags: [''] },
      { prefix: 'bad/', tags: ['x'.repeat(129)] },
      { prefix: 'bad/' },
      { prefix: 'bad/', tags: ['v*'], mutable: true },
    ]) {
      const response = await admin('PUT', '/admin/immutable-tags', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
    expect((await listed()).some((r) => r.prefix === 'bad/')).toBe(false);
  });

  test('a user who is no administrator is refused (403 DENIED), and anonymous callers (401)', async () => {
    await admin('PUT', '/admin/immutable-tags', { prefix: 'kept/', tags: ['v*'] });
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { prefix: 'dev/', tags: [] }],
      ['DELETE', undefined],
    ] as const) {
      const url = method === 'DELETE' ? '/admin/immutable-tags?prefix=kept/' : '/admin/immutable-tags';
      const byDev = await admin(method, url, body, DEV);
      expect(byDev.status, method).toBe(403);
      expect(await errorCode(byDev)).toBe('DENIED');
      expect((await admin(method, url, body, null)).status, method).toBe(401);
    }
    const rules = await listed();
    expect(rules.some((r) => r.prefix === 'kept/')).toBe(true);
    expect(rules.some((r) => r.prefix === 'dev/')).toBe(false);
  });

  test('a rule set later applies to the next write at once, to tags pushed before it too; removed, it stops', async () => {
    const name = 'later/app';
    const [first, second] = await twoImages(name, 'v1');
    expect((await putTag(name, 'v1', second.manifest)).status).toBe(201);

    expect((await admin('PUT', '/admin/immutable-tags', { prefix: 'later/', tags: ['v?'] })).status).toBe(
      200,
    );
    expect((await denial(await putTag(name, 'v1', first.manifest))).message).toBe('tag v1 is immutable');
    expect(
      (await denial(await call(registry, 'DELETE', `/v2/${name}/manifests/v1`, { auth: DEV }))).code,
    ).toBe('DENIED');
    expect(await tagged(name, 'v1')).toBe(second.digest);

    expect((await admin('DELETE', '/admin/immutable-tags?prefix=later/')).status).toBe(204);
    expect((await putTag(name, 'v1', first.manifest)).status).toBe(201);
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/v1`)).status).toBe(202);
  });
});

describe('a config rule over a stored rule of the same prefix', () => {
  test('the stored one is listed out of effect, can be deleted, and then the prefix is read-only', async () => {
    const first = await startTestRegistry();
    try {
      const stored = await call(first, 'PUT', '/admin/immutable-tags', {
        body: JSON.stringify({ prefix: 'shadow/', tags: ['*'] }),
      });
      expect(stored.status).toBe(200);
      await first.running.close();
      // Restarted over the same database with a config rule of that prefix.
      const second = await startTestRegistry({
        dataDir: first.dataDir,
        databaseUrl: first.databaseUrl,
        config: { immutable_tags: [{ prefix: 'shadow/', tags: ['v*'] }] },
      });
      try {
        const list = async () =>
          (
            (await (await call(second, 'GET', '/admin/immutable-tags')).json()) as {
              immutable_tags: ListedRule[];
            }
          ).immutable_tags;
        expect(await list()).toEqual([
          { prefix: 'shadow/', tags: ['v*'], source: 'config', read_only: true, in_effect: true },
          { prefix: 'shadow/', tags: ['*'], source: 'api', read_only: false, in_effect: false },
        ]);
        // The config's patterns apply: latest moves, v1 does not.
        const image = await pushImage(second, 'shadow/app', 'latest');
        await pushImage(second, 'shadow/app', 'v1');
        expect(
          (
            await call(second, 'PUT', '/v2/shadow/app/manifests/latest', {
              body: (await pushImage(second, 'shadow/app', 'other')).manifest,
              headers: { 'Content-Type': OCI_MANIFEST },
            })
          ).status,
        ).toBe(201);
        const moved = await call(second, 'PUT', '/v2/shadow/app/manifests/v1', {
          body: image.manifest,
          headers: { 'Content-Type': OCI_MANIFEST },
        });
        expect((await denial(moved)).message).toBe('tag v1 is immutable');

        expect((await call(second, 'DELETE', '/admin/immutable-tags?prefix=shadow/')).status).toBe(204);
        expect((await list()).map((r) => r.source)).toEqual(['config']);
        const again = await call(second, 'DELETE', '/admin/immutable-tags?prefix=shadow/');
        expect((await denial(again)).message).toMatch(/config file/);
      } finally {
        await second.running.close();
      }
    } finally {
      await first.close();
    }
  });
});
