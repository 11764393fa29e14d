// Manifest metadata in front of the database: tag -> digest, manifest record and bytes, and a
// repository's blob sizes. Callers invalidate on every write. This in-process implementation
// serves a single origin process; a shared (Redis) implementation of the same interface serves many.
import type { ManifestRecord } from '../metadata/manifests.ts';
import { LruCache } from './lru.ts';

export interface CachedManifest {
  readonly record: ManifestRecord;
  readonly bytes: Uint8Array;
}

export interface MetadataCache {
  getTag(repository: string, tag: string): Promise<string | undefined>;
  setTag(repository: string, tag: string, digest: string): Promise<void>;
  deleteTag(repository: string, tag: string): Promise<void>;
  getManifest(repository: string, digest: string): Promise<CachedManifest | undefined>;
  setManifest(repository: string, manifest: CachedManifest): Promise<void>;
  /** Forgets the manifest and every tag of the repository (tags pointing to it went with it). */
  deleteManifest(repository: string, digest: string): Promise<void>;
  getBlobSize(repository: string, digest: string): Promise<number | undefined>;
  setBlobSize(repository: string, digest: string, size: number): Promise<void>;
  deleteBlob(repository: string, digest: string): Promise<void>;
}

const key = (repository: string, item: string): string => `${repository}\0${item}`;

export class InMemoryMetadataCache implements MetadataCache {
  private readonly tags = new LruCache<string, string>(10_000);
  private readonly manifests = new LruCache<string, CachedManifest>(2_000);
  private readonly blobs = new LruCache<string, number>(50_000);

  async getTag(repository: string, tag: string) {
    return this.tags.get(key(repository, tag));
  }
  async setTag(repository: string, tag: string, digest: string) {
    this.tags.set(key(repository, tag), digest);
  }
  async deleteTag(repository: string, tag: string) {
    this.tags.delete(key(repository, tag));
  }
  async getManifest(repository: string, digest: string) {
    return this.manifests.get(key(repository, digest));
  }
  async setManifest(repository: string, manifest: CachedManifest) {
    this.manifests.set(key(repository, manifest.record.digest), manifest);
  }
  async deleteManifest(repository: string, digest: string) {
    this.manifests.delete(key(repository, digest));
    const prefix = key(repository, '');
    this.tags.deleteWhere((k) => k.startsWith(prefix));
  }
  async getBlobSize(repository: string, digest: string) {
    return this.blobs.get(key(repository, digest));
  }
  async setBlobSize(repository: string, digest: string, size: number) {
    this.blobs.set(key(repository, digest), size);
  }
  async deleteBlob(repository: string, digest: string) {
    this.blobs.delete(key(repository, digest));
  }
}
