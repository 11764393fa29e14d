// GET /admin/repositories/{name}/tags: each tag with its digest, media type, platforms, size,
// push time and pusher, last pull, immutability and scan summary with the pull policy's verdict;
// paged through the Link header, by push time (newest first, ties by name) or by name. And GET
// /admin/repositories. Runs on both engines: the order, the ties and the cursor are SQL's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, errorCode, sha256 } from './harness/client.ts';
import { ManualClock } from './harness/clock.ts';
import { type Blob, buildImage, buildIndex, type Image } from './harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';
import { FIXTURES as OSV, zipDirectory } from './vulndb/db.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** May push everywhere, but is no administrator. */
const DEV = basic('dev', 'dev-password');
const ADMIN = basic('admin', 'secret');

const START = Date.parse('2026-03-01T12:00:00.000Z');
const clock = new ManualClock(START);
let registry: TestRegistry;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'tag-details-'));
  const [adminHash, devHash] = await Promise.all([hashPassword('secret'), hashPassword('dev-password')]);
  registry = await startTestRegistry({
    clock,
    config: {
      immutable_tags: [{ prefix: 'td/', tags: ['v*'] }],
      // Scans only when asked: a test says when an image is scanned.
      scan: { on_push: false, poll_interval: '100ms' },
      policy: { refresh_interval: '200ms' },
      auth: {
        users: [
          { name: 'admin', password_hash: adminHash },
          { name: 'dev', password_hash: devHash },
        ],
        access: [
          { prefix: '', users: ['*'], actions: ['pull', 'push', 'delete'] },
          { prefix: 'td/anon/', anonymous: true, actions: ['pull', 'push'] },
        ],
      },
    },
  });
});

afterAll(async () => {
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
});

const sql = (text: string, params: unknown[] = []) => registry.running.services.db.query(text, params);

async function pushBlob(name: string, blob: Blob, auth: string | null): Promise<void> {
  const response = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${blob.digest}`, {
    body: blob.bytes,
    headers: { 'Content-Type': 'application/octet-stream' },
    auth,
  });
  expect(response.status).toBe(201);
}

async function putManifest(name: string, reference: string, manifest: Blob, auth: string | null) {
  const response = await call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body: manifest.bytes,
    headers: { 'Content-Type': manifest.mediaType },
    auth,
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

/** Pushes the image's blobs and its manifest under `reference`, as `auth` (null: anonymously). */
async function push(name: string, image: Image, reference: string, auth: string | null = ADMIN) {
  for (const b of image.blobs) await pushBlob(name, b, auth);
  await putManifest(name, reference, image.manifest, auth);
}

const image = (seed: string, platform?: Image['platform']) =>
  buildImage({
    layers: [{ 'seed.txt': seed }, { 'more.txt': `${seed} more` }],
    ...(platform ? { platform } : {}),
  });

const blob = (mediaType: string, text: string): Blob => {
  const bytes = new TextEncoder().encode(text);
  return { mediaType, digest: sha256(bytes), bytes };
};

const bytesOf = (blobs: readonly Blob[]) =>
  [...new Map(blobs.map((b) => [b.digest, b.bytes.byteLength])).values()].reduce((a, b) => a + b, 0);

interface Scan {
  status: string;
  scanned_at: string | null;
  vulnerabilities: Record<string, number>;
  total: number;
  blocked: boolean;
  reason: string;
}

interface Tag {
  tag: string;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  platforms: { os?: string; architecture?: string; variant?: string }[] | null;
  size: number;
  pushed_at: string;
  pushed_by: string | null;
  last_pulled_at: string | null;
  immutable: boolean;
  scan: Scan | null;
}

async function listing(name: string, query = '', auth: string | null = ADMIN) {
  const response = await call(registry, 'GET', `/admin/repositories/${name}/tags${query}`, { auth });
  expect(response.status, await response.clone().text()).toBe(200);
  const body = (await response.json()) as { name: string; tags: Tag[] };
  expect(body.name).toBe(name);
  return { tags: body.tags, link: response.headers.get('link') };
}

async function tagOf(name: string, tag: string): Promise<Tag> {
  const found = (await listing(name, '?limit=1000')).tags.find((t) => t.tag === tag);
  expect(found, `${name}:${tag} listed`).toBeDefined();
  return found as Tag;
}

/** Every page from `query` on, following the Link header: the tags in the order served. */
async function allPages(name: string, query: string): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let pages = 0;
  let next: string | null = `/admin/repositories/${name}/tags${query}`;
  while (next) {
    const response = await call(registry, 'GET', next);
    expect(response.status).toBe(200);
    names.push(...((await response.json()) as { tags: Tag[] }).tags.map((t) => t.tag));
    pages += 1;
    next = response.headers.get('link')?.match(/^<([^>]+)>; rel="next"$/)?.[1] ?? null;
    expect(pages).toBeLessThan(50);
  }
  return { names, pages };
}

describe('what a tag lists', () => {
  test('an image: its digest and media type, config + layers as its size, pushed by and at, no platforms', async () => {
    const app = image('app');
    await push('td/app', app, 'v1.0');
    const tag = await tagOf('td/app', 'v1.0');
    expect(tag).toEqual({
      tag: 'v1.0',
      digest: app.manifest.digest,
      media_type: 'application/vnd.oci.image.manifest.v1+json',
      artifact_type: 'application/vnd.oci.image.config.v1+json',
      platforms: null,
      size: bytesOf(app.blobs),
      pushed_at: new Date(START).toISOString(),
      pushed_by: 'admin',
      last_pulled_at: null,
      immutable: true,
      scan: expect.objectContaining({ status: 'none' }),
    });
    expect(tag.size).toBe(
      app.config.bytes.byteLength + app.layers.reduce((n, l) => n + l.bytes.byteLength, 0),
    );
  });

  test('a multi-arch index: its images’ platforms (not its attestations), the distinct blobs of its children as its size', async () => {
    const shared = { 'shared.txt': 'in every image' };
    const amd = buildImage({ layers: [shared, { 'a.txt': 'amd64' }] });
    const arm = buildImage({
      layers: [shared, { 'a.txt': 'arm64' }],
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    const attestation = buildImage({
      layers: [{ 'provenance.json': '{}' }],
      platform: { os: 'unknown', architecture: 'unknown' },
    });
    expect(arm.layers[0]?.digest).toBe(amd.layers[0]?.digest);
    for (const i of [amd, arm, attestation]) await push('td/multi/arch', i, i.manifest.digest);
    const index = buildIndex([amd, arm, attestation]);
    await putManifest('td/multi/arch', 'latest', index, DEV);

    const tag = await tagOf('td/multi/arch', 'latest');
    expect(tag).toMatchObject({
      digest: index.digest,
      media_type: 'application/vnd.oci.image.index.v1+json',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
      size: bytesOf([...amd.blobs, ...arm.blobs, ...attestation.blobs]),
      pushed_by: 'dev',
      immutable: false,
      scan: { status: 'none', blocked: false, reason: 'no policy applies' },
    });
    // The shared layer counts once.
    expect(tag.size).toBeLessThan(bytesOf(amd.blobs) + bytesOf(arm.blobs) + bytesOf(attestation.blobs));
  });

  test('pushed_by: the user who pushed the tag last, null for an anonymous push', async () => {
    const first = image('anon-1');
    await push('td/anon/app', first, 'build', null);
    expect((await tagOf('td/anon/app', 'build')).pushed_by).toBeNull();
    clock.advance(1000);
    await push('td/anon/app', image('anon-2'), 'build', DEV);
    const moved = await tagOf('td/anon/app', 'build');
    expect(moved.pushed_by).toBe('dev');
    expect(moved.pushed_at).toBe(new Date(clock.now()).toISOString());
  });

  test('immutable: by the rule of the longest prefix, config or stored', async () => {
    const app = image('immutable');
    await push('td/rules/app', app, 'v2');
    await putManifest('td/rules/app', 'latest', app.manifest, ADMIN);
    await putManifest('td/rules/app', 'keep-1', app.manifest, ADMIN);
    const immutable = async () =>
      Object.fromEntries((await listing('td/rules/app', '?sort=name')).tags.map((t) => [t.tag, t.immutable]));
    expect(await immutable()).toEqual({ 'keep-1': false, latest: false, v2: true });
    const rule = await call(registry, 'PUT', '/admin/immutable-tags', {
      body: JSON.stringify({ prefix: 'td/rules/', tags: ['keep-*'] }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(rule.status).toBe(200);
    expect(await immutable()).toEqual({ 'keep-1': true, latest: false, v2: false });
  });

  test('last_pulled_at: the later of the tag’s and its manifest’s last pull', async () => {
    const app = image('pulled');
    await push('td/pulled', app, 'a');
    await putManifest('td/pulled', 'b', app.manifest, ADMIN);
    const other = image('other');
    await push('td/pulled', other, 'c');
    const repo = "(SELECT id FROM repositories WHERE name = 'td/pulled')";
    await sql(`UPDATE manifests SET last_pulled_at = $1 WHERE repository_id = ${repo} AND digest = $2`, [
      new Date('2026-02-01T00:00:00Z'),
      app.manifest.digest,
    ]);
    await sql(`UPDATE tags SET last_pulled_at = $1 WHERE repository_id = ${repo} AND name = 'a'`, [
      new Date('2026-02-03T00:00:00Z'),
    ]);
    await sql(`UPDATE tags SET last_pulled_at = $1 WHERE repository_id = ${repo} AND name = 'b'`, [
      new Date('2026-01-01T00:00:00Z'),
    ]);
    const pulled = Object.fromEntries(
      (await listing('td/pulled', '?sort=name')).tags.map((t) => [t.tag, t.last_pulled_at]),
    );
    expect(pulled).toEqual({
      a: '2026-02-03T00:00:00.000Z',
      b: '2026-02-01T00:00:00.000Z',
      c: null,
    });
  });
});

describe('the scan summary', () => {
  test('the scan’s status and counts by severity as its report says, and whether the pull policy would block', async () => {
    const policy = await call(registry, 'PUT', '/admin/policies', {
      body: JSON.stringify({ prefix: 'td/scan/', threshold: 'critical', unscanned: 'block' }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(policy.status).toBe(200);
    const alpine = path.resolve('test/fixtures/images/alpine-3.14');
    const app = buildImage({
      layers: [
        {
          'etc/os-release': readFileSync(path.join(alpine, 'os-release'), 'utf8'),
          'lib/apk/db/installed': readFileSync(path.join(alpine, 'installed'), 'utf8'),
        },
      ],
    });
    await push('td/scan/alpine', app, 'v1');
    await expect
      .poll(async () => (await tagOf('td/scan/alpine', 'v1')).scan)
      .toEqual({
        status: 'none',
        scanned_at: null,
        vulnerabilities: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
        total: 0,
        blocked: true,
        reason: 'not scanned yet; policy "td/scan/" blocks unscanned images',
      });

    const zip = path.join(work, 'all.zip');
    zipDirectory(OSV, zip);
    const imported = await call(registry, 'POST', '/admin/vulndb/import', {
      headers: { 'Content-Type': 'application/zip' },
      body: readFileSync(zip),
    });
    expect(imported.status).toBe(200);
    expect((await call(registry, 'POST', '/v2/td/scan/alpine/manifests/v1/scan')).status).toBe(202);
    await expect
      .poll(async () => (await tagOf('td/scan/alpine', 'v1')).scan?.reason, {
        timeout: 30_000,
        interval: 100,
      })
      .toMatch(/vulnerabilities at or above critical/);
    const { scan } = await tagOf('td/scan/alpine', 'v1');
    const report = (await (await call(registry, 'GET', '/v2/td/scan/alpine/manifests/v1/scan')).json()) as {
      status: string;
      scanned_at: string;
      vulnerabilities: Record<string, number>;
      details: unknown[];
    };
    expect(report.vulnerabilities.critical).toBeGreaterThan(0);
    expect(scan).toEqual({
      status: 'completed',
      scanned_at: report.scanned_at,
      vulnerabilities: report.vulnerabilities,
      total: report.details.length,
      blocked: true,
      reason: expect.stringMatching(/^\d+ vulnerabilities at or above critical \(policy "td\/scan\/"\)$/),
    });
    // What a pull meets.
    expect((await call(registry, 'GET', '/v2/td/scan/alpine/manifests/v1')).status).toBe(403);
  });

  test('an artifact has no scan summary; its size is its blobs', async () => {
    const empty = blob('application/vnd.oci.empty.v1+json', '{}');
    const manifest = blob(
      'application/vnd.oci.image.manifest.v1+json',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.example.thing',
        config: { mediaType: empty.mediaType, digest: empty.digest, size: 2 },
        layers: [{ mediaType: empty.mediaType, digest: empty.digest, size: 2 }],
      }),
    );
    await pushBlob('td/artifact', empty, ADMIN);
    await putManifest('td/artifact', 'thing', manifest, ADMIN);
    expect(await tagOf('td/artifact', 'thing')).toMatchObject({
      artifact_type: 'application/vnd.example.thing',
      platforms: null,
      size: 2,
      scan: null,
    });
  });
});

describe('pages and orders', () => {
  const NAME = 'td/paging/app';

  beforeAll(async () => {
    const app = image('paging');
    await push(NAME, app, 'e');
    // Five more at the same instant: ties, ordered by name.
    for (const tag of ['b', 'd', 'a', 'c']) await putManifest(NAME, tag, app.manifest, ADMIN);
    clock.advance(60_000);
    for (const tag of ['z', 'y']) await putManifest(NAME, tag, app.manifest, ADMIN);
    clock.advance(60_000);
    await putManifest(NAME, 'm', app.manifest, ADMIN);
  });

  test('by push time, newest first, ties by name: the default', async () => {
    expect((await listing(NAME)).tags.map((t) => t.tag)).toEqual(['m', 'y', 'z', 'a', 'b', 'c', 'd', 'e']);
    expect((await listing(NAME, '?sort=pushed_at')).tags.map((t) => t.tag)).toEqual([
      'm',
      'y',
      'z',
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
  });

  test('by name', async () => {
    expect((await listing(NAME, '?sort=name')).tags.map((t) => t.tag)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
      'm',
      'y',
      'z',
    ]);
  });

  test('pages of any size follow the Link header through the ties, each tag once, in order', async () => {
    for (const sort of ['pushed_at', 'name']) {
      const whole = (await listing(NAME, `?sort=${sort}`)).tags.map((t) => t.tag);
      for (const limit of [1, 2, 3, 7]) {
        const { names, pages } = await allPages(NAME, `?sort=${sort}&limit=${limit}`);
        expect(names, `${sort} by ${limit}`).toEqual(whole);
        expect(pages).toBe(Math.ceil(whole.length / limit));
      }
    }
    const first = await listing(NAME, '?limit=3');
    expect(first.tags.map((t) => t.tag)).toEqual(['m', 'y', 'z']);
    expect(first.link).toMatch(
      /^<\/admin\/repositories\/td\/paging\/app\/tags\?sort=pushed_at&limit=3&last=[\w-]+>; rel="next"$/,
    );
    expect((await listing(NAME, '?limit=8')).link).toBeNull();
  });

  test('push times a microsecond apart are told apart, and their ties kept, across pages', async () => {
    const app = image('micro');
    await push('td/micro', app, 'p');
    for (const tag of ['q', 'r', 's']) await putManifest('td/micro', tag, app.manifest, ADMIN);
    const at = (tag: string, time: string) =>
      sql(
        "UPDATE tags SET updated_at = $2::timestamptz WHERE repository_id = (SELECT id FROM repositories WHERE name = 'td/micro') AND name = $1",
        [tag, time],
      );
    await at('p', '2026-01-01 00:00:00.000001+00');
    await at('q', '2026-01-01 00:00:00.000002+00');
    await at('r', '2026-01-01 00:00:00.000001+00');
    await at('s', '2026-01-01 00:00:00.000003+00');
    const { names } = await allPages('td/micro', '?limit=1');
    expect(names).toEqual(['s', 'q', 'p', 'r']);
  });
});

describe('cost', () => {
  test('a page costs the same queries whatever its length, and one read of each index on it at most', async () => {
    const name = 'td/cost/app';
    for (let i = 0; i < 6; i += 1) await push(name, image(`cost ${i}`), `image-${i}`);
    for (let i = 0; i < 2; i += 1) {
      const images = [image(`cost amd ${i}`), image(`cost arm ${i}`, { os: 'linux', architecture: 'arm64' })];
      for (const each of images) await push(name, each, each.manifest.digest);
      await putManifest(name, `index-${i}`, buildIndex(images), ADMIN);
    }
    // Counted where the listing's reads go: the database's statements that read tags, references,
    // rules and scan results (nothing in the background reads those), and the store's manifest reads.
    const { db, store } = registry.running.services;
    const counted = /FROM tags t|manifest_references|immutable_tag_rules|scan_results|vuln_ecosystems/;
    const query = db.query.bind(db);
    const getManifest = store.getManifest.bind(store);
    let queries = 0;
    let reads = 0;
    db.query = (text, params) => {
      if (counted.test(text)) queries += 1;
      return query(text, params);
    };
    store.getManifest = (repository, digest) => {
      reads += 1;
      return getManifest(repository, digest);
    };
    const cost = async (query: string) => {
      [queries, reads] = [0, 0];
      const { tags } = await listing(name, query);
      return { tags: tags.length, queries, reads };
    };
    try {
      const one = await cost('?sort=name&limit=1');
      const all = await cost('?sort=name');
      expect(one.tags).toBe(1);
      expect(all.tags).toBe(8);
      expect(one.queries).toBeGreaterThan(0);
      expect(all.queries).toBe(one.queries);
      expect(all.reads).toBeLessThanOrEqual(2);
    } finally {
      db.query = query;
      store.getManifest = getManifest;
    }
  });
});

describe('refused', () => {
  test('bad parameters: 400 with what is wrong', async () => {
    for (const [query, message] of [
      ['?sort=size', 'sort must be pushed_at (newest push first) or name, got "size"'],
      ['?limit=0', 'limit must be a positive integer, got "0"'],
      ['?limit=ten', 'limit must be a positive integer, got "ten"'],
      ['?last=nonsense', /^last must be the cursor that the Link header of the previous page names/],
    ] as const) {
      const response = await call(registry, 'GET', `/admin/repositories/td/app/tags${query}`);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('UNSUPPORTED');
      expect(body.errors[0]?.message).toMatch(message);
    }
    // A cursor made up: well-formed, but naming what no tag can be.
    const madeUp = Buffer.from(JSON.stringify(['name', '\ud800'])).toString('base64url');
    expect(
      (await call(registry, 'GET', `/admin/repositories/td/app/tags?sort=name&last=${madeUp}`)).status,
    ).toBe(400);
    expect((await call(registry, 'GET', '/admin/repositories?limit=-1')).status).toBe(400);
    // A cursor of one order is no cursor of the other.
    const byName = (await listing('td/paging/app', '?sort=name&limit=1')).link;
    const cursor = byName?.match(/last=([\w-]+)/)?.[1];
    expect(cursor).toBeDefined();
    const crossed = await call(
      registry,
      'GET',
      `/admin/repositories/td/paging/app/tags?sort=pushed_at&last=${cursor}`,
    );
    expect(crossed.status).toBe(400);
  });

  test('an unknown repository: 404 NAME_UNKNOWN; an invalid name: 400 NAME_INVALID; no such endpoint: 404', async () => {
    const unknown = await call(registry, 'GET', '/admin/repositories/td/nothing/here/tags');
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('NAME_UNKNOWN');
    const invalid = await call(registry, 'GET', '/admin/repositories/TD/App/tags');
    expect(invalid.status).toBe(400);
    expect(await errorCode(invalid)).toBe('NAME_INVALID');
    expect((await call(registry, 'GET', '/admin/repositories/td/app/manifests')).status).toBe(404);
  });

  test('a user who is no administrator: 403 DENIED; anonymous: 401', async () => {
    for (const url of ['/admin/repositories/td/app/tags', '/admin/repositories']) {
      const denied = await call(registry, 'GET', url, { auth: DEV });
      expect(denied.status).toBe(403);
      expect(await errorCode(denied)).toBe('DENIED');
      expect((await call(registry, 'GET', url, { auth: null })).status).toBe(401);
    }
  });
});

describe('GET /admin/repositories', () => {
  test('each repository holding a manifest, in byte order, with its tag and manifest counts and last push', async () => {
    const response = await call(registry, 'GET', '/admin/repositories');
    expect(response.status).toBe(200);
    const { repositories } = (await response.json()) as {
      repositories: {
        name: string;
        tags: number;
        manifests: number;
        last_pushed_at: string | null;
        size: number;
      }[];
    };
    const names = repositories.map((r) => r.name);
    expect(names).toEqual([...names].sort());
    // Its one tag names an index that reaches every blob the repository holds: the same bytes.
    const latest = await tagOf('td/multi/arch', 'latest');
    expect(repositories.find((r) => r.name === 'td/multi/arch')).toEqual({
      name: 'td/multi/arch',
      tags: 1,
      manifests: 4,
      last_pushed_at: new Date(START).toISOString(),
      size: latest.size,
    });
    expect(latest.size).toBeGreaterThan(0);
    const paging = repositories.find((r) => r.name === 'td/paging/app');
    expect(paging).toMatchObject({ tags: 8, manifests: 1 });
    expect(Date.parse(paging?.last_pushed_at ?? '')).toBeGreaterThan(START);

    const walked: string[] = [];
    let next: string | null = '/admin/repositories?limit=2';
    while (next) {
      const page = await call(registry, 'GET', next);
      walked.push(
        ...((await page.json()) as { repositories: { name: string }[] }).repositories.map((r) => r.name),
      );
      next = page.headers.get('link')?.match(/^<([^>]+)>; rel="next"$/)?.[1] ?? null;
    }
    expect(walked).toEqual(names);
  });
});
