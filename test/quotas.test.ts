// Storage quotas: what a prefix uses (distinct blobs its manifests reference, once each, and the
// manifests), kept current by pushes, deletes and `gc --untagged`; a push past a limit refused
// with DENIED "quota exceeded: … of … used by P", and two racing pushes never both slipping past
// it; rules from the config file (read-only) and /admin/quotas, audited; GET /admin/usage and the
// gauges. Every number is checked against a model the test keeps of what it stored, and against a
// recount (a rule removed and set again counts its prefix afresh). Runs on both engines: the usage
// is charged under row and advisory locks in the write's transaction.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, metric, pushBlob, sha256 } from './harness/client.ts';
import { ShiftedClock } from './harness/clock.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DAY = 86_400_000;

let registry: TestRegistry;
const clock = new ShiftedClock();

beforeAll(async () => {
  registry = await startTestRegistry({
    clock,
    config: { quotas: [{ prefix: 'cfg/', limit: '1GB' }], gc: { grace_period: '1h' } },
  });
});

afterAll(async () => registry?.close());

/** An image whose every byte the test knows: its blobs (config first) and manifest. */
interface Img {
  readonly manifest: string;
  readonly digest: string;
  readonly blobs: ReadonlyMap<string, number>;
  readonly contents: readonly string[];
}

let seq = 0;
function image(
  layers: readonly string[],
  config = `{"architecture":"amd64","os":"linux","n":${++seq}}`,
): Img {
  const blobs = new Map<string, number>([[sha256(config), Buffer.byteLength(config)]]);
  for (const l of layers) blobs.set(sha256(l), Buffer.byteLength(l));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: Buffer.byteLength(config),
    },
    layers: layers.map((l) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: sha256(l),
      size: Buffer.byteLength(l),
    })),
  });
  return { manifest, digest: sha256(manifest), blobs, contents: [config, ...layers] };
}

const layer = (label: string, bytes: number) => `${label}:${'x'.repeat(bytes)}`.slice(0, bytes);

async function upload(name: string, img: Img): Promise<void> {
  for (const content of img.contents) await pushBlob(registry, name, content);
}

function putManifest(name: string, reference: string, img: Img): Promise<Response> {
  return call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body: img.manifest,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
}

async function push(name: string, reference: string, img: Img): Promise<Response> {
  await upload(name, img);
  return putManifest(name, reference, img);
}

async function pushOk(name: string, reference: string, img: Img): Promise<void> {
  const response = await push(name, reference, img);
  expect(response.status, await response.clone().text()).toBe(201);
}

/** What the test stored: per repository, its manifests by digest. */
class Model {
  readonly stored = new Map<string, Map<string, Img>>();
  add(name: string, img: Img): void {
    const repo = this.stored.get(name) ?? new Map<string, Img>();
    repo.set(img.digest, img);
    this.stored.set(name, repo);
  }
  remove(name: string, digest: string): void {
    this.stored.get(name)?.delete(digest);
  }
  /** Bytes under `prefix`: each distinct blob once, each stored manifest. */
  used(prefix: string): number {
    const blobs = new Map<string, number>();
    let manifests = 0;
    for (const [name, images] of this.stored) {
      if (!name.startsWith(prefix)) continue;
      for (const img of images.values()) {
        manifests += Buffer.byteLength(img.manifest);
        for (const [d, size] of img.blobs) blobs.set(d, size);
      }
    }
    return manifests + [...blobs.values()].reduce((a, b) => a + b, 0);
  }
}

interface UsageEntry {
  prefix: string;
  limit: number;
  used: number;
  source: string;
  read_only: boolean;
  repositories?: { name: string; used: number }[];
}

async function usage(query = ''): Promise<UsageEntry[]> {
  const response = await call(registry, 'GET', `/admin/usage${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { usage: UsageEntry[] }).usage;
}

async function used(prefix: string): Promise<number> {
  const entry = (await usage()).find((u) => u.prefix === prefix);
  if (!entry) throw new Error(`no usage for ${prefix}`);
  return entry.used;
}

function setQuota(prefix: string, limit: number | string): Promise<Response> {
  return call(registry, 'PUT', `/admin/quotas/${prefix}`, {
    body: JSON.stringify({ limit }),
    headers: { 'Content-Type': 'application/json' },
  });
}

async function setQuotaOk(prefix: string, limit: number | string): Promise<void> {
  const response = await setQuota(prefix, limit);
  expect(response.status, await response.clone().text()).toBe(200);
}

const removeQuota = (prefix: string) => call(registry, 'DELETE', `/admin/quotas/${prefix}`);

/** The usage counted afresh: the rule removed and set again scans the prefix's manifests. */
async function recounted(prefix: string, limit: number): Promise<number> {
  expect((await removeQuota(prefix)).status).toBe(204);
  await setQuotaOk(prefix, limit);
  return used(prefix);
}

const deleteManifest = (name: string, reference: string) =>
  call(registry, 'DELETE', `/v2/${name}/manifests/${reference}`);

async function gcUntagged(): Promise<void> {
  // Older than the grace period: untagged manifests are collected.
  clock.advance(DAY);
  const response = await call(registry, 'POST', '/admin/gc?mode=delete&untagged=true');
  expect(response.status).toBe(200);
}

interface ErrorEntry {
  code: string;
  message: string;
  detail?: Record<string, unknown>;
}

async function refusal(response: Response): Promise<ErrorEntry> {
  expect(response.status).toBe(403);
  const body = (await response.json()) as { errors: ErrorEntry[] };
  expect(body.errors).toHaveLength(1);
  return body.errors[0] as ErrorEntry;
}

describe('what a prefix uses', () => {
  test('a layer shared by two repositories of a prefix counts once; an enclosing prefix counts it too, once', async () => {
    await setQuotaOk('org1/', '10GB');
    await setQuotaOk('org1/team-a/', '10GB');
    const model = new Model();
    const shared = layer('shared', 5000);
    const x = image([shared, layer('x-own', 700)]);
    const y = image([shared, layer('y-own', 300)]);
    const z = image([shared]);
    await pushOk('org1/team-a/x', 'v1', x);
    model.add('org1/team-a/x', x);
    await pushOk('org1/team-b/y', 'v1', y);
    model.add('org1/team-b/y', y);
    await pushOk('org1/team-a/z', 'v1', z);
    model.add('org1/team-a/z', z);

    expect(await used('org1/')).toBe(model.used('org1/'));
    expect(await used('org1/team-a/')).toBe(model.used('org1/team-a/'));
    // The shared layer once in each: 5000 counted once although three manifests reference it.
    const manifests = [x, y, z].reduce((n, i) => n + Buffer.byteLength(i.manifest), 0);
    const configs = [x, y, z].reduce((n, i) => n + Buffer.byteLength(i.contents[0] as string), 0);
    expect(await used('org1/')).toBe(manifests + configs + 5000 + 700 + 300);

    const listed = (await usage('?repositories=true')).find((u) => u.prefix === 'org1/');
    expect(listed).toMatchObject({ prefix: 'org1/', limit: 10_000_000_000, source: 'api', read_only: false });
    // Per repository, each its own: the shared layer in each.
    expect(listed?.repositories?.map((r) => r.name)).toEqual([
      'org1/team-a/x',
      'org1/team-a/z',
      'org1/team-b/y',
    ]);
    const one = new Model();
    one.add('org1/team-b/y', y);
    expect(listed?.repositories?.[2]?.used).toBe(one.used(''));
  });

  test('push, tag delete, manifest delete and gc --untagged each leave the usage a recount finds', async () => {
    const prefix = 'life/';
    await setQuotaOk(prefix, '1GB');
    const model = new Model();
    const base = layer('base', 4000);
    const a = image([base, layer('a', 900)]);
    const b = image([base, layer('b', 800)]);
    const c = image([layer('c', 600)]);
    for (const [tag, img] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const) {
      await pushOk('life/app', tag, img);
      model.add('life/app', img);
    }
    expect(await used(prefix)).toBe(model.used(prefix));

    // A tag deleted leaves its manifest stored: nothing changes.
    expect((await deleteManifest('life/app', 'c')).status).toBe(202);
    expect(await used(prefix)).toBe(model.used(prefix));
    // The manifest deleted by digest: its bytes go, the base layer stays (b references it).
    expect((await deleteManifest('life/app', a.digest)).status).toBe(202);
    model.remove('life/app', a.digest);
    expect(await used(prefix)).toBe(model.used(prefix));
    // gc --untagged removes c (its tag is gone).
    await gcUntagged();
    model.remove('life/app', c.digest);
    expect(await used(prefix)).toBe(model.used(prefix));
    expect((await deleteManifest('life/app', b.digest)).status).toBe(202);
    model.remove('life/app', b.digest);
    expect(await used(prefix)).toBe(0);
    expect(await recounted(prefix, 1e9)).toBe(0);
  });

  test('the same content pushed again, by tag or digest or to another tag, is not counted twice', async () => {
    const prefix = 'again/';
    await setQuotaOk(prefix, '1GB');
    const img = image([layer('again', 3000)]);
    await pushOk('again/app', 'v1', img);
    const once = await used(prefix);
    await pushOk('again/app', 'v1', img);
    await pushOk('again/app', img.digest, img);
    await pushOk('again/app', 'v2', img);
    expect(await used(prefix)).toBe(once);
    // A new manifest over the same blobs adds its own bytes only.
    const annotated = JSON.stringify({ ...JSON.parse(img.manifest), annotations: { rebuilt: 'yes' } });
    const sameBlobs: Img = { ...img, manifest: annotated, digest: sha256(annotated) };
    await pushOk('again/app', 'v3', sameBlobs);
    expect(await used(prefix)).toBe(once + Buffer.byteLength(sameBlobs.manifest));
  });

  test('a prefix is counted from what is stored when its rule is set; a recount agrees after a random run of writes', async () => {
    // Random but repeatable: a small linear congruential generator.
    let state = 12345;
    const random = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const repos = ['rand/a/one', 'rand/a/two', 'rand/b/three', 'randx/four'];
    const pool = Array.from({ length: 6 }, (_, i) => layer(`pool-${i}`, 500 + i * 250));
    const model = new Model();
    const tags = new Map<string, Map<string, string>>(); // repository → tag → digest
    const step = async () => {
      const name = repos[random(repos.length)] as string;
      const op = random(10);
      const repoTags = tags.get(name) ?? new Map<string, string>();
      tags.set(name, repoTags);
      if (op < 6 || repoTags.size === 0) {
        const picked = [...new Set([pool[random(6)], pool[random(6)]])] as string[];
        const img = image(picked, random(2) === 0 ? '{"shared":"config"}' : undefined);
        const tag = `t${random(4)}`;
        await pushOk(name, tag, img);
        model.add(name, img);
        repoTags.set(tag, img.digest);
      } else if (op < 8) {
        const [, digest] = [...repoTags][random(repoTags.size)] as [string, string];
        expect((await deleteManifest(name, digest)).status).toBe(202);
        model.remove(name, digest);
        for (const [t, d] of repoTags) if (d === digest) repoTags.delete(t);
      } else {
        const [tag] = [...repoTags][random(repoTags.size)] as [string, string];
        expect((await deleteManifest(name, tag)).status).toBe(202);
        repoTags.delete(tag);
      }
    };
    // Half the writes before the rules exist: their setting counts them.
    for (let i = 0; i < 15; i += 1) await step();
    await setQuotaOk('rand/', '1GB');
    await setQuotaOk('rand/a/', '1GB');
    expect(await used('rand/')).toBe(model.used('rand/'));
    expect(await used('rand/a/')).toBe(model.used('rand/a/'));
    for (let i = 0; i < 35; i += 1) await step();
    await gcUntagged();
    // What gc removed: every manifest no tag names.
    for (const [name, images] of model.stored) {
      const named = new Set(tags.get(name)?.values() ?? []);
      for (const digest of [...images.keys()]) if (!named.has(digest)) model.remove(name, digest);
    }
    for (const prefix of ['rand/', 'rand/a/']) {
      expect(await used(prefix), prefix).toBe(model.used(prefix));
      expect(await recounted(prefix, 1e9), prefix).toBe(model.used(prefix));
    }
  });
});

describe('a push over a quota', () => {
  test('is refused at the manifest with 403 DENIED "quota exceeded: <used> of <limit> used by <prefix>"; nothing is stored', async () => {
    const prefix = 'full/';
    await setQuotaOk(prefix, 10_000);
    const first = image([layer('first', 8000)]);
    await pushOk('full/app', 'v1', first);
    const before = await used(prefix);
    const second = image([layer('second', 3000)]);
    const response = await push('full/app', 'v2', second);
    const error = await refusal(response);
    const adding = Buffer.byteLength(second.manifest) + [...second.blobs.values()].reduce((a, b) => a + b, 0);
    expect(error).toEqual({
      code: 'DENIED',
      message: `quota exceeded: ${(Math.floor(before / 100) / 10).toString()} kB of 10 kB used by full/`,
      detail: { prefix, used: before, limit: 10_000, push_bytes: adding },
    });
    expect((await call(registry, 'HEAD', `/v2/full/app/manifests/v2`)).status).toBe(404);
    expect((await call(registry, 'HEAD', `/v2/full/app/manifests/${second.digest}`)).status).toBe(404);
    expect(await used(prefix)).toBe(before);
    // Within the limit still goes; so does the same manifest again, even over a lowered limit.
    const small = image([], first.contents[0]);
    await pushOk('full/app', 'small', small);
    await setQuotaOk(prefix, 1000);
    await pushOk('full/app', 'v1-again', first);
    expect((await refusal(await push('full/app', 'v3', image([layer('tiny', 10)])))).message).toMatch(
      /^quota exceeded: 8\.\d kB of 1 kB used by full\/$/,
    );
  });

  test('under nested quotas, either refuses: the most specific one over its limit is named', async () => {
    await setQuotaOk('nest/', 20_000);
    await setQuotaOk('nest/small/', 2_000);
    const big = image([layer('big', 5000)]);
    const inner = await refusal(await push('nest/small/app', 'v1', big));
    expect(inner.message).toBe('quota exceeded: 0 B of 2 kB used by nest/small/');
    await pushOk('nest/other/app', 'v1', image([layer('fill', 18_500)]));
    const outer = await refusal(await push('nest/small/app', 'v1', image([layer('one', 1000)])));
    expect(outer.message).toMatch(/^quota exceeded: 18\.\d kB of 20 kB used by nest\/$/);
  });

  test('two pushes racing at the limit: never both pass', async () => {
    for (let round = 0; round < 4; round += 1) {
      const prefix = `race${round}/`;
      await setQuotaOk(prefix, 10_000);
      const images = [image([layer(`race-a${round}`, 6000)]), image([layer(`race-b${round}`, 6000)])];
      // Blobs first, then the two manifests at once: only the manifests race.
      await Promise.all(images.map((img, i) => upload(`${prefix}app${i}`, img)));
      const answers = await Promise.all(images.map((img, i) => putManifest(`${prefix}app${i}`, 'v1', img)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses, `round ${round}`).toEqual([201, 403]);
      const refused = answers.find((a) => a.status === 403) as Response;
      expect((await refusal(refused)).message).toMatch(
        /^quota exceeded: 6\.\d kB of 10 kB used by race\d\/$/,
      );
      const model = new Model();
      for (const [i, a] of answers.entries())
        if (a.status === 201) model.add(`${prefix}app${i}`, images[i] as Img);
      expect(await used(prefix)).toBe(model.used(prefix));
    }
  });
});

describe('rules through /admin/quotas', () => {
  test('the config file rule is listed read-only; PUT and DELETE of its prefix are refused', async () => {
    const list = await call(registry, 'GET', '/admin/quotas');
    expect(list.status).toBe(200);
    const rules = ((await list.json()) as { quotas: { prefix: string; source: string }[] }).quotas;
    expect(rules.filter((r) => r.source === 'config')).toEqual([
      { prefix: 'cfg/', limit: 1_000_000_000, source: 'config', read_only: true, in_effect: true },
    ]);
    expect((await refusal(await setQuota('cfg/', '5GB'))).message).toMatch(/config file/);
    expect((await refusal(await removeQuota('cfg/'))).message).toMatch(/config file/);
    // It is counted and enforced like any other.
    const img = image([layer('cfg', 1200)]);
    await pushOk('cfg/app', 'v1', img);
    const model = new Model();
    model.add('cfg/app', img);
    expect(await used('cfg/')).toBe(model.used('cfg/'));
  });

  test('PUT sets (bytes or "10GB"), replaces; GET shows it with its usage; DELETE removes it, then 404', async () => {
    await setQuotaOk('crud/', '2.5GB');
    const one = await call(registry, 'GET', '/admin/quotas/crud/');
    expect(await one.json()).toEqual({
      prefix: 'crud/',
      limit: 2_500_000_000,
      used: 0,
      source: 'api',
      read_only: false,
    });
    await setQuotaOk('crud/', 1234);
    expect((await usage()).find((u) => u.prefix === 'crud/')?.limit).toBe(1234);
    expect((await removeQuota('crud/')).status).toBe(204);
    expect((await usage()).some((u) => u.prefix === 'crud/')).toBe(false);
    const again = await removeQuota('crud/');
    expect(again.status).toBe(404);
    expect((await call(registry, 'GET', '/admin/quotas/crud/')).status).toBe(404);
    // The empty prefix, every repository: /admin/quotas/ alone.
    await setQuotaOk('', '1TB');
    const everything = (await (await call(registry, 'GET', '/admin/quotas/')).json()) as UsageEntry;
    expect([everything.prefix, everything.limit]).toEqual(['', 1e12]);
    expect(everything.used).toBeGreaterThan(0);
    expect((await removeQuota('')).status).toBe(204);
    for (const limit of [0, -1, 'lots', '10 parsecs', 1.5, 2 ** 53]) {
      expect((await setQuota('bad/', limit)).status, String(limit)).toBe(400);
    }
    // As strings too: a whole number of bytes, from 1 to Number.MAX_SAFE_INTEGER, never rounded.
    for (const [limit, message] of [
      ['0B', 'limit: "0B" is less than 1 byte'],
      ['0.0KB', 'limit: "0.0KB" is less than 1 byte'],
      ['0.4B', 'limit: "0.4B" is not a whole number of bytes'],
      ['1.0005KB', 'limit: "1.0005KB" is not a whole number of bytes'],
      ['99999999999TB', `limit: "99999999999TB" is more than ${Number.MAX_SAFE_INTEGER} bytes`],
      ['8192TiB', `limit: "8192TiB" is more than ${Number.MAX_SAFE_INTEGER} bytes`],
    ]) {
      const response = await setQuota('bad/', limit as string);
      expect(response.status, limit).toBe(400);
      const { errors } = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(errors[0]).toMatchObject({ code: 'UNSUPPORTED', message });
    }
    expect((await call(registry, 'GET', '/admin/quotas/bad/')).status).toBe(404);
    // Exact: 1.1KB is 1100 bytes (1.1 × 1000 in floating point is not).
    await setQuotaOk('exact/', '1.1KB');
    expect((await usage()).find((u) => u.prefix === 'exact/')?.limit).toBe(1100);
    expect((await removeQuota('exact/')).status).toBe(204);
  });

  test('each change is in the audit trail: who set or removed which limit, and the one before', async () => {
    await setQuotaOk('audited/', '1GB');
    await setQuotaOk('audited/', '2GB');
    expect((await removeQuota('audited/')).status).toBe(204);
    const response = await call(registry, 'GET', '/admin/audit?limit=20');
    const entries = (
      (await response.json()) as { entries: { action: string; user: string; detail: unknown }[] }
    ).entries;
    const mine = entries.filter((e) => (e.detail as { prefix?: string }).prefix === 'audited/').reverse();
    expect(mine.map((e) => [e.action, e.user, e.detail])).toEqual([
      ['quota.set', 'admin', { prefix: 'audited/', limit: 1e9, previous: null }],
      ['quota.set', 'admin', { prefix: 'audited/', limit: 2e9, previous: 1e9 }],
      ['quota.remove', 'admin', { prefix: 'audited/', limit: null, previous: 2e9 }],
    ]);
  });

  test('a user who is no administrator is refused, and anonymous callers', async () => {
    expect((await call(registry, 'GET', '/admin/usage', { auth: null })).status).toBe(401);
    expect(
      (await call(registry, 'PUT', '/admin/quotas/x/', { auth: null, body: '{"limit":1}' })).status,
    ).toBe(401);
  });

  test('/metrics has the used and limit gauges of each rule', async () => {
    await setQuotaOk('metered/', 5_000_000);
    const img = image([layer('metered', 2000)]);
    await pushOk('metered/app', 'v1', img);
    const model = new Model();
    model.add('metered/app', img);
    expect(await metric(registry, 'registry_quota_used_bytes{prefix="metered/"}')).toBe(
      model.used('metered/'),
    );
    expect(await metric(registry, 'registry_quota_limit_bytes{prefix="metered/"}')).toBe(5_000_000);
    expect(await metric(registry, 'registry_quota_limit_bytes{prefix="cfg/"}')).toBe(1e9);
  });
});

describe('a config rule added to a registry with images', () => {
  test('is counted at start from what is stored; a stored rule of its prefix is hidden; removed from the config, it is no longer counted', async () => {
    const first = await startTestRegistry();
    try {
      const img = image([layer('restart', 2500)]);
      for (const content of img.contents) await pushBlob(first, 'later/app', content);
      const put = await call(first, 'PUT', '/v2/later/app/manifests/v1', {
        body: img.manifest,
        headers: { 'Content-Type': OCI_MANIFEST },
      });
      expect(put.status).toBe(201);
      expect(
        (await call(first, 'PUT', '/admin/quotas/later/', { body: JSON.stringify({ limit: 5 }) })).status,
      ).toBe(200);
      await first.running.close();
      const model = new Model();
      model.add('later/app', img);
      const restart = (config: Record<string, unknown>) =>
        startTestRegistry({ dataDir: first.dataDir, databaseUrl: first.databaseUrl, config });
      const second = await restart({
        quotas: [
          { prefix: 'later/', limit: '1MB' },
          { prefix: '', limit: '1GB' },
        ],
      });
      try {
        const entries = (
          (await (await call(second, 'GET', '/admin/usage')).json()) as { usage: UsageEntry[] }
        ).usage;
        expect(entries.map((e) => [e.prefix, e.limit, e.used, e.source])).toEqual([
          ['', 1e9, model.used(''), 'config'],
          ['later/', 1e6, model.used('later/'), 'config'],
        ]);
        const quotas = ((await (await call(second, 'GET', '/admin/quotas')).json()) as { quotas: unknown[] })
          .quotas;
        expect(quotas).toContainEqual({
          prefix: 'later/',
          limit: 5,
          source: 'api',
          read_only: false,
          in_effect: false,
        });
      } finally {
        await second.running.close();
      }
      const third = await restart({});
      try {
        const entries = ((await (await call(third, 'GET', '/admin/usage')).json()) as { usage: UsageEntry[] })
          .usage;
        // The stored rule is in effect again; the config's '' is gone.
        expect(entries.map((e) => [e.prefix, e.limit, e.used])).toEqual([
          ['later/', 5, model.used('later/')],
        ]);
      } finally {
        await third.running.close();
      }
    } finally {
      await first.close();
    }
  });
});
