// Manifest operations over metadata, blob store and cache: get, put (validated, with its
// references checked and tag moved in one transaction), delete, referrers.
import { digestOf, parseDigest } from '../../shared/digest.ts';
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import { type Manifest, manifestReferences, parseManifest } from '../../shared/manifest.ts';
import { MediaType } from '../../shared/media-types.ts';
import { parseReference } from '../../shared/reference.ts';
import type { CachedManifest, MetadataCache } from '../cache/metadata-cache.ts';
import { visibleBlobs } from '../metadata/blobs.ts';
import type { Database } from '../metadata/database.ts';
import {
  deleteManifest,
  deleteTag,
  existingManifests,
  findManifest,
  findTaggedManifest,
  listReferrers,
  type ManifestRecord,
  putManifest,
} from '../metadata/manifests.ts';
import { ensureRepository } from '../metadata/repositories.ts';
import { forgetDeletedManifest, lockManifestDigest, recordDeletedManifest } from '../metadata/tombstones.ts';
import type { BlobStore } from '../storage/blob-store.ts';

export interface PutResult {
  readonly digest: string;
  /** What was stored, parsed. */
  readonly manifest: Manifest;
}

export class Manifests {
  private readonly db: Database;
  private readonly store: BlobStore;
  private readonly cache: MetadataCache;

  constructor(db: Database, store: BlobStore, cache: MetadataCache) {
    this.db = db;
    this.store = store;
    this.cache = cache;
  }

  async get(repository: string, reference: string): Promise<Result<CachedManifest>> {
    const ref = parseReference(reference);
    if (!ref) return fail(invalidReference(reference));
    let digest = ref.kind === 'digest' ? ref.digest : await this.cache.getTag(repository, ref.tag);
    if (digest) {
      const cached = await this.cache.getManifest(repository, digest);
      if (cached) return ok(cached);
    }
    const record =
      ref.kind === 'digest'
        ? await findManifest(this.db, repository, ref.digest)
        : await findTaggedManifest(this.db, repository, ref.tag);
    if (!record) return fail(ociError('MANIFEST_UNKNOWN', { detail: { name: repository, reference } }));
    digest = record.digest;
    const bytes = await this.store.getManifest(repository, digest);
    if (!bytes) return fail(ociError('MANIFEST_UNKNOWN', { detail: { name: repository, reference } }));
    const manifest = { record, bytes };
    await this.cache.setManifest(repository, manifest);
    if (ref.kind === 'tag') await this.cache.setTag(repository, ref.tag, digest);
    return ok(manifest);
  }

  async put(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType: string | undefined,
  ): Promise<Result<PutResult>> {
    const ref = parseReference(reference);
    if (!ref) return fail(invalidReference(reference));
    const parsed = parseManifest(bytes, contentType);
    if (!parsed.ok) return parsed;
    const manifest = parsed.value;

    let digest = await digestOf(bytes, 'sha256');
    if (ref.kind === 'digest') {
      const wanted = parseDigest(ref.digest);
      if (wanted.ok && wanted.digest.algorithm !== 'sha256')
        digest = await digestOf(bytes, wanted.digest.algorithm);
      if (digest !== ref.digest) {
        return fail(
          ociError('DIGEST_INVALID', {
            message: 'manifest digest does not match the reference',
            detail: { expected: ref.digest, actual: digest },
          }),
        );
      }
    }
    const record: ManifestRecord = {
      digest,
      mediaType: manifest.mediaType,
      size: bytes.byteLength,
      artifactType: manifest.artifactType,
      configDigest: manifest.kind === 'image-manifest' ? manifest.config.digest : null,
      subjectDigest: manifest.subject?.digest ?? null,
      annotations: manifest.annotations,
    };
    // One transaction, serialised with GC (see "Garbage collection" in docs/architecture.md): the
    // manifest's lock (against GC reclaiming the bytes of a deleted manifest of this digest), then the
    // referenced blob and child manifest rows share-locked while they are checked.
    const references = manifestReferences(manifest);
    const missing = await this.db
      .transaction(async (tx) => {
        await lockManifestDigest(tx, repository, digest);
        const repositoryId = await ensureRepository(tx, repository);
        const blobs = references.filter((r) => r.kind === 'blob').map((r) => r.digest);
        const children = references.filter((r) => r.kind === 'manifest').map((r) => r.digest);
        const seenBlobs = await visibleBlobs(tx, repositoryId, blobs);
        const seenChildren = await existingManifests(tx, repositoryId, children);
        const absent = [
          ...blobs.filter((d) => !seenBlobs.has(d)),
          ...children.filter((d) => !seenChildren.has(d)),
        ];
        // Refused: roll back, so that not even a repository created here is left behind.
        if (absent.length > 0) throw new MissingReferences(absent);
        // Stored again: its bytes stay. Written here, under the lock, as GC may have just removed them.
        await forgetDeletedManifest(tx, repositoryId, digest);
        await this.store.putManifest(repository, digest, bytes);
        await putManifest(tx, repositoryId, record, references, ref.kind === 'tag' ? ref.tag : undefined);
        return [];
      })
      .catch((error: unknown) => {
        if (error instanceof MissingReferences) return error.digests;
        throw error;
      });
    if (missing.length > 0) {
      return fail(
        ociError('MANIFEST_BLOB_UNKNOWN', {
          message: `manifest references ${missing.length === 1 ? 'a blob' : `${missing.length} blobs`} unknown to the repository`,
          detail: { digests: missing },
        }),
      );
    }
    // Committed: replace what the cache holds (the manifest first: whoever finds the tag finds it).
    await this.cache.setManifest(repository, { record, bytes }, 'write');
    if (ref.kind === 'tag') await this.cache.setTag(repository, ref.tag, digest, 'write');
    return ok({ digest, manifest });
  }

  /** By tag: removes the tag. By digest: removes the manifest and every tag pointing to it. */
  async delete(repository: string, reference: string): Promise<Result<void>> {
    const ref = parseReference(reference);
    if (!ref) return fail(invalidReference(reference));
    const unknown = fail<void>(ociError('MANIFEST_UNKNOWN', { detail: { name: repository, reference } }));
    if (ref.kind === 'tag') {
      const removed = await deleteTag(this.db, repository, ref.tag);
      await this.cache.deleteTag(repository, ref.tag);
      return removed === null ? unknown : ok(undefined);
    }
    const removed = await this.db.transaction(async (tx) => {
      await lockManifestDigest(tx, repository, ref.digest);
      const tags = await deleteManifest(tx, repository, ref.digest);
      // Its bytes stay in the store until GC finds no record of it again.
      if (tags !== null) await recordDeletedManifest(tx, repository, ref.digest);
      return tags;
    });
    await this.cache.deleteManifest(repository, ref.digest);
    return removed === null ? unknown : ok(undefined);
  }

  /** An OCI index of the manifests whose subject is `digest`, optionally of one artifact type. */
  async referrers(repository: string, digest: string, artifactType: string | undefined): Promise<string> {
    const records = await listReferrers(this.db, repository, digest, artifactType);
    return JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: records.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    });
  }
}

/** Thrown to roll back the put of a manifest whose references are missing. */
class MissingReferences extends Error {
  readonly digests: string[];
  constructor(digests: string[]) {
    super('manifest references content unknown to the repository');
    this.digests = digests;
  }
}

function invalidReference(reference: string) {
  // `sha1:<hex>` is a digest of an algorithm we lack; `bad:colon` is just not a reference.
  const digest = parseDigest(reference);
  if (!digest.ok && digest.reason === 'unsupported-algorithm' && /:[a-f0-9]{32,}$/.test(reference)) {
    return ociError('UNSUPPORTED', {
      status: 400,
      message: `digest algorithm not supported (sha256 and sha512 are): ${reference}`,
      detail: { reference },
    });
  }
  return ociError('MANIFEST_INVALID', {
    status: 400,
    message: `invalid reference "${reference}": expected a tag or a digest`,
    detail: { reference },
  });
}
