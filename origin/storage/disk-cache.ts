// A bounded least-recently-used cache of whole blobs on local disk, in front of the storage
// backend, so that a hot layer is served from disk instead of S3. Files are named by digest
// (blobs are immutable, so an entry never goes stale); a blob is written under a temporary name
// and renamed into place only once complete, so a reader never sees a partial file.
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';

const READ_CHUNK = 1024 * 1024;
const PARTIAL = '.partial';

export class DiskCache {
  /** digest -> size, in least-recently-used-first order (a hit re-inserts). */
  private readonly entries = new Map<string, number>();
  /** Blobs being written into the cache, so that concurrent misses wait for one fill. */
  private readonly fills = new Map<string, Promise<boolean>>();
  private total = 0;
  readonly dir: string;
  readonly maxBytes: number;

  private constructor(dir: string, maxBytes: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** Opens the cache directory, indexing what a previous run left (oldest access first). */
  static async open(dir: string, maxBytes: number): Promise<DiskCache> {
    const cache = new DiskCache(path.resolve(dir), maxBytes);
    await mkdir(cache.dir, { recursive: true });
    const found: { digest: string; size: number; used: number }[] = [];
    for (const name of await readdir(cache.dir)) {
      const file = path.join(cache.dir, name);
      if (name.endsWith(PARTIAL)) {
        await rm(file, { force: true });
        continue;
      }
      const digest = name.replace('-', ':');
      const info = await stat(file);
      found.push({ digest, size: info.size, used: Math.max(info.atimeMs, info.mtimeMs) });
    }
    found.sort((a, b) => a.used - b.used);
    for (const entry of found) cache.remember(entry.digest, entry.size);
    await cache.evict();
    return cache;
  }

  get bytes(): number {
    return this.total;
  }

  private file(digest: string): string {
    return path.join(this.dir, digest.replace(':', '-'));
  }

  /** The cached blob's file, opened for reading (the caller closes it), or null when it is not on disk. */
  async openFile(digest: string): Promise<FileHandle | null> {
    const size = this.entries.get(digest);
    if (size === undefined) return null;
    let handle: FileHandle;
    try {
      handle = await open(this.file(digest), 'r');
    } catch {
      this.forget(digest);
      return null;
    }
    this.entries.delete(digest);
    this.entries.set(digest, size);
    return handle;
  }

  /** The fill of this blob in progress, if any: resolves true once it is on disk. */
  pending(digest: string): Promise<boolean> | undefined {
    return this.fills.get(digest);
  }

  /**
   * Streams the whole blob from `load` to the caller while writing it into the cache; null when
   * `load` finds nothing. The fill is registered before `load` starts, so that concurrent misses
   * wait for it instead of reading the backend again. It goes on if the caller stops reading, and
   * is abandoned if the source fails.
   */
  async fillThrough(
    digest: string,
    size: number,
    load: () => Promise<Readable | null>,
  ): Promise<Readable | null> {
    let settle: (filled: boolean) => void = () => {};
    const done = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    this.fills.set(digest, done);
    void done.finally(() => {
      if (this.fills.get(digest) === done) this.fills.delete(digest);
    });
    let source: Readable | null;
    try {
      source = await load();
    } catch (error) {
      settle(false);
      throw error;
    }
    if (!source) {
      settle(false);
      return null;
    }
    const client = new PassThrough({ highWaterMark: READ_CHUNK });
    const temporary = `${this.file(digest)}.${process.pid}.${Math.random().toString(36).slice(2)}${PARTIAL}`;
    const file = createWriteStream(temporary, { highWaterMark: READ_CHUNK });
    let failed = false;
    const fail = () => {
      if (failed) return;
      failed = true;
      file.destroy();
      void rm(temporary, { force: true }).then(() => settle(false));
    };
    source.once('error', (error) => {
      client.destroy(error);
      fail();
    });
    file.once('error', fail);
    file.once('finish', () => {
      if (failed || file.bytesWritten !== size) return fail();
      void rename(temporary, this.file(digest))
        .then(async () => {
          this.remember(digest, size);
          await this.evict(digest);
          settle(true);
        })
        .catch(fail);
    });
    source.pipe(file);
    source.pipe(client);
    return client;
  }

  /** Fills the cache from `load` in the background (for range requests that missed). */
  fill(digest: string, size: number, load: () => Promise<Readable | null>): void {
    if (this.fills.has(digest)) return;
    void this.fillThrough(digest, size, load).then(
      (sink) => sink?.resume(),
      () => {},
    );
  }

  /** Removes a blob (deleted from storage) from the cache. */
  async delete(digest: string): Promise<void> {
    this.forget(digest);
    await rm(this.file(digest), { force: true });
  }

  private remember(digest: string, size: number): void {
    this.forget(digest);
    this.entries.set(digest, size);
    this.total += size;
  }

  private forget(digest: string): void {
    const size = this.entries.get(digest);
    if (size === undefined) return;
    this.entries.delete(digest);
    this.total -= size;
  }

  // Open readers keep reading an evicted file: unlinking does not disturb them.
  private async evict(keep?: string): Promise<void> {
    for (const [digest] of this.entries) {
      if (this.total <= this.maxBytes) break;
      if (digest === keep) continue;
      await this.delete(digest);
    }
  }
}
