// Manifest metadata in front of the database: tag -> digest, manifest record and bytes, and a
// repository's blob sizes. Callers invalidate on every write. This in-process implementation
// serves a single origin process; the shared one (redis-metadata-cache.ts) serves many.
import type { ManifestRecord } from '../metadata/manifests.ts';
import { LruCache } from './lru.ts';

export interface CachedManifest {
  readonly record: ManifestRecord;
  readonly bytes: Uint8Array;
}

/**
 * How a value reaches the cache. `fill` (the default): read from the database a moment ago, so it
 * may already be outdated; it never replaces a cached value nor revives one just deleted. `write`:
 * the database committed it just now; it replaces whatever is cached.
 */
export type CacheWrite = 'fill' | 'write';

export interface MetadataCache {
  getTag(repository: string, tag: string): Promise<string | undefined>;
  setTag(repository: string, tag: string, digest: string, how?: CacheWrite): Promise<void>;
  deleteTag(repository: string, tag: string): Promise<void>;
  getManifest(repository: string, digest: string): Promise<CachedManifest | undefined>;
  setManifest(repository: string, manifest: CachedManifest, how?: CacheWrite): Promise<void>;
  /** Forgets the manifest and the tags pointing to it (they went with it). */
  deleteManifest(repository: string, digest: string): Promise<void>;
  getBlobSize(repository: string, digest: string): Promise<number | undefined>;
  setBlobSize(repository: string, digest: string, size: number, how?: CacheWrite): Promise<void>;
  deleteBlob(repository: string, digest: string): Promise<void>;
  /** Releases connections (shutdown). */
  close?(): Promise<void>;
}

const key = (repository: string, item: string): string => `${repository}\0${item}`;

// A fill that finds a value keeps it: that value came from a write committed after the fill's read,
// or from an equal read (a missed invalidation cannot happen within one process).
function fill<V>(lru: LruCache<string, V>, k: string, value: V, how: CacheWrite): void {
  if (how === 'write' || lru.get(k) === undefined) lru.set(k, value);
}

export class InMemoryMetadataCache implements MetadataCache {
  private readonly tags = new LruCache<string, string>(10_000);
  private readonly manifests = new LruCache<string, CachedManifest>(2_000);
  private readonly blobs = new LruCache<string, number>(50_000);

  async getTag(repository: string, tag: string) {
    return this.tags.get(key(repository, tag));
  }
  async setTag(repository: string, tag: string, digest: string, how: CacheWrite = 'fill') {
    fill(this.tags, key(repository, tag), digest, how);
  }
  async deleteTag(repository: string, tag: string) {
    this.tags.delete(key(repository, tag));
  }
  async getManifest(repository: string, digest: string) {
    return this.manifests.get(key(repository, digest));
  }
  async setManifest(repository: string, manifest: CachedManifest, how: CacheWrite = 'fill') {
    fill(this.manifests, key(repository, manifest.record.digest), manifest, how);
  }
  async deleteManifest(repository: string, digest: string) {
    this.manifests.delete(key(repository, digest));
    const prefix = key(repository, '');
    this.tags.deleteWhere((k) => k.startsWith(prefix));
  }
  async getBlobSize(repository: string, digest: string) {
    return this.blobs.get(key(repository, digest));
  }
  async setBlobSize(repository: string, digest: string, size: number, how: CacheWrite = 'fill') {
    fill(this.blobs, key(repository, digest), size, how);
  }
  async deleteBlob(repository: string, digest: string) {
    this.blobs.delete(key(repository, digest));
  }
}
