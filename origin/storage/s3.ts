// BlobStore on S3 (and S3-protocol servers: MinIO, R2, s3rver), with standard calls only:
//   {prefix}blobs/{algorithm}/{hex}, {prefix}manifests/{repo}/{algorithm}:{hex},
//   {prefix}uploads/{uuid}/{offset} — one segment object per PATCH, named by where it starts.
// No two of these keys can be equal: a manifest key ends in a digest, whose `:` no repository
// name holds, so it splits into repository and digest one way only.
//
// A PATCH streams into a multipart upload of its own segment (parts of `partSize`, at most
// `concurrency` in flight, so memory is bounded whatever the body's size) and completes it
// when the body ends. Segments are ordinary objects: any origin process can list them, read
// them back, and assemble them. Commit copies the single segment of a streamed upload to its
// content address server-side; several segments (chunked uploads) are assembled into one object.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isNetworkError, Unavailable } from '../unavailable.ts';
import type { BlobStore, ByteRange, UploadWrite } from './blob-store.ts';

export interface S3Options {
  readonly bucket: string;
  readonly region: string;
  readonly prefix: string;
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  readonly maxSockets: number;
  readonly partSize: number;
  readonly concurrency: number;
}

/** S3 refuses CopyObject above 5 GiB; larger objects are copied part by part. */
const MAX_SINGLE_COPY = 5 * 1024 * 1024 * 1024;
const OFFSET_DIGITS = 16;

interface Segment {
  readonly key: string;
  readonly offset: number;
  readonly size: number;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly options: S3Options;
  /** Whether the server implements UploadPartCopy (s3rver does not); learnt on first use. */
  private partCopySupported = true;

  constructor(options: S3Options) {
    this.options = options;
    const agent = { keepAlive: true, maxSockets: options.maxSockets };
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? Boolean(options.endpoint),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestHandler: { httpAgent: new http.Agent(agent), httpsAgent: new https.Agent(agent) },
      // Checksums only where S3 requires them: S3-compatible servers differ on the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // Outermost, so it sees what is left after the SDK's own retries.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        try {
          return await next(args);
        } catch (error) {
          throw isUnreachable(error) ? new Unavailable('storage', error) : error;
        }
      },
      { step: 'initialize', name: 'storageUnavailable' },
    );
  }

  private get bucket(): string {
    return this.options.bucket;
  }

  private blobKey(digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return `${this.options.prefix}blobs/${algorithm}/${hex}`;
  }

  private manifestKey(repository: string, digest: string): string {
    return `${this.options.prefix}manifests/${repository}/${digest}`;
  }

  private uploadPrefix(id: string): string {
    return `${this.options.prefix}uploads/${id}/`;
  }

  async stat(digest: string): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable | null> {
    return this.readKey(this.blobKey(digest), range);
  }

  private async readKey(key: string, range?: ByteRange): Promise<Readable | null> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return object.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(digest: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }));
  }

  async urlFor(digest: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }),
      {
        expiresIn: expiresInSeconds,
      },
    );
  }

  async createUpload(_id: string): Promise<void> {
    // Nothing to prepare: each PATCH creates its own segment.
  }

  async writeUpload(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadWrite> {
    const key = `${this.uploadPrefix(id)}${String(offset).padStart(OFFSET_DIGITS, '0')}`;
    const writer = new SegmentWriter(
      this.client,
      this.bucket,
      key,
      this.options.partSize,
      this.options.concurrency,
    );
    try {
      for await (const chunk of body) await writer.write(chunk);
      const size = await writer.finish();
      return { ok: true, size: offset + size };
    } catch (error) {
      // Whole parts already stored are kept as a shorter segment, so the client resumes after them.
      const kept = await writer.salvage();
      return { ok: false, size: offset + kept, cause: error as Error };
    }
  }

  readUpload(id: string, length: number): Readable {
    const segments = () => this.segments(id);
    const readKey = (key: string) => this.readKey(key);
    return Readable.from(
      (async function* () {
        let remaining = length;
        for (const segment of await segments()) {
          if (remaining <= 0) break;
          const stream = await readKey(segment.key);
          if (!stream) throw new Error(`upload segment ${segment.key} is missing`);
          for await (const chunk of stream) {
            const bytes = chunk as Uint8Array;
            const take = Math.min(bytes.byteLength, remaining);
            if (take > 0) yield bytes.subarray(0, take);
            remaining -= take;
          }
        }
        if (remaining > 0) throw new Error(`upload ${id} holds fewer bytes than ${length}`);
      })(),
    );
  }

  /** Every segment object of the upload, in order of offset. */
  private async listSegments(id: string): Promise<Segment[]> {
    const prefix = this.uploadPrefix(id);
    const found: Segment[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const offset = Number(object.Key?.slice(prefix.length));
        if (object.Key && Number.isSafeInteger(offset))
          found.push({ key: object.Key, offset, size: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => a.offset - b.offset);
  }

  /** The upload's segments, in order, as one contiguous run from offset 0. */
  private async segments(id: string): Promise<Segment[]> {
    // A retried PATCH may have left a segment that the confirmed size does not count: keep the run.
    const run: Segment[] = [];
    let end = 0;
    for (const segment of await this.listSegments(id)) {
      if (segment.offset === end && segment.size > 0) {
        run.push(segment);
        end += segment.size;
      }
    }
    return run;
  }

  /** The segments holding exactly the upload's first `size` bytes (segments end where a size was confirmed). */
  private async covering(id: string, size: number): Promise<Segment[]> {
    const taken: Segment[] = [];
    let end = 0;
    for (const segment of await this.segments(id)) {
      if (end + segment.size > size) break;
      taken.push(segment);
      end += segment.size;
    }
    if (end !== size) throw new Error(`upload ${id} holds ${end} of the ${size} bytes it confirmed`);
    return taken;
  }

  async truncateUpload(id: string, size: number): Promise<void> {
    // Segments end where a size was confirmed: those starting at or beyond `size` are all that is extra.
    const extra = (await this.listSegments(id)).filter((s) => s.offset >= size).map((s) => s.key);
    await this.deleteKeys(extra);
  }

  async commitUpload(id: string, digest: string, size: number): Promise<void> {
    const target = this.blobKey(digest);
    // A blob already there is kept, unless it is not what its name says (then it is written again).
    if ((await this.stat(digest))?.size !== size) {
      const segments = await this.covering(id, size);
      if (segments.length === 0) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: target, Body: new Uint8Array(0) }),
        );
      } else if (segments.length === 1 && size <= MAX_SINGLE_COPY) {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: target,
            CopySource: copySource(this.bucket, segments[0]!.key),
          }),
        );
      } else {
        await this.assemble(segments, target);
      }
      const stored = await this.stat(digest);
      if (stored?.size !== size)
        throw new Error(`blob ${digest} holds ${stored?.size ?? 'nothing'} after commit, not ${size} bytes`);
    }
    await this.abortUpload(id);
  }

  /** Builds one object from segments: server-side part copies where possible, else streamed through. */
  private async assemble(segments: readonly Segment[], target: string): Promise<void> {
    if (segments.length === 1 && this.partCopySupported) {
      const copied = await this.copyInParts(segments[0]!, target);
      if (copied) return;
    }
    const writer = new SegmentWriter(
      this.client,
      this.bucket,
      target,
      this.options.partSize,
      this.options.concurrency,
    );
    try {
      for (const segment of segments) {
        const stream = await this.readKey(segment.key);
        if (!stream) throw new Error(`upload segment ${segment.key} is missing`);
        for await (const chunk of stream) await writer.write(chunk as Uint8Array);
      }
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }

  /** Multipart copy of one large object; false when the server does not implement UploadPartCopy. */
  private async copyInParts(segment: Segment, target: string): Promise<boolean> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: target }),
    );
    const uploadId = created.UploadId as string;
    const partSize = Math.max(this.options.partSize, Math.ceil(segment.size / 10_000));
    try {
      const parts: CompletedPart[] = [];
      for (let start = 0, number = 1; start < segment.size; start += partSize, number++) {
        const end = Math.min(segment.size, start + partSize) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: target,
            UploadId: uploadId,
            PartNumber: number,
            CopySource: copySource(this.bucket, segment.key),
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        parts.push({ PartNumber: number, ETag: copied.CopyPartResult?.ETag });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: target,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return true;
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: target, UploadId: uploadId }))
        .catch(() => {});
      if (error instanceof S3ServiceException && error.name === 'NotImplemented') {
        this.partCopySupported = false;
        return false;
      }
      throw error;
    }
  }

  async abortUpload(id: string): Promise<void> {
    const prefix = this.uploadPrefix(id);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      await this.deleteKeys((page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes keys, 1,000 per request (S3's limit). */
  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  async putManifest(repository: string, digest: string, bytes: Uint8Array): Promise<void> {
    // A PUT replaces whatever the key held; Content-MD5 has S3 refuse bytes altered on the way.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.manifestKey(repository, digest),
        Body: bytes,
        ContentMD5: createHash('md5').update(bytes).digest('base64'),
      }),
    );
  }

  async getManifest(repository: string, digest: string): Promise<Uint8Array | null> {
    const stream = await this.readKey(this.manifestKey(repository, digest));
    if (!stream) return null;
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk as Uint8Array);
    return Buffer.concat(chunks);
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.manifestKey(repository, digest) }),
    );
  }

  async writeProblem(): Promise<string | null> {
    // One small object, {prefix}probe, overwritten by every probe: a bucket that answers reads but
    // refuses writes shows.
    const key = `${this.options.prefix}probe`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: 'probe' }));
      return null;
    } catch (error) {
      return `s3://${this.bucket}/${key} cannot be written: ${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/**
 * Writes one object from a stream of chunks: a single PUT when it fits in one part, otherwise a
 * multipart upload with at most `concurrency` parts in flight (memory: partSize × (concurrency + 1)).
 *
 * Each chunk is copied at once into the part being filled, and part buffers are reused once S3
 * has taken them. Before, the incoming chunks were held until a whole part had arrived and every
 * part was a fresh 8 MiB allocation to fault in; this way a push costs 10 to 25% less CPU (see
 * docs/benchmarks.md).
 */
class SegmentWriter {
  /** The part being filled, and how much of it is. */
  private part: Buffer | undefined;
  private filled = 0;
  /** Part buffers S3 is done with, for the next parts. */
  private readonly free: Buffer[] = [];
  private uploadId: string | undefined;
  private readonly parts: { number: number; size: number; etag?: string }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private readonly partSize: number;
  private readonly concurrency: number;

  constructor(client: S3Client, bucket: string, key: string, partSize: number, concurrency: number) {
    this.client = client;
    this.bucket = bucket;
    this.key = key;
    this.partSize = partSize;
    this.concurrency = concurrency;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    for (let offset = 0; offset < chunk.byteLength; ) {
      this.reserve(chunk.byteLength - offset);
      const part = this.part as Buffer;
      const n = Math.min(chunk.byteLength - offset, part.byteLength - this.filled);
      part.set(n === chunk.byteLength ? chunk : chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.partSize) await this.startPart(this.takePart());
    }
  }

  /** Uploads what remains and completes the object; returns its size. */
  async finish(): Promise<number> {
    if (this.uploadId === undefined) {
      const body = this.takePart();
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body }));
      return body.byteLength;
    }
    if (this.filled > 0) await this.startPart(this.takePart());
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
    await this.complete(this.parts);
    return this.parts.reduce((sum, p) => sum + p.size, 0);
  }

  /** After a failure: completes the object with the parts stored in order, or removes it; returns its size. */
  async salvage(): Promise<number> {
    if (this.uploadId === undefined) return 0;
    await Promise.allSettled(this.inFlight);
    const stored: typeof this.parts = [];
    for (const part of this.parts) {
      // All but the last part of an object must be whole: only full parts are kept.
      if (part.etag === undefined || part.size !== this.partSize) break;
      stored.push(part);
    }
    if (stored.length === 0) {
      await this.abort();
      return 0;
    }
    try {
      await this.complete(stored);
      return stored.reduce((sum, p) => sum + p.size, 0);
    } catch {
      await this.abort();
      return 0;
    }
  }

  async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    await Promise.allSettled(this.inFlight);
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch(() => {});
  }

  /**
   * Makes room for up to `bytes` more in the current part: a full-size buffer once the object
   * takes more than one part; before that, one that grows (so a small blob is no 8 MiB buffer).
   */
  private reserve(bytes: number): void {
    const capacity = this.part?.byteLength ?? 0;
    if (this.filled < capacity) return;
    const reused = this.free.pop();
    const size =
      reused || this.uploadId !== undefined
        ? this.partSize
        : Math.min(this.partSize, Math.max(64 * 1024, 2 * capacity, this.filled + bytes));
    const next = reused ?? Buffer.allocUnsafeSlow(size);
    if (this.part) next.set(this.part.subarray(0, this.filled));
    this.part = next;
  }

  /** The filled part of the current part buffer (empty when none), which starts a new one. */
  private takePart(): Buffer {
    const body = this.part ? this.part.subarray(0, this.filled) : Buffer.alloc(0);
    this.part = undefined;
    this.filled = 0;
    return body;
  }

  private async startPart(body: Buffer): Promise<void> {
    if (this.uploadId === undefined) {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }),
      );
      this.uploadId = created.UploadId as string;
    }
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const part: (typeof this.parts)[number] = { number: this.parts.length + 1, size: body.byteLength };
    const upload = this.client
      .send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: part.number,
          Body: body,
        }),
      )
      .then((result) => {
        part.etag = result.ETag;
        // S3 has the bytes: the buffer takes the next part (a short last part is not kept).
        if (body.byteLength === this.partSize && this.free.length < this.concurrency) this.free.push(body);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(upload));
    this.parts.push(part);
    this.inFlight.add(upload);
  }

  private async complete(parts: readonly { number: number; etag?: string }[]): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
      }),
    );
  }
}

function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The statuses of a server that cannot serve now (not 501: a call it does not implement). */
const UNAVAILABLE_STATUSES = new Set([500, 502, 503, 504]);

/** No answer (refused, dropped, timed out), or a server error that says to come back later. */
function isUnreachable(error: unknown): boolean {
  if (error instanceof S3ServiceException)
    return UNAVAILABLE_STATUSES.has(error.$metadata?.httpStatusCode ?? 0);
  return isNetworkError(error) || (error instanceof Error && error.name === 'TimeoutError');
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NotFound' || error.name === 'NoSuchKey' || error.$metadata?.httpStatusCode === 404;
}
