// Blobs as a repository sees them: whether (and how large) a blob is visible there, its bytes
// (through the BlobReader), unlinking it, and GC's removal of a blob nothing references. The
// metadata cache and the disk cache are kept in step here, so no caller can forget them.
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import type { MetadataCache } from '../cache/metadata-cache.ts';
import { findRepositoryBlob, unlinkBlob } from '../metadata/blobs.ts';
import type { Database } from '../metadata/database.ts';
import {
  type BlobCandidate,
  blobReferenced,
  deleteBlobRecord,
  lockBlobForRemoval,
} from '../metadata/garbage.ts';
import { tagsReaching } from '../metadata/manifests.ts';
import { type ImmutableTags, immutableTagDenied } from '../policy/immutable-tags.ts';
import type { BlobStore, ByteRange } from '../storage/blob-store.ts';
import type { BlobReader, BlobSource } from './blob-reader.ts';
import type { Actor, DomainEvents, RegistryEvent } from './events.ts';
import type { RemovalOutcome } from './manifests.ts';

export interface BlobsDependencies {
  readonly db: Database;
  readonly store: BlobStore;
  readonly cache: MetadataCache;
  readonly reader: BlobReader;
  readonly immutableTags: ImmutableTags;
  readonly events: DomainEvents;
}

export class Blobs {
  private readonly d: BlobsDependencies;

  constructor(dependencies: BlobsDependencies) {
    this.d = dependencies;
  }

  /** The blob's size, when the repository may see it. */
  async size(repository: string, digest: string): Promise<Result<number>> {
    const cached = await this.d.cache.getBlobSize(repository, digest);
    if (cached !== undefined) return ok(cached);
    const blob = await findRepositoryBlob(this.d.db, repository, digest);
    if (!blob) return fail(ociError('BLOB_UNKNOWN', { detail: { digest } }));
    await this.d.cache.setBlobSize(repository, digest, blob.size);
    return ok(blob.size);
  }

  /**
   * A small blob's bytes (an image config, for the console), when the repository may see it and
   * it is no larger than `limit`: a page must not read a layer into memory.
   */
  async content(repository: string, digest: string, limit: number): Promise<Uint8Array | null> {
    const size = await this.size(repository, digest);
    if (!size.ok || size.value > limit) return null;
    const stream = await this.d.store.read(digest);
    if (!stream) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** Where the bytes come from: `range` is the part to send, `size` the whole blob's. */
  open(digest: string, size: number, range: ByteRange | undefined): Promise<BlobSource> {
    return this.d.reader.open(digest, size, range);
  }

  /**
   * Removes the blob from the repository (its bytes stay for GC), unless an immutable tag reaches
   * it (through the manifests referencing it): that image must stay pullable.
   */
  async unlink(repository: string, digest: string, actor: Actor): Promise<Result<void>> {
    const event: RegistryEvent = { type: 'blob-delete', repository, digest, actor };
    const outcome = await this.d.db.transaction(async (tx) => {
      const guard = await this.d.immutableTags.guard(tx, repository);
      for (const { tag, index } of await tagsReaching(tx, repository, digest, 'blob')) {
        const rule = guard.protecting(tag);
        if (rule) return immutableTagDenied(repository, tag, index, rule.prefix, digest);
      }
      const unlinked = await unlinkBlob(tx, repository, digest);
      if (unlinked) await this.d.events.record(tx, event);
      return unlinked;
    });
    if (typeof outcome !== 'boolean') return fail(outcome);
    await this.d.cache.deleteBlob(repository, digest);
    if (!outcome) return fail(ociError('BLOB_UNKNOWN', { detail: { digest } }));
    this.d.events.committed([event]);
    return ok(undefined);
  }

  /**
   * GC's removal of a blob no manifest references, last linked before `cutoff` (ms): bytes, then
   * its rows, in one transaction that holds the blob row (see "Garbage collection" in
   * docs/architecture.md); then the caches.
   */
  async removeUnreferenced(blob: BlobCandidate, cutoff: number): Promise<RemovalOutcome> {
    const removed = await this.d.db.transaction(async (tx) => {
      // Not locked: removed meanwhile, linked again (young), or held by a push that is using it.
      if (!(await lockBlobForRemoval(tx, blob.digest, cutoff))) return null;
      if (await blobReferenced(tx, blob.digest)) return null;
      await this.d.store.delete(blob.digest);
      return deleteBlobRecord(tx, blob.digest);
    });
    if (removed === null) return 'kept';
    for (const repository of removed) await this.d.cache.deleteBlob(repository, blob.digest);
    await this.d.reader.forget(blob.digest);
    return 'removed';
  }
}
