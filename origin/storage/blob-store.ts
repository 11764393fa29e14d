// The one storage interface: content-addressed blobs, upload staging, and manifest bytes.
// Implementations: filesystem (here) and S3. It knows nothing of HTTP or of repositories' rights.
import type { Readable, Writable } from 'node:stream';

/** Inclusive byte range, as in HTTP. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A committed blob opened for sending (see BlobStore.openForSending). */
export interface BlobSending {
  /**
   * Writes the bytes of `range` to `out` (without ending it) and closes the blob; `sent` hears
   * each chunk once `out` took it. Rejects when the blob is shorter or `out` fails or closes first.
   */
  sendTo(out: Writable, range: ByteRange, sent?: (bytes: number) => void): Promise<void>;
  /** Closes the blob without sending (sendTo closes it by itself). */
  close(): Promise<void>;
}

export type UploadWrite = { ok: true; size: number } | { ok: false; size: number; cause: Error };

export interface BlobStore {
  /** Size of a committed blob, or null. */
  stat(digest: string): Promise<{ size: number } | null>;
  /** Streams a committed blob or a range of it; null when absent. Never buffers the whole blob. */
  read(digest: string, range?: ByteRange): Promise<Readable | null>;
  /**
   * Optional fast path for GET: the blob opened to be written to a Node writable through a few
   * reused buffers rather than a fresh buffer per chunk as read() yields (allocating, faulting in
   * and garbage-collecting those is about half the CPU of a large pull). null when absent.
   */
  openForSending?(digest: string): Promise<BlobSending | null>;
  delete(digest: string): Promise<void>;

  createUpload(id: string): Promise<void>;
  /**
   * Writes `body` into the upload starting at `offset` (which must be the current size).
   * Returns the upload's size afterwards; on failure, the size that actually reached storage.
   */
  writeUpload(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadWrite>;
  /** Streams the first `length` bytes of an upload (to rebuild a hash state). */
  readUpload(id: string, length: number): Readable;
  /** Moves a verified upload to its content address. A blob already there is kept, not rewritten. */
  commitUpload(id: string, digest: string): Promise<void>;
  /** Removes an upload's staging data; absent data is not an error. */
  abortUpload(id: string): Promise<void>;

  putManifest(repository: string, digest: string, bytes: Uint8Array): Promise<void>;
  getManifest(repository: string, digest: string): Promise<Uint8Array | null>;
  deleteManifest(repository: string, digest: string): Promise<void>;

  ping(): Promise<boolean>;
}
