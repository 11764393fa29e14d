// The Redis metadata cache: shared by several origin processes (one never serves what another
// changed), and a Redis outage costs no request (the registry falls back to PostgreSQL/storage,
// says so once, and uses Redis again when it is back, with nothing stale left in it).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisMetadataCache } from '../origin/cache/redis-metadata-cache.ts';
import { call, errorCode, pushImage, sha256 } from './harness/client.ts';
import { type RedisServer, startRedisServer } from './harness/redis-server.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  type TestRegistry,
} from './harness/registry.ts';
import { Relay } from './harness/relay.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from './harness/served-registry.ts';

const SHARED_REDIS = 'redis://127.0.0.1:6379';
const ADMIN = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
const MANIFEST_ACCEPT = { Accept: 'application/vnd.oci.image.manifest.v1+json' };

const uniquePrefix = (label: string) => `registry-test-${label}-${randomBytes(4).toString('hex')}:`;

/** Every key under `prefix` in the Redis at `url`, with its value. */
async function keysUnder(url: string, prefix: string): Promise<Map<string, string>> {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    const found = new Map<string, string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      for (const key of keys) {
        const type = await redis.type(key);
        found.set(key, type === 'string' ? ((await redis.get(key)) ?? '') : `<${type}>`);
      }
      cursor = next;
    } while (cursor !== '0');
    return found;
  } finally {
    redis.disconnect();
  }
}

async function removeKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys = [...(await keysUnder(url, prefix)).keys()];
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
}

/**
 * Registries that share one PostgreSQL database, one blob storage (the filesystem root, or in
 * the production project the S3 server of `storageOf`, which must then be closed last) and one Redis
 * key namespace.
 */
async function sharedRegistry(
  databaseUrl: string,
  root: string,
  redisUrl: string,
  prefix: string,
  storageOf?: TestRegistry,
): Promise<TestRegistry> {
  return startTestRegistry({
    database: 'postgres',
    databaseUrl,
    ...(storageOf?.s3 ? { s3: storageOf.s3 } : {}),
    config: {
      storage: {
        filesystem: { root },
        cache: { type: 'redis', redis_url: redisUrl, redis_prefix: prefix },
      },
    },
  });
}

/** Waits until the registry's cache is connected: a push then writes its tag into Redis. */
async function awaitConnected(registry: TestRegistry, prefix: string, name: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const image = await pushImage(registry, name, 'connect-probe');
      const keys = await keysUnder(SHARED_REDIS, prefix);
      expect(keys.get(`${prefix}tag:{${name}}:connect-probe`)).toBe(image.digest);
    },
    { timeout: 10_000, interval: 100 },
  );
}

async function manifestDigest(registry: TestRegistry, name: string, reference: string) {
  const response = await call(registry, 'GET', `/v2/${name}/manifests/${reference}`, {
    headers: MANIFEST_ACCEPT,
  });
  const body = await response.text();
  return { status: response.status, digest: response.headers.get('docker-content-digest'), body };
}

describe('two origin processes sharing one Redis', () => {
  let databaseUrl: string;
  let root: string;
  const prefix = uniquePrefix('shared');
  let a: TestRegistry;
  let b: TestRegistry;

  beforeAll(async () => {
    databaseUrl = await createPostgresDatabase();
    root = await mkdtemp(path.join(tmpdir(), 'registry-redis-blobs-'));
    a = await sharedRegistry(databaseUrl, root, SHARED_REDIS, prefix);
    b = await sharedRegistry(databaseUrl, root, SHARED_REDIS, prefix, a);
    await awaitConnected(a, prefix, 'probe/a');
    await awaitConnected(b, prefix, 'probe/b');
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    if (root) await rm(root, { recursive: true, force: true });
    await removeKeys(SHARED_REDIS, prefix);
  });

  it('B serves a tag A moved at once, every time', async () => {
    const name = 'shared/moving';
    let previous: string | undefined;
    for (let round = 0; round < 4; round++) {
      const image = await pushImage(a, name, 'latest');
      expect(image.digest).not.toBe(previous);
      // Twice: the first pull may fill the cache, the second is answered from it.
      for (let pull = 0; pull < 2; pull++) {
        const seen = await manifestDigest(b, name, 'latest');
        expect(seen.status).toBe(200);
        expect(seen.digest).toBe(image.digest);
        expect(seen.body).toBe(image.manifest);
      }
      const keys = await keysUnder(SHARED_REDIS, prefix);
      expect(keys.get(`${prefix}tag:{${name}}:latest`)).toBe(image.digest);
      expect(keys.has(`${prefix}manifest:{${name}}:${image.digest}`)).toBe(true);
      previous = image.digest;
    }
  });

  it('while B is pulled without pause, each tag move on A is what B serves next', async () => {
    const name = 'shared/busy';
    const pushed = [await pushImage(a, name, 'latest')];
    let stop = false;
    // Judged after the run: the tag moves when A commits, before pushImage returns and the test
    // learns the new digest, so B may rightly serve it before `pushed` holds it.
    const observed: { status: number; digest: string | null }[] = [];
    const pullers = Array.from({ length: 4 }, async () => {
      while (!stop) observed.push(await manifestDigest(b, name, 'latest'));
    });
    try {
      for (let round = 0; round < 8; round++) {
        const image = await pushImage(a, name, 'latest');
        pushed.push(image);
        const seen = await manifestDigest(b, name, 'latest');
        expect(seen.digest).toBe(image.digest);
      }
    } finally {
      stop = true;
      await Promise.all(pullers);
    }
    const unexpected = observed
      .filter((seen) => seen.status !== 200 || !pushed.some((image) => image.digest === seen.digest))
      .map((seen) => `${seen.status} ${seen.digest}`);
    expect(observed.length).toBeGreaterThan(0);
    expect(unexpected).toEqual([]);
  });

  it('a manifest A deletes is unknown on B, by digest and by its tag', async () => {
    const name = 'shared/deleted';
    const image = await pushImage(a, name, 'doomed');
    const kept = await pushImage(a, name, 'kept');
    for (let pull = 0; pull < 2; pull++) {
      expect((await manifestDigest(b, name, 'doomed')).digest).toBe(image.digest);
      expect((await manifestDigest(b, name, image.digest)).status).toBe(200);
      expect((await manifestDigest(b, name, 'kept')).digest).toBe(kept.digest);
    }
    expect((await keysUnder(SHARED_REDIS, prefix)).has(`${prefix}manifest:{${name}}:${image.digest}`)).toBe(
      true,
    );

    expect((await call(a, 'DELETE', `/v2/${name}/manifests/${image.digest}`)).status).toBe(202);

    const byDigest = await call(b, 'GET', `/v2/${name}/manifests/${image.digest}`, {
      headers: MANIFEST_ACCEPT,
    });
    expect(byDigest.status).toBe(404);
    expect(await errorCode(byDigest)).toBe('MANIFEST_UNKNOWN');
    const byTag = await call(b, 'GET', `/v2/${name}/manifests/doomed`, { headers: MANIFEST_ACCEPT });
    expect(byTag.status).toBe(404);
    expect(await errorCode(byTag)).toBe('MANIFEST_UNKNOWN');
    expect((await call(b, 'HEAD', `/v2/${name}/manifests/${image.digest}`)).status).toBe(404);
    // Another tag of the repository is untouched.
    expect((await manifestDigest(b, name, 'kept')).digest).toBe(kept.digest);
  });

  it('a tag A deletes is unknown on B, and comes back when A pushes it again', async () => {
    const name = 'shared/untagged';
    const image = await pushImage(a, name, 'short-lived');
    expect((await manifestDigest(b, name, 'short-lived')).digest).toBe(image.digest);
    expect((await manifestDigest(b, name, 'short-lived')).digest).toBe(image.digest);

    expect((await call(a, 'DELETE', `/v2/${name}/manifests/short-lived`)).status).toBe(202);
    const gone = await call(b, 'GET', `/v2/${name}/manifests/short-lived`, { headers: MANIFEST_ACCEPT });
    expect(gone.status).toBe(404);
    expect(await errorCode(gone)).toBe('MANIFEST_UNKNOWN');
    // The manifest itself stays, by digest.
    expect((await manifestDigest(b, name, image.digest)).status).toBe(200);

    const again = await pushImage(a, name, 'short-lived');
    expect((await manifestDigest(b, name, 'short-lived')).digest).toBe(again.digest);
  });

  it('a blob A deletes is BLOB_UNKNOWN on B', async () => {
    const name = 'shared/blobs';
    const image = await pushImage(a, name, 'v1', { layers: ['a layer that will be deleted'] });
    const layer = image.layers[0] as string;
    for (let pull = 0; pull < 2; pull++) {
      const got = await call(b, 'GET', `/v2/${name}/blobs/${layer}`);
      expect(got.status).toBe(200);
      expect(await got.text()).toBe('a layer that will be deleted');
      expect((await call(b, 'HEAD', `/v2/${name}/blobs/${layer}`)).status).toBe(200);
    }
    const keys = await keysUnder(SHARED_REDIS, prefix);
    expect(keys.get(`${prefix}blob:{${name}}:${layer}`)).toBe(String('a layer that will be deleted'.length));

    expect((await call(a, 'DELETE', `/v2/${name}/blobs/${layer}`)).status).toBe(202);

    const got = await call(b, 'GET', `/v2/${name}/blobs/${layer}`);
    expect(got.status).toBe(404);
    expect(await errorCode(got)).toBe('BLOB_UNKNOWN');
    expect((await call(b, 'HEAD', `/v2/${name}/blobs/${layer}`)).status).toBe(404);
  });
});

const record = (digest: string) => ({
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 2,
  artifactType: null,
  configDigest: null,
  subjectDigest: null,
  annotations: null,
});
const manifestOf = (digest: string) => ({ record: record(digest), bytes: new Uint8Array([123, 125]) });
const silent = pino({ level: 'silent' });

/** Waits until a cache answers: a write then reads back. */
async function awaitUsable(cache: RedisMetadataCache): Promise<void> {
  await vi.waitFor(
    async () => {
      await cache.setTag('probe/usable', 'latest', 'sha256:probe', 'write');
      expect(await cache.getTag('probe/usable', 'latest')).toBe('sha256:probe');
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe('fills racing with writes and invalidations (two caches, one Redis)', () => {
  const prefix = uniquePrefix('races');
  let a: RedisMetadataCache;
  let b: RedisMetadataCache;

  beforeAll(async () => {
    a = new RedisMetadataCache({ url: SHARED_REDIS, prefix, log: silent });
    b = new RedisMetadataCache({ url: SHARED_REDIS, prefix, log: silent });
    await awaitUsable(a);
    await awaitUsable(b);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await removeKeys(SHARED_REDIS, prefix);
  });

  it('a late fill (read before a write or a delete) neither replaces the write nor revives the entry', async () => {
    const repo = 'race/tags';
    await a.setTag(repo, 'latest', 'sha256:new', 'write');
    await b.setTag(repo, 'latest', 'sha256:old');
    expect(await b.getTag(repo, 'latest')).toBe('sha256:new');

    await a.deleteTag(repo, 'latest');
    await b.setTag(repo, 'latest', 'sha256:new');
    expect(await b.getTag(repo, 'latest')).toBeUndefined();
    // A commit after the delete is cached again at once.
    await a.setTag(repo, 'latest', 'sha256:newer', 'write');
    expect(await b.getTag(repo, 'latest')).toBe('sha256:newer');

    await a.setBlobSize(repo, 'sha256:blob', 7);
    expect(await b.getBlobSize(repo, 'sha256:blob')).toBe(7);
    await a.deleteBlob(repo, 'sha256:blob');
    await b.setBlobSize(repo, 'sha256:blob', 7);
    expect(await b.getBlobSize(repo, 'sha256:blob')).toBeUndefined();
  });

  it('a deleted manifest takes the tags pointing to it, and late fills of either are refused', async () => {
    const repo = 'race/manifests';
    await a.setManifest(repo, manifestOf('sha256:m1'), 'write');
    await a.setManifest(repo, manifestOf('sha256:m2'), 'write');
    await a.setTag(repo, 'one', 'sha256:m1', 'write');
    await a.setTag(repo, 'also-one', 'sha256:m1', 'write');
    await a.setTag(repo, 'two', 'sha256:m2', 'write');
    expect((await b.getManifest(repo, 'sha256:m1'))?.bytes).toEqual(new Uint8Array([123, 125]));

    await a.deleteManifest(repo, 'sha256:m1');
    await vi.waitFor(async () => expect(await b.getManifest(repo, 'sha256:m1')).toBeUndefined(), {
      timeout: 2000,
      interval: 10,
    });
    expect(await b.getTag(repo, 'one')).toBeUndefined();
    expect(await b.getTag(repo, 'also-one')).toBeUndefined();
    expect(await b.getTag(repo, 'two')).toBe('sha256:m2');
    expect((await b.getManifest(repo, 'sha256:m2'))?.record.digest).toBe('sha256:m2');

    // B read the manifest and its tag from the database just before A deleted them.
    await b.setManifest(repo, manifestOf('sha256:m1'));
    await b.setTag(repo, 'one', 'sha256:m1');
    await b.setTag(repo, 'untracked', 'sha256:m1');
    expect(await b.getManifest(repo, 'sha256:m1')).toBeUndefined();
    expect(await a.getManifest(repo, 'sha256:m1')).toBeUndefined();
    expect(await b.getTag(repo, 'one')).toBeUndefined();
    expect(await b.getTag(repo, 'untracked')).toBeUndefined();
  });
});

describe('invalidations that could not reach Redis', () => {
  let databaseUrl: string;
  let root: string;
  let relay: Relay;
  const prefix = uniquePrefix('replay');
  let cut: TestRegistry; // reaches Redis through the relay
  let direct: TestRegistry;

  beforeAll(async () => {
    databaseUrl = await createPostgresDatabase();
    root = await mkdtemp(path.join(tmpdir(), 'registry-redis-blobs-'));
    relay = await Relay.start(6379);
    cut = await sharedRegistry(databaseUrl, root, relay.url, prefix);
    direct = await sharedRegistry(databaseUrl, root, SHARED_REDIS, prefix, cut);
    await awaitConnected(cut, prefix, 'probe/cut');
    await awaitConnected(direct, prefix, 'probe/direct');
  });

  afterAll(async () => {
    await direct?.close();
    await cut?.close();
    await relay?.close();
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    if (root) await rm(root, { recursive: true, force: true });
    await removeKeys(SHARED_REDIS, prefix);
  });

  it('are replayed when Redis is reachable again, so that no stale entry survives', async () => {
    const name = 'replay/app';
    const first = await pushImage(cut, name, 'latest');
    const doomed = await pushImage(cut, name, 'doomed', { layers: ['a layer deleted while cut off'] });
    const layer = doomed.layers[0] as string;
    for (let pull = 0; pull < 2; pull++) {
      expect((await manifestDigest(direct, name, 'latest')).digest).toBe(first.digest);
      expect((await manifestDigest(direct, name, doomed.digest)).status).toBe(200);
      expect((await call(direct, 'GET', `/v2/${name}/blobs/${layer}`)).status).toBe(200);
    }

    await relay.cut();
    // Cut off from Redis, `cut` moves a tag, deletes a manifest and a blob: all succeed.
    const second = await pushImage(cut, name, 'latest');
    expect((await call(cut, 'DELETE', `/v2/${name}/manifests/${doomed.digest}`)).status).toBe(202);
    expect((await call(cut, 'DELETE', `/v2/${name}/blobs/${layer}`)).status).toBe(202);
    expect((await manifestDigest(cut, name, 'latest')).digest).toBe(second.digest);
    // Redis never heard of them: it still holds the old entries.
    const before = await keysUnder(SHARED_REDIS, prefix);
    expect(before.get(`${prefix}tag:{${name}}:latest`)).toBe(first.digest);
    expect(before.get(`${prefix}blob:{${name}}:${layer}`)).toBe(
      String('a layer deleted while cut off'.length),
    );

    await relay.restore();
    await vi.waitFor(
      async () => {
        const keys = await keysUnder(SHARED_REDIS, prefix);
        expect(keys.get(`${prefix}tag:{${name}}:latest`)).not.toBe(first.digest);
        expect(keys.get(`${prefix}manifest:{${name}}:${doomed.digest}`)).toBe('');
        expect(keys.get(`${prefix}blob:{${name}}:${layer}`)).toBe('');
      },
      { timeout: 15_000, interval: 100 },
    );
    expect((await manifestDigest(direct, name, 'latest')).digest).toBe(second.digest);
    expect((await manifestDigest(direct, name, doomed.digest)).status).toBe(404);
    expect((await manifestDigest(direct, name, 'doomed')).status).toBe(404);
    const blob = await call(direct, 'GET', `/v2/${name}/blobs/${layer}`);
    expect(blob.status).toBe(404);
    expect(await errorCode(blob)).toBe('BLOB_UNKNOWN');
  });

  it('a cache cut off from Redis stops trusting its in-process manifest copies', async () => {
    const ownPrefix = uniquePrefix('local');
    const writer = new RedisMetadataCache({ url: SHARED_REDIS, prefix: ownPrefix, log: silent });
    const reader = new RedisMetadataCache({ url: relay.url, prefix: ownPrefix, log: silent });
    try {
      await awaitUsable(writer);
      await awaitUsable(reader);
      await writer.setManifest('local/app', manifestOf('sha256:l1'), 'write');
      expect((await reader.getManifest('local/app', 'sha256:l1'))?.record.digest).toBe('sha256:l1');

      await relay.cut();
      // Deleted while the reader cannot hear about it: its copy must not be served.
      await writer.deleteManifest('local/app', 'sha256:l1');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await reader.getManifest('local/app', 'sha256:l1')).toBeUndefined();
      await relay.restore();
      await awaitUsable(reader);
      expect(await reader.getManifest('local/app', 'sha256:l1')).toBeUndefined();
    } finally {
      if (!relay.open) await relay.restore();
      await writer.close();
      await reader.close();
      await removeKeys(SHARED_REDIS, ownPrefix);
    }
  });

  it('beyond what it remembers, the whole namespace is flushed on reconnect', async () => {
    const ownPrefix = uniquePrefix('overflow');
    const cache = new RedisMetadataCache({
      url: relay.url,
      prefix: ownPrefix,
      log: pino({ level: 'silent' }),
      maxPendingInvalidations: 2,
    });
    try {
      await vi.waitFor(
        async () => {
          await cache.setTag('over/flow', 'latest', 'sha256:1', 'write');
          expect(await cache.getTag('over/flow', 'latest')).toBe('sha256:1');
        },
        { timeout: 10_000, interval: 50 },
      );
      await cache.setBlobSize('over/flow', 'sha256:b1', 11);
      // Written by another process: the flush cannot know whether it is still right.
      const other = new Redis(SHARED_REDIS);
      await other.set(`${ownPrefix}blob:{else/where}:sha256:b2`, '22');
      other.disconnect();

      await relay.cut();
      await cache.deleteTag('over/flow', 'latest');
      await cache.deleteBlob('over/flow', 'sha256:b3');
      await cache.deleteBlob('over/flow', 'sha256:b4');
      expect(await cache.getTag('over/flow', 'latest')).toBeUndefined();
      expect((await keysUnder(SHARED_REDIS, ownPrefix)).size).toBe(4);

      await relay.restore();
      await vi.waitFor(
        async () => {
          // Usable again, and nothing of before is left.
          await cache.setBlobSize('over/flow', 'sha256:b5', 55);
          expect(await cache.getBlobSize('over/flow', 'sha256:b5')).toBe(55);
        },
        { timeout: 15_000, interval: 100 },
      );
      const keys = await keysUnder(SHARED_REDIS, ownPrefix);
      expect([...keys.keys()]).toEqual([`${ownPrefix}blob:{over/flow}:sha256:b5`]);
    } finally {
      if (!relay.open) await relay.restore();
      await cache.close();
      await removeKeys(SHARED_REDIS, ownPrefix);
    }
  });
});

describe('Redis stopped and restarted under load', () => {
  let redis: RedisServer | undefined;
  let served: ServedRegistry | undefined;
  let dataDir: string;
  let databaseUrl: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    dataDir = await mkdtemp(path.join(tmpdir(), 'registry-redis-outage-'));
    databaseUrl = await createPostgresDatabase();
    served = await serveRegistry({
      REGISTRY_DATA_DIR: dataDir,
      REGISTRY_DATABASE_URL: databaseUrl,
      REGISTRY_STORAGE_CACHE_TYPE: 'redis',
      REGISTRY_STORAGE_CACHE_REDIS_URL: redis.url,
    });
  });

  afterAll(async () => {
    await killRegistry(served);
    await redis?.stop();
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves every pull from PostgreSQL meanwhile, logs the outage and the recovery once each', async () => {
    const registry = served as ServedRegistry;
    const ownRedis = redis as RedisServer;
    const redisUrl = ownRedis.url;
    const target = { url: registry.url, adminAuth: ADMIN } as TestRegistry;
    const name = 'outage/app';
    const layerContent = 'a layer pulled through a Redis outage';
    const image = await pushImage(target, name, 'latest', { layers: [layerContent] });
    const layer = image.layers[0] as string;
    const cacheKeys = [
      `registry:tag:{${name}}:latest`,
      `registry:manifest:{${name}}:${image.digest}`,
      `registry:blob:{${name}}:${layer}`,
    ];
    const cached = async () => {
      const keys = await keysUnder(redisUrl, 'registry:').catch(() => new Map<string, string>());
      return cacheKeys.filter((key) => keys.has(key) && keys.get(key) !== '');
    };

    const failures: string[] = [];
    const requests: { start: number; ms: number }[] = [];
    let stop = false;
    const deadline = Date.now() + 60_000;
    const timed = async (url: string, check: (response: Response, body: Buffer) => boolean) => {
      const start = Date.now();
      try {
        const response = await fetch(url, { headers: { Authorization: ADMIN, ...MANIFEST_ACCEPT } });
        const body = Buffer.from(await response.arrayBuffer());
        if (!check(response, body))
          failures.push(`${url}: ${response.status} ${body.toString().slice(0, 200)}`);
      } catch (error) {
        failures.push(`${url}: ${(error as Error).message}`);
      }
      requests.push({ start, ms: Date.now() - start });
    };
    const pullers = Array.from({ length: 6 }, async () => {
      // Bounded: by a flag, a deadline and a number of rounds.
      for (let round = 0; round < 5_000 && !stop && Date.now() < deadline; round++) {
        await timed(
          `${registry.url}/v2/${name}/manifests/latest`,
          (response, body) =>
            response.status === 200 &&
            response.headers.get('docker-content-digest') === image.digest &&
            body.toString() === image.manifest,
        );
        await timed(
          `${registry.url}/v2/${name}/blobs/${layer}`,
          (response, body) => response.status === 200 && sha256(body) === layer,
        );
      }
    });

    try {
      await vi.waitFor(async () => expect(await cached()).toEqual(cacheKeys), {
        timeout: 10_000,
        interval: 50,
      });

      await ownRedis.kill();
      const killedAt = Date.now();
      await vi.waitFor(
        () => expect(registry.lines.some((l) => String(l.msg).startsWith('redis unreachable'))).toBe(true),
        { timeout: 10_000, interval: 50 },
      );
      // Keep pulling through the outage for a while: long enough to span several of ioredis's
      // reconnect attempts (100, 200, 300 ms… apart), which is what requests must not wait on.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await ownRedis.restart();
      const restartedAt = Date.now();
      const during = requests.filter((r) => r.start >= killedAt && r.start + r.ms <= restartedAt);
      expect(during.length).toBeGreaterThan(50);
      // No request waited on the dead Redis: typically not at all, at worst a short timeout.
      const times = during.map((r) => r.ms).sort((x, y) => x - y);
      expect(times[Math.floor(times.length / 2)]).toBeLessThan(250);
      expect(times[times.length - 1]).toBeLessThan(2000);

      // Back: the registry reconnects by itself and fills the (empty) restarted Redis again.
      await vi.waitFor(async () => expect(await cached()).toEqual(cacheKeys), {
        timeout: 15_000,
        interval: 100,
      });
      await vi.waitFor(
        () =>
          expect(registry.lines.some((l) => String(l.msg).startsWith('redis reachable again'))).toBe(true),
        { timeout: 5_000, interval: 50 },
      );
      const since = requests.length;
      await vi.waitFor(() => expect(requests.length).toBeGreaterThan(since + 50), { timeout: 10_000 });
    } finally {
      stop = true;
      await Promise.all(pullers);
    }

    expect(failures).toEqual([]);
    expect(requests.length).toBeGreaterThan(200);
    const warnings = registry.lines.filter((l) => String(l.msg).startsWith('redis unreachable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe(40);
    const recoveries = registry.lines.filter((l) => String(l.msg).startsWith('redis reachable again'));
    expect(recoveries).toHaveLength(1);
    expect(recoveries[0]?.level).toBe(30);
    expect(registry.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
