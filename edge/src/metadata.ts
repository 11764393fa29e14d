// Small, short-lived facts the edge keeps: tag → digest mappings, pull decisions, link checks,
// blob sizes, origin's signing keys. Values carry the time origin vouched for them; callers
// decide freshness from that, and the store keeps an entry for as long as it may still stand in
// (TTL plus the stale allowance). Behind an interface (KV would do as well); the implementation
// here is the Cache API, with a small in-isolate copy in front so that the requests of one pull
// do not each go to the cache.
import type { Clock } from '../../shared/clock.ts';

export interface MetadataStore {
  get<T>(key: string): Promise<T | undefined>;
  /**
   * The data centre's value, not the isolate's copy: for a fact another isolate may have just
   * changed, whose change must be seen at once (a repository's generation, generation.ts).
   */
  getShared<T>(key: string): Promise<T | undefined>;
  /** Keeps `value` for `retainMs` (then it is gone). */
  put(key: string, value: unknown, retainMs: number): Promise<void>;
  delete(key: string): Promise<void>;
}

interface Remembered {
  readonly value: unknown;
  readonly expires: number;
}

/** The in-isolate copy: bounded, least recently used out first. */
class MemoryTier {
  private readonly entries = new Map<string, Remembered>();
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get(key: string, now: number): Remembered | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expires <= now) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  set(key: string, entry: Remembered): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.limit) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

const memory = new MemoryTier(10_000);

export class CacheApiMetadataStore implements MetadataStore {
  private readonly cache: Cache;
  private readonly base: string;
  private readonly clock: Clock;

  constructor(cache: Cache, base: string, clock: Clock) {
    this.cache = cache;
    this.base = `${base}/.edge-meta/v1/`;
    this.clock = clock;
  }

  private request(key: string): Request {
    return new Request(this.base + encodeURIComponent(key));
  }

  async get<T>(key: string): Promise<T | undefined> {
    const now = this.clock.now();
    const remembered = memory.get(key, now);
    if (remembered) return remembered.value as T;
    const stored = await this.stored(key, now);
    if (!stored) return undefined;
    memory.set(key, stored);
    return stored.value as T;
  }

  async getShared<T>(key: string): Promise<T | undefined> {
    return (await this.stored(key, this.clock.now()))?.value as T | undefined;
  }

  private async stored(key: string, now: number): Promise<Remembered | undefined> {
    const response = await this.cache.match(this.request(key));
    if (!response) return undefined;
    const stored = (await response.json()) as Remembered;
    return stored.expires <= now ? undefined : stored;
  }

  async put(key: string, value: unknown, retainMs: number): Promise<void> {
    const entry: Remembered = { value, expires: this.clock.now() + retainMs };
    memory.set(key, entry);
    await this.cache.put(
      this.request(key),
      new Response(JSON.stringify(entry), {
        headers: {
          'Content-Type': 'application/json',
          'Cache-Control': `max-age=${Math.max(1, Math.ceil(retainMs / 1000))}`,
        },
      }),
    );
  }

  async delete(key: string): Promise<void> {
    memory.delete(key);
    await this.cache.delete(this.request(key));
  }
}
