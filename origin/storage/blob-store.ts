// The one storage interface: content-addressed blobs, upload staging, and manifest bytes.
// Implementations: filesystem (here) and S3. It knows nothing of HTTP or of repositories' rights.
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export type UploadWrite = { ok: true; size: number } | { ok: false; size: number; cause: Error };

export interface BlobStore {
  /** Size of a committed blob, or null. */
  stat(digest: string): Promise<{ size: number } | null>;
  /** Streams a committed blob or a range of it; null when absent. Never buffers the whole blob. */
  read(digest: string, range?: ByteRange): Promise<Readable | null>;
  /**
   * For stores that keep blobs in local files: the blob's file, opened for reading (the caller
   * closes it), so that GETs can send it through reused buffers (see file-sender.ts). null when absent.
   */
  openFile?(digest: string): Promise<FileHandle | null>;
  delete(digest: string): Promise<void>;
  /** A time-limited URL from which a client may GET the blob directly, where the backend has one. */
  urlFor(digest: string, expiresInSeconds: number): Promise<string | null>;

  createUpload(id: string): Promise<void>;
  /**
   * Writes `body` into the upload starting at `offset` (which must be the current size).
   * Returns the upload's size afterwards; on failure, the size that actually reached storage.
   */
  writeUpload(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadWrite>;
  /** Streams the first `length` bytes of an upload (to rebuild a hash state). */
  readUpload(id: string, length: number): Readable;
  /**
   * Cuts an upload's staged data back to its first `size` bytes (the size its session confirmed):
   * what a refused request, or one cut short by a crash, left beyond is no part of the upload.
   * Never lengthens it.
   */
  truncateUpload(id: string, size: number): Promise<void>;
  /**
   * Moves the first `size` bytes of a verified upload (its confirmed size; anything staged beyond is
   * dropped) to its content address, and fails unless what is there then has that size. A blob
   * already there with that size is kept, not rewritten; one of another size is replaced.
   */
  commitUpload(id: string, digest: string, size: number): Promise<void>;
  /** Removes an upload's staging data; absent data is not an error. */
  abortUpload(id: string): Promise<void>;

  /** Stores a manifest's bytes; resolves only once exactly these bytes are what the store holds for it. */
  putManifest(repository: string, digest: string, bytes: Uint8Array): Promise<void>;
  getManifest(repository: string, digest: string): Promise<Uint8Array | null>;
  deleteManifest(repository: string, digest: string): Promise<void>;

  /**
   * Why the store cannot be written, or null when it can: writes (and removes) a small probe
   * object, so that a store that answers reads but refuses writes is found before a push is.
   */
  writeProblem(): Promise<string | null>;
  /** Releases connections (the S3 client's sockets); the store is not used afterwards. */
  close?(): void | Promise<void>;
}
