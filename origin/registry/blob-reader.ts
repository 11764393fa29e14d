// Where a blob GET's bytes come from: a presigned storage URL (redirect), the disk cache (HIT),
// or the storage backend, written into the disk cache on the way (MISS). Concurrent misses of
// one blob read the backend once: the others wait for the fill and are served from disk.
// Local files (disk cache, filesystem store) go out through reused buffers (file-sender.ts).
import type { FileHandle } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { BlobStore, ByteRange } from '../storage/blob-store.ts';
import type { DiskCache } from '../storage/disk-cache.ts';
import { sendFile } from '../storage/file-sender.ts';

export type CacheResult = 'HIT' | 'MISS';

export type BlobSource =
  /** `send` writes the blob (or the range) to `out` without ending it. */
  | { kind: 'body'; send: (out: Writable) => Promise<void>; cache: CacheResult | undefined }
  | { kind: 'redirect'; url: string }
  | { kind: 'missing' };

export interface BlobReaderOptions {
  readonly store: BlobStore;
  readonly disk: DiskCache | undefined;
  /** Seconds a redirect URL stays valid; undefined: blobs are streamed, never redirected. */
  readonly redirectExpiry: number | undefined;
  /** Names the backend in log lines ("S3", "storage"). */
  readonly backendName: string;
  readonly log: Logger;
  /** Absent where nothing is exported (a CLI command). */
  readonly metrics?: Metrics | undefined;
}

export class BlobReader {
  private readonly options: BlobReaderOptions;

  constructor(options: BlobReaderOptions) {
    this.options = options;
  }

  /** `range` is the part to send; `size` the whole blob's. */
  async open(digest: string, size: number, range: ByteRange | undefined): Promise<BlobSource> {
    const { store, disk, redirectExpiry } = this.options;
    const whole = range ?? { start: 0, end: size - 1 };
    if (redirectExpiry !== undefined) {
      const url = await store.urlFor(digest, redirectExpiry);
      if (url) return { kind: 'redirect', url };
    }
    if (!disk) {
      const file = await store.openFile?.(digest);
      if (file) return fromFile(file, whole, undefined);
      return fromStream(await store.read(digest, range), undefined);
    }

    const cached = await disk.openFile(digest);
    if (cached) return this.hit(digest, cached, whole);
    // Checked and claimed with no await in between, so that concurrent misses make one fill.
    const pending = disk.pending(digest);
    if (pending) {
      const filled = (await pending) ? await disk.openFile(digest) : null;
      if (filled) return this.hit(digest, filled, whole);
    }
    if (size > disk.maxBytes || pending) {
      this.record(digest, 'MISS', `fetched from ${this.options.backendName}, not cached`);
      return fromStream(await store.read(digest, range), 'MISS');
    }
    this.record(digest, 'MISS', `fetched from ${this.options.backendName}, cached`);
    if (range) {
      // Serve the range straight from the backend; bring the whole blob to disk meanwhile.
      disk.fill(digest, size, () => store.read(digest));
      return fromStream(await store.read(digest, range), 'MISS');
    }
    return fromStream(await disk.fillThrough(digest, size, () => store.read(digest)), 'MISS');
  }

  /** Removes a blob that left storage from the disk cache. */
  async forget(digest: string): Promise<void> {
    await this.options.disk?.delete(digest);
  }

  private hit(digest: string, file: FileHandle, range: ByteRange): BlobSource {
    this.record(digest, 'HIT', 'served from disk');
    return fromFile(file, range, 'HIT');
  }

  private record(digest: string, result: CacheResult, how: string): void {
    this.options.metrics?.blobCache.inc({ result: result.toLowerCase() });
    this.options.log.info({ digest, cache: result }, `cache ${result} for layer ${digest} (${how})`);
  }
}

function fromFile(file: FileHandle, range: ByteRange, cache: CacheResult | undefined): BlobSource {
  return {
    kind: 'body',
    cache,
    send: async (out) => {
      try {
        await sendFile(file, range, out);
      } finally {
        await file.close();
      }
    },
  };
}

function fromStream(stream: Readable | null, cache: CacheResult | undefined): BlobSource {
  if (!stream) return { kind: 'missing' };
  return { kind: 'body', cache, send: (out) => pipeline(stream, out, { end: false }) };
}
