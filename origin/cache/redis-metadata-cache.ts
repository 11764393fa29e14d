// The metadata cache shared by every origin process, in Redis: tag -> digest, manifest record and
// bytes, a repository's blob sizes. Read-through (callers fill it after a database read) and
// invalidated by the callers on every write, so that no process serves a tag another one moved.
//
// Keys (P = the prefix, `registry:` by default; {repo} is a Redis Cluster hash tag, so that all
// keys of a repository live in one slot and the scripts below may touch several of them):
//   P tag:{repo}:TAG          digest                          tagTtl
//   P tags:{repo}             set of the tags cached above    tagTtl (renewed when a tag is added)
//   P manifest:{repo}:DIGEST  u32 length, record JSON, bytes  entryTtl
//   P blob:{repo}:DIGEST      size in bytes                   entryTtl
//   P invalidate              pub/sub channel: "repo@digest" of a deleted manifest, "*": forget all
// The TTLs are only a safety net; invalidation is what keeps the cache right.
//
// Races. A fill carries a value read from the database a moment ago, so it may be outdated by the
// time it reaches Redis. Fills therefore never replace a value (SET NX: whatever is there came
// from a later write, or is equal), and an invalidation leaves a tombstone (an empty value, for
// tombstoneTtl) instead of deleting, so that a fill racing with it cannot bring the old value
// back; a tag fill is also refused while its manifest is tombstoned. Writes that follow a commit
// (`write`) replace values and tombstones alike.
//
// Manifests by digest are immutable, so they are also kept in a small in-process LRU; a deleted
// manifest is announced on the invalidation channel and every process drops its copy. Copies are
// used only while this process is subscribed (a process that may have missed an announcement
// forgets them all). Tags are never copied in-process: they always come from Redis or the database.
//
// Redis down: reads answer "miss" and fills are dropped, at once (no offline queue, no retries, a
// short command timeout; a command that times out drops the connection so that the following ones
// fail fast too), so every request is served from the database and storage. ioredis reconnects by
// itself; the outage is logged once (warn), the recovery once (info). Invalidations that could not
// reach Redis are remembered and replayed when it answers again, before the cache is used again:
// Redis may have kept the entries they were meant to remove (a network split, or a restart from
// its own persistence), and replaying only those keys keeps the rest of a warm cache, unlike
// flushing the namespace on every reconnect. If more than maxPendingInvalidations pile up, they
// are dropped and the whole namespace is flushed on reconnect instead. What replay cannot cover:
// while this process cannot reach Redis, processes that still can may serve what it invalidated,
// until it reconnects (or the TTL passes).
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { ManifestRecord } from '../metadata/manifests.ts';
import { LruCache } from './lru.ts';
import type { CachedManifest, CacheWrite, MetadataCache } from './metadata-cache.ts';

export interface RedisMetadataCacheOptions {
  /** redis:// or rediss:// URL. */
  readonly url: string;
  readonly log: Logger;
  /** Prefix of every key and of the invalidation channel. Default `registry:`. */
  readonly prefix?: string;
  /** Lifetime of a cached tag (ms). Default 5 minutes. */
  readonly tagTtlMs?: number;
  /** Lifetime of a cached manifest or blob size (ms). Default 1 hour. */
  readonly entryTtlMs?: number;
  /** How long an invalidation blocks fills of the same key (ms). Default 30 s. */
  readonly tombstoneTtlMs?: number;
  /** Bound on every command (ms); a command that takes longer counts as an outage. Default 250. */
  readonly commandTimeoutMs?: number;
  /** Manifests kept in-process (0: none). Default 1000. */
  readonly localManifests?: number;
  /** Lifetime of an in-process manifest copy (ms). Default 5 minutes. */
  readonly localTtlMs?: number;
  /** Invalidations remembered while Redis is unreachable; beyond, the namespace is flushed. */
  readonly maxPendingInvalidations?: number;
}

type Invalidation =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'manifest'; readonly repository: string; readonly digest: string };

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

interface LocalCopy {
  readonly manifest: CachedManifest;
  readonly at: number;
}

// KEYS: tag, tag set, manifest. ARGV: digest, ttl, tag. Refused over a value, a tombstone, or
// while the manifest the tag points to is tombstoned (deleted a moment ago).
const FILL_TAG = `
if redis.call('GET', KEYS[3]) == '' then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

// KEYS: tag, tag set. ARGV: digest, ttl, tag.
const WRITE_TAG = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

// KEYS: manifest, tag set. ARGV: digest, tombstone ttl, prefix of the repository's tag keys,
// channel, message. Tombstones the manifest and the cached tags that point to it, then announces it.
const DELETE_MANIFEST = `
redis.call('SET', KEYS[1], '', 'PX', ARGV[2])
for _, tag in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local key = ARGV[3] .. tag
  if redis.call('GET', key) == ARGV[1] then
    redis.call('SET', key, '', 'PX', ARGV[2])
    redis.call('SREM', KEYS[2], tag)
  end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

interface Scripts {
  registryFillTag(
    tag: string,
    set: string,
    manifest: string,
    digest: string,
    ttl: number,
    name: string,
  ): Promise<number>;
  registryWriteTag(tag: string, set: string, digest: string, ttl: number, name: string): Promise<number>;
  registryDeleteManifest(
    manifest: string,
    set: string,
    digest: string,
    ttl: number,
    tagPrefix: string,
    channel: string,
    message: string,
  ): Promise<number>;
}

const ALL = '*';

export class RedisMetadataCache implements MetadataCache {
  private readonly client: Redis & Scripts;
  private readonly subscriber: Redis;
  private readonly log: Logger;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly tagTtl: number;
  private readonly entryTtl: number;
  private readonly tombstoneTtl: number;
  private readonly localSize: number;
  private readonly localTtl: number;
  private readonly maxPending: number;

  private local: LruCache<string, LocalCopy>;
  /** Subscribed to the invalidation channel: in-process copies may be kept and used. */
  private localUsable = false;
  /** Bumped on every manifest invalidation: a copy read before one is not kept after it. */
  private epoch = 0;
  /** Connected, and nothing left to replay: Redis may be read and written. */
  private usable = false;
  /** The outage was announced and the recovery not yet. */
  private outage = false;
  private readonly pending = new Map<string, Invalidation>();
  private overflowed = false;
  private recovering: Promise<void> | undefined;
  private closed = false;

  constructor(options: RedisMetadataCacheOptions) {
    this.log = options.log;
    this.prefix = options.prefix ?? 'registry:';
    this.channel = `${this.prefix}invalidate`;
    this.tagTtl = options.tagTtlMs ?? 300_000;
    this.entryTtl = options.entryTtlMs ?? 3_600_000;
    this.tombstoneTtl = options.tombstoneTtlMs ?? 30_000;
    this.localSize = options.localManifests ?? 1000;
    this.localTtl = options.localTtlMs ?? 300_000;
    this.maxPending = options.maxPendingInvalidations ?? 10_000;
    this.local = new LruCache(Math.max(1, this.localSize));
    const commandTimeout = options.commandTimeoutMs ?? 250;
    const redisOptions: RedisOptions = {
      // Fail fast rather than wait: nothing is queued while disconnected, nothing retried.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      commandTimeout,
      connectTimeout: Math.max(1000, 4 * commandTimeout),
      // Reconnect forever, backing off to one attempt every 2 s.
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 2000),
    };
    const client = new Redis(options.url, redisOptions);
    client.defineCommand('registryFillTag', { numberOfKeys: 3, lua: FILL_TAG });
    client.defineCommand('registryWriteTag', { numberOfKeys: 2, lua: WRITE_TAG });
    client.defineCommand('registryDeleteManifest', { numberOfKeys: 2, lua: DELETE_MANIFEST });
    this.client = client as Redis & Scripts;
    client.on('ready', () => this.connected());
    client.on('error', (error: Error) => this.down(error));
    client.on('close', () => this.down(new Error('connection to redis closed')));

    this.subscriber = new Redis(options.url, redisOptions);
    this.subscriber.on('ready', () => this.subscribe());
    this.subscriber.on('error', () => this.forgetLocal());
    this.subscriber.on('close', () => this.forgetLocal());
    this.subscriber.on('message', (_channel: string, message: string) => this.heard(message));
  }

  async getTag(repository: string, tag: string): Promise<string | undefined> {
    const found = await this.run((r) => r.get(this.tagKey(repository, tag)));
    return found.ok && found.value ? found.value : undefined;
  }

  async setTag(repository: string, tag: string, digest: string, how: CacheWrite = 'fill'): Promise<void> {
    const key = this.tagKey(repository, tag);
    const set = this.tagSetKey(repository);
    if (how === 'fill') {
      const manifest = this.manifestKey(repository, digest);
      await this.run((r) => r.registryFillTag(key, set, manifest, digest, this.tagTtl, tag));
      return;
    }
    const written = await this.run((r) => r.registryWriteTag(key, set, digest, this.tagTtl, tag));
    // Unwritten, the old digest may still be there: it must go when Redis is back.
    if (!written.ok) this.remember({ kind: 'key', key });
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    await this.invalidate({ kind: 'key', key: this.tagKey(repository, tag) });
  }

  async getManifest(repository: string, digest: string): Promise<CachedManifest | undefined> {
    const id = `${repository}@${digest}`;
    if (this.localUsable) {
      const copy = this.local.get(id);
      if (copy && Date.now() - copy.at < this.localTtl) return copy.manifest;
    }
    const epoch = this.epoch;
    const found = await this.run((r) => r.getBuffer(this.manifestKey(repository, digest)));
    const manifest = found.ok && found.value ? decodeManifest(found.value, digest) : undefined;
    if (manifest) this.keepLocal(id, manifest, epoch);
    return manifest;
  }

  async setManifest(repository: string, manifest: CachedManifest, how: CacheWrite = 'fill'): Promise<void> {
    const { digest } = manifest.record;
    const key = this.manifestKey(repository, digest);
    const value = encodeManifest(manifest);
    const epoch = this.epoch;
    const stored = await this.run((r) =>
      how === 'fill' ? r.set(key, value, 'PX', this.entryTtl, 'NX') : r.set(key, value, 'PX', this.entryTtl),
    );
    // A failed write needs no replay: the bytes of a digest never change.
    if (stored.ok && stored.value === 'OK') this.keepLocal(`${repository}@${digest}`, manifest, epoch);
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    this.local.delete(`${repository}@${digest}`);
    this.epoch++;
    await this.invalidate({ kind: 'manifest', repository, digest });
  }

  async getBlobSize(repository: string, digest: string): Promise<number | undefined> {
    const found = await this.run((r) => r.get(this.blobKey(repository, digest)));
    if (!found.ok || !found.value) return undefined;
    const size = Number(found.value);
    return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  }

  async setBlobSize(
    repository: string,
    digest: string,
    size: number,
    how: CacheWrite = 'fill',
  ): Promise<void> {
    const key = this.blobKey(repository, digest);
    await this.run((r) =>
      how === 'fill' ? r.set(key, size, 'PX', this.entryTtl, 'NX') : r.set(key, size, 'PX', this.entryTtl),
    );
  }

  async deleteBlob(repository: string, digest: string): Promise<void> {
    await this.invalidate({ kind: 'key', key: this.blobKey(repository, digest) });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.usable = false;
    this.localUsable = false;
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  private tagKey(repository: string, tag: string): string {
    return `${this.tagPrefix(repository)}${tag}`;
  }
  private tagPrefix(repository: string): string {
    return `${this.prefix}tag:{${repository}}:`;
  }
  private tagSetKey(repository: string): string {
    return `${this.prefix}tags:{${repository}}`;
  }
  private manifestKey(repository: string, digest: string): string {
    return `${this.prefix}manifest:{${repository}}:${digest}`;
  }
  private blobKey(repository: string, digest: string): string {
    return `${this.prefix}blob:{${repository}}:${digest}`;
  }

  /** Runs a command if Redis is usable; a failure (or an unusable Redis) is an outcome, not an error. */
  private async run<T>(command: (redis: Redis & Scripts) => Promise<T>): Promise<Outcome<T>> {
    if (!this.usable) return { ok: false };
    try {
      return { ok: true, value: await command(this.client) };
    } catch (error) {
      this.failed(error as Error);
      return { ok: false };
    }
  }

  private async invalidate(invalidation: Invalidation): Promise<void> {
    const done = await this.run(() => this.apply(invalidation));
    if (!done.ok) this.remember(invalidation);
  }

  private async apply(invalidation: Invalidation): Promise<void> {
    if (invalidation.kind === 'key') {
      await this.client.set(invalidation.key, '', 'PX', this.tombstoneTtl);
      return;
    }
    const { repository, digest } = invalidation;
    await this.client.registryDeleteManifest(
      this.manifestKey(repository, digest),
      this.tagSetKey(repository),
      digest,
      this.tombstoneTtl,
      this.tagPrefix(repository),
      this.channel,
      `${repository}@${digest}`,
    );
  }

  private remember(invalidation: Invalidation): void {
    if (this.closed || this.overflowed) return;
    const id =
      invalidation.kind === 'key' ? invalidation.key : `${invalidation.repository}@${invalidation.digest}`;
    if (!this.pending.has(id) && this.pending.size >= this.maxPending) {
      this.overflowed = true;
      this.pending.clear();
      return;
    }
    // Re-set, not kept: if an older copy is being replayed right now, this one must still follow.
    this.pending.delete(id);
    this.pending.set(id, invalidation);
  }

  private failed(error: Error): void {
    this.down(error);
    // Timed out on a live connection: drop it, so that the next commands fail at once instead of
    // each waiting out its timeout, and the replay runs when Redis answers again.
    if (this.client.status === 'ready') this.client.disconnect(true);
  }

  private down(error: Error): void {
    if (this.closed) return;
    this.usable = false;
    if (this.outage) return;
    this.outage = true;
    this.log.warn(
      { err: error },
      'redis unreachable: metadata cache bypassed, serving from the database until it is back',
    );
  }

  private connected(): void {
    if (this.closed) return;
    this.recovering ??= this.recover().finally(() => {
      this.recovering = undefined;
      // Became ready again while the previous replay was failing: replay on this connection.
      if (!this.usable && !this.closed && this.client.status === 'ready') this.connected();
    });
  }

  /** Replays what could not reach Redis, then uses it again. */
  private async recover(): Promise<void> {
    try {
      if (this.overflowed) {
        this.overflowed = false;
        await this.flush().catch((error: unknown) => {
          this.overflowed = true;
          throw error;
        });
      }
      while (this.pending.size > 0) {
        const batch = [...this.pending.entries()].slice(0, 200);
        await Promise.all(batch.map(([, invalidation]) => this.apply(invalidation)));
        for (const [id, invalidation] of batch) {
          if (this.pending.get(id) === invalidation) this.pending.delete(id);
        }
      }
    } catch (error) {
      this.failed(error as Error);
      return;
    }
    // Nothing pending, and nothing can be added before this line: the cache is consistent again.
    this.usable = true;
    if (this.outage) {
      this.outage = false;
      this.log.info('redis reachable again: metadata cache back in use');
    }
  }

  /** Removes every key of the namespace and tells every process to forget its copies. */
  private async flush(): Promise<void> {
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.client.publish(this.channel, ALL);
    this.log.info('redis metadata cache flushed: too many invalidations were missed while unreachable');
  }

  private subscribe(): void {
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (!this.closed && this.subscriber.status === 'ready') this.localUsable = true;
      },
      () => this.forgetLocal(),
    );
  }

  /** Unsubscribed: announcements may be missed, so no copy can be trusted or kept. */
  private forgetLocal(): void {
    this.localUsable = false;
    this.epoch++;
    this.local = new LruCache(Math.max(1, this.localSize));
  }

  private heard(message: string): void {
    this.epoch++;
    if (message === ALL) this.local = new LruCache(Math.max(1, this.localSize));
    else this.local.delete(message);
  }

  private keepLocal(id: string, manifest: CachedManifest, epoch: number): void {
    // Not if an invalidation was heard since the value was read: it may be the one that removed it.
    if (this.localSize === 0 || !this.localUsable || epoch !== this.epoch) return;
    this.local.set(id, { manifest, at: Date.now() });
  }
}

function encodeManifest(manifest: CachedManifest): Buffer {
  const record = Buffer.from(JSON.stringify(manifest.record));
  const value = Buffer.allocUnsafe(4 + record.length + manifest.bytes.byteLength);
  value.writeUInt32BE(record.length, 0);
  record.copy(value, 4);
  value.set(manifest.bytes, 4 + record.length);
  return value;
}

/** The cached manifest, or undefined for a tombstone or anything unreadable. */
function decodeManifest(value: Buffer, digest: string): CachedManifest | undefined {
  if (value.length < 4) return undefined;
  const length = value.readUInt32BE(0);
  if (4 + length > value.length) return undefined;
  let record: ManifestRecord;
  try {
    record = JSON.parse(value.toString('utf8', 4, 4 + length)) as ManifestRecord;
  } catch {
    return undefined;
  }
  if (record.digest !== digest) return undefined;
  return { record, bytes: new Uint8Array(value.subarray(4 + length)) };
}
