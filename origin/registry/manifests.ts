// Manifest operations over metadata, blob store and cache: get, put (validated, with its
// references checked and tag moved in one transaction), delete, referrers, and GC's removals.
// Every write records its domain events (events.ts) in its own transaction and refreshes the
// cache after it commits, so no writer can forget either. Puts and deletes obey the immutable-tag
// rules in that same transaction (policy/immutable-tags.ts); a put that stores a new manifest is
// charged to the quotas covering its repository there too, last (policy/quotas.ts), and a manifest
// row deleted releases its bytes (metadata/manifests.ts, garbage.ts).
import type { Clock } from '../../shared/clock.ts';
import { digestOf, parseDigest } from '../../shared/digest.ts';
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import {
  type Manifest,
  manifestReferences,
  parseManifest,
  requiredDescriptors,
  scanSubject,
} from '../../shared/manifest.ts';
import { MediaType } from '../../shared/media-types.ts';
import { parseReference } from '../../shared/reference.ts';
import type { CachedManifest, MetadataCache } from '../cache/metadata-cache.ts';
import { visibleBlobs } from '../metadata/blobs.ts';
import type { Database, Queryable } from '../metadata/database.ts';
import {
  deleteManifestRecord,
  isLockBusy,
  listedByIndex,
  lockManifestRowsNowait,
  type ManifestCandidate,
  manifestReachers,
  manifestRecorded,
  takeTombstone,
} from '../metadata/garbage.ts';
import {
  claimTag,
  deleteManifest,
  deleteTag,
  existingManifests,
  findManifest,
  findTaggedManifest,
  listReferrers,
  type ManifestRecord,
  moveTag,
  putManifest,
  tagsReaching,
} from '../metadata/manifests.ts';
import { ensureRepository } from '../metadata/repositories.ts';
import { lockTagForRemoval, manifestPulledAt } from '../metadata/retention.ts';
import {
  forgetDeletedManifest,
  lockManifestDigest,
  recordDeletedManifest,
  tryLockManifestDigest,
} from '../metadata/tombstones.ts';
import { type ImmutableTags, immutableTagDenied } from '../policy/immutable-tags.ts';
import type { Quotas } from '../policy/quotas.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Actor, DomainEvents, RegistryEvent } from './events.ts';

export interface PutResult {
  readonly digest: string;
  /** What was stored, parsed. */
  readonly manifest: Manifest;
}

/** removed; kept (in use or reachable after all); busy (locked by a push); gone (removed meanwhile). */
export type RemovalOutcome = 'removed' | 'kept' | 'busy' | 'gone';

export interface ManifestsDependencies {
  readonly db: Database;
  readonly store: BlobStore;
  readonly cache: MetadataCache;
  readonly events: DomainEvents;
  readonly clock: Clock;
  readonly immutableTags: ImmutableTags;
  readonly quotas: Quotas;
}

export class Manifests {
  private readonly db: Database;
  private readonly store: BlobStore;
  private readonly cache: MetadataCache;
  private readonly events: DomainEvents;
  private readonly clock: Clock;
  private readonly immutableTags: ImmutableTags;
  private readonly quotas: Quotas;

  constructor(dependencies: ManifestsDependencies) {
    this.db = dependencies.db;
    this.store = dependencies.store;
    this.cache = dependencies.cache;
    this.events = dependencies.events;
    this.clock = dependencies.clock;
    this.immutableTags = dependencies.immutableTags;
    this.quotas = dependencies.quotas;
  }

  async get(repository: string, reference: string): Promise<Result<CachedManifest>> {
    const ref = parseReference(reference);
    if (!ref) return fail(unknownManifest(repository, reference));
    let digest = ref.kind === 'digest' ? ref.digest : await this.cache.getTag(repository, ref.tag);
    if (digest) {
      const cached = await this.cache.getManifest(repository, digest);
      if (cached) return ok(cached);
    }
    const record =
      ref.kind === 'digest'
        ? await findManifest(this.db, repository, ref.digest)
        : await findTaggedManifest(this.db, repository, ref.tag);
    if (!record) return fail(unknownManifest(repository, reference));
    digest = record.digest;
    const bytes = await this.store.getManifest(repository, digest);
    if (!bytes) return fail(unknownManifest(repository, reference));
    const manifest = { record, bytes };
    await this.cache.setManifest(repository, manifest);
    if (ref.kind === 'tag') await this.cache.setTag(repository, ref.tag, digest);
    return ok(manifest);
  }

  /** The bytes of a manifest whose record the caller read: from the cache, else the store (then cached). */
  async bytesOf(repository: string, record: ManifestRecord): Promise<Uint8Array | null> {
    const cached = await this.cache.getManifest(repository, record.digest);
    if (cached) return cached.bytes;
    const bytes = await this.store.getManifest(repository, record.digest);
    if (bytes) await this.cache.setManifest(repository, { record, bytes });
    return bytes;
  }

  async put(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType: string | undefined,
    actor: Actor,
  ): Promise<Result<PutResult>> {
    const ref = parseReference(reference);
    if (!ref) return fail(invalidPutReference(reference));
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
    const tag = ref.kind === 'tag' ? ref.tag : null;
    const events: RegistryEvent[] = [];
    // One transaction, serialised with GC (see "Garbage collection" in docs/architecture.md): the
    // manifest's lock (against GC reclaiming the bytes of a deleted manifest of this digest), then the
    // referenced blob and child manifest rows share-locked while they are checked.
    const references = manifestReferences(manifest);
    const refusal = await this.db
      .transaction(async (tx) => {
        // Read first, so that the rules' lock is always taken before any row lock of this write.
        const guard = tag === null ? undefined : await this.immutableTags.guard(tx, repository);
        await lockManifestDigest(tx, repository, digest);
        const repositoryId = await ensureRepository(tx, repository);
        const blobs = references.filter((r) => r.kind === 'blob').map((r) => r.digest);
        const children = references.filter((r) => r.kind === 'manifest').map((r) => r.digest);
        const held = new Map([
          ...(await visibleBlobs(tx, repositoryId, blobs)),
          ...(await existingManifests(tx, repositoryId, children)),
        ]);
        // Refused: roll back, so that not even a repository created here is left behind.
        const absent = references.map((r) => r.digest).filter((d) => !held.has(d));
        if (absent.length > 0) throw new Refused(missingReferences(absent));
        // A descriptor is a digest and a size: one whose size is not its content's misleads clients.
        const wrong = requiredDescriptors(manifest).find((d) => held.get(d.digest) !== d.size);
        if (wrong) throw new Refused(wrongSize(wrong.digest, wrong.size, held.get(wrong.digest) ?? 0));
        const now = this.clock.now();
        const stored = await putManifest(tx, repositoryId, record, references, now);
        const previous = tag === null ? null : await claimTag(tx, repositoryId, tag, digest, now, actor.user);
        if (tag !== null && previous !== null) {
          // The same digest again is no move: a CI job retrying its push succeeds.
          const rule = previous === digest ? undefined : guard?.protecting(tag);
          if (rule) throw new Refused(immutableTagDenied(repository, tag, previous, rule.prefix));
          await moveTag(tx, repositoryId, tag, digest, now, actor.user);
        }
        // Only a new manifest adds bytes. Its quota locks are the write's last (metadata/quotas.ts).
        const overQuota = stored && (await this.quotas.charge(tx, repositoryId, digest, record.size));
        if (overQuota) throw new Refused(overQuota);
        // Stored again: its bytes stay. Written here, under the lock, as GC may have just removed
        // them; and last, so that a refused push leaves no bytes behind.
        await forgetDeletedManifest(tx, repositoryId, digest);
        await this.store.putManifest(repository, digest, bytes);
        events.push({
          type: 'push',
          repository,
          digest,
          mediaType: record.mediaType,
          size: record.size,
          tag,
          image: scanSubject(manifest).kind === 'image',
          actor,
        });
        if (tag !== null && previous !== digest)
          events.push({ type: 'tag', repository, tag, digest, previous, actor });
        for (const event of events) await this.events.record(tx, event);
        return null;
      })
      .catch(refusedError);
    if (refusal) return fail(refusal);
    // Committed: replace what the cache holds (the manifest first: whoever finds the tag finds it).
    await this.cache.setManifest(repository, { record, bytes }, 'write');
    if (tag !== null) await this.cache.setTag(repository, tag, digest, 'write');
    this.events.committed(events);
    return ok({ digest, manifest });
  }

  /** By tag: removes the tag. By digest: removes the manifest and every tag pointing to it. */
  async delete(repository: string, reference: string, actor: Actor): Promise<Result<void>> {
    const ref = parseReference(reference);
    if (!ref) return fail(unknownManifest(repository, reference));
    const unknown = fail<void>(unknownManifest(repository, reference));
    if (ref.kind === 'tag') {
      const outcome = await this.db
        .transaction(async (tx) => {
          const guard = await this.immutableTags.guard(tx, repository);
          const digest = await deleteTag(tx, repository, ref.tag);
          if (digest === null) return null;
          const rule = guard.protecting(ref.tag);
          if (rule) throw new Refused(immutableTagDenied(repository, ref.tag, digest, rule.prefix));
          const deleted: RegistryEvent = {
            type: 'delete',
            repository,
            digest: null,
            tag: ref.tag,
            tags: [ref.tag],
            reason: 'tag deleted',
            actor,
          };
          await this.events.record(tx, deleted);
          return deleted;
        })
        .catch(refusedError);
      if (isOciError(outcome)) return fail(outcome);
      await this.cache.deleteTag(repository, ref.tag);
      if (outcome === null) return unknown;
      this.events.committed([outcome]);
      return ok(undefined);
    }
    const outcome = await this.db
      .transaction(async (tx) => {
        const guard = await this.immutableTags.guard(tx, repository);
        await lockManifestDigest(tx, repository, ref.digest);
        const tags = await deleteManifest(tx, repository, ref.digest);
        if (tags === null) return null;
        // Read after the delete, which waited for any put listing it in an index to commit.
        const naming = [
          ...tags.map((tag) => ({ tag, index: null })),
          ...(await tagsReaching(tx, repository, ref.digest, 'manifest')),
        ];
        for (const { tag, index } of naming) {
          const rule = guard.protecting(tag);
          if (rule)
            throw new Refused(
              immutableTagDenied(repository, tag, index ?? ref.digest, rule.prefix, ref.digest),
            );
        }
        // Its bytes stay in the store until GC finds no record of it again.
        await recordDeletedManifest(tx, repository, ref.digest, this.clock.now());
        const deleted: RegistryEvent = {
          type: 'delete',
          repository,
          digest: ref.digest,
          tag: null,
          tags,
          reason: 'manifest deleted',
          actor,
        };
        await this.events.record(tx, deleted);
        return deleted;
      })
      .catch(refusedError);
    if (isOciError(outcome)) return fail(outcome);
    await this.cache.deleteManifest(repository, ref.digest);
    if (outcome === null) return unknown;
    this.events.committed([outcome]);
    return ok(undefined);
  }

  /**
   * GC's removal of a manifest no tag reaches (`gc --untagged`), leaving a tombstone for its bytes.
   * Kept when, under the locks, it has a tag, an index still lists it, or its subject chain leads
   * to a tag. GC never waits: a manifest a push holds is `busy` and left for the next run.
   */
  removeUnreachable(candidate: ManifestCandidate, actor: Actor): Promise<RemovalOutcome> {
    return this.removeUntagged(candidate, 'untagged manifest removed by garbage collection', actor);
  }

  /**
   * Retention's removal of an untagged manifest its plan lists (`reason` names the rule): under
   * the same locks and re-checks as GC's, so one that a tag, an index or a subject chain reaches
   * again is kept; and, under its row lock, one pulled since the plan (later than
   * `planned.pulledAt`) or within the rule's `keepPulledWithinMs` is kept too.
   */
  removeForRetention(
    candidate: ManifestCandidate,
    planned: { pulledAt: number | null; keepPulledWithinMs: number | null },
    reason: string,
    actor: Actor,
  ): Promise<RemovalOutcome> {
    return this.removeUntagged(candidate, reason, actor, async (tx) => {
      const pulledAt = await manifestPulledAt(tx, candidate.repositoryId, candidate.digest);
      if (pulledAt === null) return false;
      if (planned.pulledAt === null || pulledAt > planned.pulledAt) return true;
      return planned.keepPulledWithinMs !== null && this.clock.now() - pulledAt <= planned.keepPulledWithinMs;
    });
  }

  /**
   * Retention's removal of a tag its plan lists, when under the tag's lock it is still as planned:
   * naming `planned.digest`, pushed at `planned.pushedAt`, pulled no later than `planned.pulledAt`,
   * and no immutable-tag rule protects it. Otherwise `kept` (or `gone`): a plan never removes
   * something that changed since it was made.
   */
  async removeTagForRetention(
    repository: string,
    tag: string,
    planned: { digest: string; pushedAt: number; pulledAt: number | null },
    reason: string,
    actor: Actor,
  ): Promise<RemovalOutcome> {
    const outcome = await this.db.transaction(async (tx) => {
      const guard = await this.immutableTags.guard(tx, repository);
      const now = await lockTagForRemoval(tx, repository, tag);
      if (!now) return 'gone';
      const pulledLater =
        now.pulledAt !== null && (planned.pulledAt === null || now.pulledAt > planned.pulledAt);
      if (now.digest !== planned.digest || now.pushedAt !== planned.pushedAt || pulledLater) return 'kept';
      if (guard.protecting(tag)) return 'kept';
      await deleteTag(tx, repository, tag);
      const deleted: RegistryEvent = {
        type: 'delete',
        repository,
        digest: null,
        tag,
        tags: [tag],
        reason,
        actor,
      };
      await this.events.record(tx, deleted);
      return deleted;
    });
    if (typeof outcome === 'string') return outcome;
    await this.cache.deleteTag(repository, tag);
    this.events.committed([outcome]);
    return 'removed';
  }

  private async removeUntagged(
    candidate: ManifestCandidate,
    reason: string,
    actor: Actor,
    /** A last re-check under the locks (retention's pulls): true keeps the manifest. */
    keep?: (tx: Queryable) => Promise<boolean>,
  ): Promise<RemovalOutcome> {
    const { repositoryId, repository, digest } = candidate;
    let event: RegistryEvent | undefined;
    let outcome: RemovalOutcome;
    try {
      outcome = await this.db.transaction(async (tx): Promise<RemovalOutcome> => {
        // Lock the manifest and everything that could make it reachable (indexes listing it, its
        // subject, theirs, …), then look again; repeat while that set grows.
        const locked = new Set<string>();
        for (;;) {
          const up = await manifestReachers(tx, repositoryId, digest);
          if (up.some((m) => m.tagged)) return 'kept';
          if (await listedByIndex(tx, repositoryId, digest)) return 'kept';
          const fresh = up.map((m) => m.digest).filter((d) => !locked.has(d));
          if (fresh.length === 0) break;
          fresh.sort();
          for (const d of fresh) {
            if (!(await tryLockManifestDigest(tx, repository, d))) return 'busy';
            locked.add(d);
          }
          // Puts listing one of these as a child share-lock it: they finish first, or wait for us.
          await lockManifestRowsNowait(tx, repositoryId, fresh);
        }
        if (keep && (await keep(tx))) return 'kept';
        if (!(await deleteManifestRecord(tx, repositoryId, digest))) return 'gone';
        await recordDeletedManifest(tx, repository, digest, this.clock.now());
        event = {
          type: 'delete',
          repository,
          digest,
          tag: null,
          tags: [],
          reason,
          actor,
        };
        await this.events.record(tx, event);
        return 'removed';
      });
    } catch (error) {
      // FOR UPDATE NOWAIT met a push holding the row.
      if (isLockBusy(error)) return 'busy';
      throw error;
    }
    if (outcome === 'removed') {
      await this.cache.deleteManifest(repository, digest);
      if (event) this.events.committed([event]);
    }
    return outcome;
  }

  /** GC's removal of the stored bytes of a deleted manifest, unless a record of it exists again. */
  async reclaimBytes(candidate: ManifestCandidate): Promise<RemovalOutcome> {
    const { repositoryId, repository, digest } = candidate;
    return this.db.transaction(async (tx): Promise<RemovalOutcome> => {
      // Held by a put or delete of this digest right now: next time.
      if (!(await tryLockManifestDigest(tx, repository, digest))) return 'busy';
      if (!(await takeTombstone(tx, repositoryId, digest))) return 'gone';
      if (await manifestRecorded(tx, repositoryId, digest)) return 'kept';
      await this.store.deleteManifest(repository, digest);
      return 'removed';
    });
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

/** Thrown to roll back a put or delete refused inside its transaction. */
class Refused extends Error {
  readonly error: OciError;
  constructor(error: OciError) {
    super(error.message);
    this.error = error;
  }
}

/** The refusal a transaction was rolled back for, as a value; other failures go on. */
function refusedError(error: unknown): OciError {
  if (error instanceof Refused) return error.error;
  throw error;
}

const isOciError = (value: RegistryEvent | OciError | null): value is OciError =>
  value !== null && 'code' in value;

function missingReferences(digests: string[]): OciError {
  return ociError('MANIFEST_BLOB_UNKNOWN', {
    message: `manifest references ${digests.length === 1 ? 'a blob' : `${digests.length} blobs`} unknown to the repository`,
    detail: { digests },
  });
}

function wrongSize(digest: string, declared: number, size: number): OciError {
  return ociError('MANIFEST_INVALID', {
    message: `a descriptor gives ${digest} a size of ${declared} bytes; the repository holds ${size}`,
    detail: { digest, declared, size },
  });
}

/**
 * What a read or delete by `reference` finds when nothing is stored under it — also when the
 * reference is neither a tag nor a digest of ours: no manifest can be stored under such a name.
 */
function unknownManifest(repository: string, reference: string): OciError {
  return ociError('MANIFEST_UNKNOWN', { detail: { name: repository, reference } });
}

/** A push under a reference that is neither a tag nor a digest of ours. */
function invalidPutReference(reference: string): OciError {
  // `sha1:<hex>` is a digest of an algorithm we lack (the bytes cannot be checked against it);
  // `bad:colon` is just not a tag.
  const digest = parseDigest(reference);
  if (!digest.ok && digest.reason === 'unsupported-algorithm' && /:[a-f0-9]{32,}$/.test(reference)) {
    return ociError('UNSUPPORTED', {
      status: 400,
      message: `digest algorithm not supported (sha256 and sha512 are): ${reference}`,
      detail: { reference },
    });
  }
  return ociError('TAG_INVALID', {
    message: `invalid tag "${reference}": a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with . or -`,
    detail: { reference },
  });
}
