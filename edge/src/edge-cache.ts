// Where blob chunks and manifest bytes are kept: content addressed, so immutable. Behind an
// interface because production may want the zone cache, Tiered Cache or R2 instead; the
// implementation here is the Cache API (caches.default: per data centre, LRU evicted).
import { sliceStream } from './streams.ts';

export interface ByteSpan {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive. */
  readonly end: number;
}

export interface CachedEntry {
  readonly body: ReadableStream<Uint8Array>;
  readonly contentType: string | null;
}

export interface EdgeCache {
  /** The entry (or the bytes `range` of it); undefined when it is not cached. */
  get(key: string, range?: ByteSpan): Promise<CachedEntry | undefined>;
  /**
   * Stores `length` bytes under `key`. A stream body must enforce its length (a FixedLengthStream's
   * readable): one that ends short, runs long or fails then stores nothing, and the promise rejects.
   */
  put(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
    contentType?: string,
  ): Promise<void>;
  delete(key: string): Promise<void>;
}

const ONE_YEAR = 31_536_000;

export class CacheApiEdgeCache implements EdgeCache {
  private readonly cache: Cache;
  private readonly base: string;

  /** `base`: an origin of the Worker's zone (Cache API keys are URLs; they never reach a network). */
  constructor(cache: Cache, base: string) {
    this.cache = cache;
    this.base = `${base}/.edge-cache/v1/`;
  }

  async get(key: string, range?: ByteSpan): Promise<CachedEntry | undefined> {
    const headers = range ? { Range: `bytes=${range.start}-${range.end}` } : undefined;
    const response = await this.cache.match(new Request(this.base + key, { headers }));
    if (!response?.body) return undefined;
    const contentType = response.headers.get('content-type');
    if (!range || response.status === 206) return { body: response.body, contentType };
    if (response.status !== 200) {
      // 416: the entry is shorter than it should be; treat it as absent.
      await response.body.cancel();
      return undefined;
    }
    // A cache that ignores Range answers the whole entry: cut the range out of it.
    return { body: sliceStream(response.body, range.start, range.end - range.start + 1), contentType };
  }

  async put(
    key: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    length: number,
    contentType = 'application/octet-stream',
  ): Promise<void> {
    const response = new Response(body, {
      headers: {
        'Content-Type': contentType,
        'Content-Length': String(length),
        'Cache-Control': `public, max-age=${ONE_YEAR}, immutable`,
      },
    });
    await this.cache.put(new Request(this.base + key), response);
  }

  async delete(key: string): Promise<void> {
    await this.cache.delete(new Request(this.base + key));
  }
}
