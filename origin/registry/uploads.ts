// Blob uploads: monolithic, streamed and chunked, resumable, cancellable, mountable.
// The confirmed size lives in the database, the bytes in the blob store. The running hash lives
// in this process; a request that lands on another process (or after a restart) rebuilds it by
// reading the staged bytes back, so an upload resumes anywhere.
import { createHash, type Hash, randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { type Digest, type DigestAlgorithm, parseDigest } from '../../shared/digest.ts';
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import { findRepositoryBlob, linkBlob, relinkBlob } from '../metadata/blobs.ts';
import type { Database } from '../metadata/database.ts';
import { ensureRepository } from '../metadata/repositories.ts';
import {
  countUploadSessions,
  createUploadSession,
  deleteUploadSession,
  expiredUploadSessions,
  findUploadSession,
  recordUploadSize,
  type UploadSession,
} from '../metadata/uploads.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Actor } from './events.ts';

export interface ChunkRange {
  readonly start: number;
  readonly end: number;
}

/** A request's body for an upload, with what the request announced about it. */
export interface UploadChunk {
  /** undefined for a request without a body (a PUT that only completes the upload). */
  readonly body: AsyncIterable<Uint8Array> | undefined;
  /** Content-Range: the chunk must start where the upload ends, and end there. */
  readonly range: ChunkRange | undefined;
  /** Content-Length, when the body is not sent chunked. */
  readonly contentLength: number | undefined;
}

interface HashState {
  readonly hash: Hash;
  readonly size: number;
}

export const uploadLocation = (repository: string, id: string): string =>
  `/v2/${repository}/blobs/uploads/${id}`;

/** The `Range` header value of an upload holding `size` bytes (distribution's convention: 0-0 when empty). */
export const uploadRange = (size: number): string => `0-${Math.max(0, size - 1)}`;

/** Who an upload session counts against: the user, or for an anonymous pusher the address. */
const ownerOf = (actor: Actor): string =>
  actor.user !== null ? `user:${actor.user}` : `address:${actor.address ?? 'unknown'}`;

export class Uploads {
  private readonly hashes = new Map<string, HashState>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly db: Database;
  private readonly store: BlobStore;
  private readonly clock: Clock;
  private readonly maxSessionsPerOwner: number;

  constructor(db: Database, store: BlobStore, clock: Clock, maxSessionsPerOwner: number) {
    this.db = db;
    this.store = store;
    this.clock = clock;
    this.maxSessionsPerOwner = maxSessionsPerOwner;
  }

  /** Opens a session for `actor`; TOOMANYREQUESTS when it already holds the most it may. */
  async start(repository: string, actor: Actor): Promise<Result<UploadSession>> {
    const id = randomUUID();
    const repositoryId = await ensureRepository(this.db, repository);
    const now = this.clock.now();
    const owner = ownerOf(actor);
    const limit = this.maxSessionsPerOwner;
    if (!(await createUploadSession(this.db, { id, repositoryId, owner, now }, limit))) {
      return fail(
        ociError('TOOMANYREQUESTS', {
          message: `too many open uploads (${limit}, uploads.max_sessions_per_user): finish or cancel some first`,
        }),
      );
    }
    // The row first: a refused start stages nothing. Staging that fails leaves no row behind.
    try {
      await this.store.createUpload(id);
    } catch (error) {
      await deleteUploadSession(this.db, id);
      throw error;
    }
    this.hashes.set(id, { hash: createHash('sha256'), size: 0 });
    return ok({ id, repository, repositoryId, size: 0, sha256SoFar: null, createdAt: new Date(now) });
  }

  async status(repository: string, id: string): Promise<Result<UploadSession>> {
    const session = isUuid(id) ? await findUploadSession(this.db, repository, id) : null;
    return session ? ok(session) : fail(ociError('BLOB_UPLOAD_UNKNOWN', { detail: { uuid: id } }));
  }

  /** Appends a PATCH body. With a range (chunked upload) it must start where the upload ends. */
  async append(
    repository: string,
    id: string,
    chunk: UploadChunk & { readonly body: AsyncIterable<Uint8Array> },
  ): Promise<Result<UploadSession>> {
    return this.exclusive(id, async () => {
      const found = await this.status(repository, id);
      if (!found.ok) return found;
      return this.write(found.value, chunk.body, chunk);
    });
  }

  /** Finishes an upload: optional last chunk, digest verification, commit, link to the repository. */
  async complete(
    repository: string,
    id: string,
    digestParam: string | undefined,
    chunk: UploadChunk,
  ): Promise<Result<{ digest: string; size: number }>> {
    return this.exclusive(id, async () => {
      const found = await this.status(repository, id);
      if (!found.ok) return found;
      let session = found.value;
      const parsed = parseDigestParam(digestParam);
      if (!parsed.ok) return parsed;
      if (chunk.body) {
        const written = await this.write(session, chunk.body, chunk);
        if (!written.ok) return written;
        session = written.value;
      } else if (chunk.range && chunk.range.start !== session.size) {
        return fail(outOfOrder(session));
      }
      const actual = await this.digestOf(session, parsed.value.algorithm);
      if (actual !== parsed.value.value) {
        await this.discard(session.id);
        return fail(
          ociError('DIGEST_INVALID', {
            message: 'provided digest did not match uploaded content',
            detail: { expected: parsed.value.value, actual },
          }),
        );
      }
      // The blob row first, locked until commit, then the bytes into place: a GC sweeping this
      // digest has either finished (the bytes are put back) or waits (see docs/architecture.md).
      await this.db.transaction(async (tx) => {
        await linkBlob(tx, session.repositoryId, actual, session.size, this.clock.now());
        await this.store.commitUpload(session.id, actual, session.size);
        await deleteUploadSession(tx, session.id);
      });
      this.hashes.delete(session.id);
      return ok({ digest: actual, size: session.size });
    });
  }

  async cancel(repository: string, id: string): Promise<Result<void>> {
    return this.exclusive(id, async () => {
      const found = await this.status(repository, id);
      if (!found.ok) return found;
      await this.discard(id);
      return ok(undefined);
    });
  }

  /** Cross-repository mount: links a blob the caller may read in `from` into `repository`. */
  async mount(repository: string, from: string, digest: string): Promise<boolean> {
    const source = await findRepositoryBlob(this.db, from, digest);
    if (!source || !(await this.store.stat(digest))) return false;
    const repositoryId = await ensureRepository(this.db, repository);
    // Never re-creates a blob row GC removed since; the row stays locked until the link is in.
    return this.db.transaction((tx) => relinkBlob(tx, repositoryId, digest, this.clock.now()));
  }

  /** Sessions open now. */
  count(): Promise<number> {
    return countUploadSessions(this.db);
  }

  /** Sessions idle for longer than `idleMs`. */
  async countExpired(idleMs: number): Promise<number> {
    return (await expiredUploadSessions(this.db, this.clock.now() - idleMs)).length;
  }

  /** Removes sessions idle for longer than `idleMs` and their staged data. */
  async purgeExpired(idleMs: number): Promise<number> {
    const expired = await expiredUploadSessions(this.db, this.clock.now() - idleMs);
    for (const id of expired) await this.exclusive(id, () => this.discard(id));
    return expired.length;
  }

  private async discard(id: string): Promise<void> {
    this.hashes.delete(id);
    await deleteUploadSession(this.db, id);
    await this.store.abortUpload(id);
  }

  /**
   * Writes a request's body at the end of the upload. A request refused for what it announced (a
   * Content-Range or Content-Length its body does not match) leaves the upload exactly as it was:
   * size, staged bytes and running hash. A body cut short (the client gone, a storage failure)
   * keeps what reached storage, and the client resumes after it.
   */
  private async write(
    session: UploadSession,
    body: AsyncIterable<Uint8Array>,
    announced: UploadChunk,
  ): Promise<Result<UploadSession>> {
    const end = announcedEnd(session, announced);
    if (!end.ok) return end;
    const limit = end.value === undefined ? Number.POSITIVE_INFINITY : end.value - session.size;
    const state = await this.hashState(session);
    const before = state.hash.copy();
    // No cached hash until this write is settled: should anything below throw, the next request
    // rebuilds it from the bytes the session confirmed.
    this.hashes.delete(session.id);
    let received = 0;
    let overflow = false;
    let bodyFailed = false;
    async function* hashing(source: AsyncIterable<Uint8Array>) {
      try {
        for await (const chunk of source) {
          received += chunk.byteLength;
          if (received > limit) {
            // Refused at once: the rest of a body longer than announced is not stored.
            overflow = true;
            throw new Error(`body longer than the ${limit} bytes announced`);
          }
          state.hash.update(chunk);
          yield chunk;
        }
      } catch (error) {
        bodyFailed = true;
        throw error;
      }
    }
    const result = await this.store.writeUpload(session.id, session.size, hashing(body));
    if (overflow || (result.ok && end.value !== undefined && result.size !== end.value)) {
      await this.store.truncateUpload(session.id, session.size);
      this.hashes.set(session.id, { hash: before, size: session.size });
      return fail(
        ociError('SIZE_INVALID', {
          message: `the request announced ${limit} bytes, its body held ${overflow ? 'more' : received}`,
        }),
      );
    }
    if (!result.ok) {
      // The hash saw bytes that may not have reached storage: it is rebuilt next time.
      await recordUploadSize(this.db, session.id, result.size, null, this.clock.now());
      // The body broke off (the client's side); otherwise the store failed, which is no fault of
      // the request (an unreachable store answers 503, anything else 500).
      if (!bodyFailed) throw result.cause;
      return fail(
        ociError('BLOB_UPLOAD_INVALID', { message: `upload interrupted: ${result.cause.message}` }),
      );
    }
    const sha256SoFar = state.hash.copy().digest('hex');
    await recordUploadSize(this.db, session.id, result.size, sha256SoFar, this.clock.now());
    this.hashes.set(session.id, { hash: state.hash, size: result.size });
    return ok({ ...session, size: result.size, sha256SoFar });
  }

  private async hashState(session: UploadSession): Promise<HashState> {
    const cached = this.hashes.get(session.id);
    if (cached && cached.size === session.size) return cached;
    // Resumed here (another process wrote last, or this one restarted or was interrupted): what a
    // request that died left beyond the confirmed size goes before anything is added or read.
    await this.store.truncateUpload(session.id, session.size);
    const hash = await this.hashStaged(session, 'sha256');
    const state = { hash, size: session.size };
    this.hashes.set(session.id, state);
    return state;
  }

  private async digestOf(session: UploadSession, algorithm: DigestAlgorithm): Promise<string> {
    if (algorithm !== 'sha256')
      return `${algorithm}:${(await this.hashStaged(session, algorithm)).digest('hex')}`;
    const cached = this.hashes.get(session.id);
    if (cached?.size === session.size) return `sha256:${cached.hash.copy().digest('hex')}`;
    // Written by another process (or before a restart), which recorded the digest of what it wrote.
    if (session.sha256SoFar !== null) return `sha256:${session.sha256SoFar}`;
    return `sha256:${(await this.hashState(session)).hash.copy().digest('hex')}`;
  }

  private async hashStaged(session: UploadSession, algorithm: DigestAlgorithm): Promise<Hash> {
    const hash = createHash(algorithm);
    if (session.size === 0) return hash;
    for await (const chunk of this.store.readUpload(session.id, session.size))
      hash.update(chunk as Uint8Array);
    return hash;
  }

  // Requests on one upload run one at a time in this process.
  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const current = previous.then(work, work);
    this.locks.set(id, current);
    try {
      return await current;
    } finally {
      if (this.locks.get(id) === current) this.locks.delete(id);
    }
  }
}

/** Where the upload must end after a chunk, as its request announced it (undefined: not announced). */
function announcedEnd(session: UploadSession, chunk: UploadChunk): Result<number | undefined> {
  const { range, contentLength } = chunk;
  if (!range) return ok(contentLength === undefined ? undefined : session.size + contentLength);
  if (range.start !== session.size) return fail(outOfOrder(session));
  const length = range.end - range.start + 1;
  if (contentLength !== undefined && length !== contentLength) {
    return fail(
      ociError('SIZE_INVALID', {
        message: `Content-Range covers ${length} bytes but Content-Length is ${contentLength}`,
      }),
    );
  }
  return ok(range.end + 1);
}

function outOfOrder(session: UploadSession): OciError {
  return ociError('BLOB_UPLOAD_INVALID', {
    status: 416,
    message: `chunk out of order: the upload holds ${session.size} bytes`,
    headers: {
      Range: uploadRange(session.size),
      Location: uploadLocation(session.repository, session.id),
      'Docker-Upload-UUID': session.id,
    },
  });
}

export function parseDigestParam(value: string | undefined): Result<Digest> {
  if (!value) return fail(ociError('DIGEST_INVALID', { message: 'the digest query parameter is required' }));
  const parsed = parseDigest(value);
  if (parsed.ok) return ok(parsed.digest);
  return fail(
    ociError(parsed.reason === 'unsupported-algorithm' ? 'UNSUPPORTED' : 'DIGEST_INVALID', {
      status: 400,
      message:
        parsed.reason === 'unsupported-algorithm'
          ? `digest algorithm not supported (sha256 and sha512 are): ${value}`
          : `invalid digest: ${value}`,
    }),
  );
}

const isUuid = (id: string): boolean =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
