// Request bodies straight from the Node request: streamed for blobs, bounded for manifests, saved
// to a file (bounded) for archives.
import { open } from 'node:fs/promises';
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import type { AppContext } from './context.ts';

/**
 * True when the request carries a body: a non-zero length, or one of no stated length (HTTP/1.1
 * chunked encoding; on HTTP/2, headers that did not end the stream).
 */
export function hasBody(c: AppContext): boolean {
  const length = c.req.header('content-length');
  if (length !== undefined) return Number(length) > 0;
  const { incoming } = c.env;
  if ('stream' in incoming) return !incoming.stream.endAfterHeaders;
  return c.req.header('transfer-encoding') !== undefined;
}

export function contentLength(c: AppContext): number | undefined {
  const value = c.req.header('content-length');
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The body as it arrives, counted into the request's bytes-in. */
export async function* bodyStream(c: AppContext): AsyncIterable<Uint8Array> {
  let received = 0;
  try {
    for await (const chunk of c.env.incoming as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      yield chunk;
    }
  } finally {
    c.set('bytesIn', received);
  }
}

const tooLarge = (limit: number): OciError =>
  ociError('SIZE_INVALID', {
    status: 413,
    message: `body exceeds the limit of ${limit} bytes`,
    detail: { limit },
  });

/** Reads a body of at most `limit` bytes into memory; a larger one is refused with 413. */
export async function readBoundedBody(c: AppContext, limit: number): Promise<Result<Uint8Array>> {
  const declared = contentLength(c);
  if (declared !== undefined && declared > limit) return fail(tooLarge(limit));
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of bodyStream(c)) {
    total += chunk.byteLength;
    if (total > limit) return fail(tooLarge(limit));
    chunks.push(chunk);
  }
  return ok(Buffer.concat(chunks, total));
}

/**
 * Writes a body of at most `limit` bytes to `file` (created; it must not exist) and answers its
 * size; a larger one is refused with 413, and what was written of it is the caller's to remove.
 */
export async function saveBoundedBody(c: AppContext, file: string, limit: number): Promise<Result<number>> {
  const declared = contentLength(c);
  if (declared !== undefined && declared > limit) return fail(tooLarge(limit));
  const handle = await open(file, 'wx');
  let total = 0;
  try {
    for await (const chunk of bodyStream(c)) {
      total += chunk.byteLength;
      if (total > limit) return fail(tooLarge(limit));
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return ok(total);
}
