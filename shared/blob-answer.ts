// The status and headers of a blob GET/HEAD, from its digest, size and Range header, so that origin
// and edge answer alike. Web APIs only.
import { API_VERSION, API_VERSION_HEADER } from './api-version.ts';
import { parseRange } from './byte-range.ts';
import { type OciError, ociError } from './errors.ts';

export type BlobAnswer =
  | {
      ok: true;
      status: 200 | 206;
      headers: Record<string, string>;
      /** The bytes to send, inclusive; `end < start` for an empty blob. */
      start: number;
      end: number;
      partial: boolean;
    }
  | { ok: false; error: OciError };

/** Headers every answer about a blob carries, 304 included. */
export function blobHeaders(digest: string): Record<string, string> {
  return {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000, immutable',
    [API_VERSION_HEADER]: API_VERSION,
  };
}

export function blobAnswer(digest: string, size: number, rangeHeader: string | null | undefined): BlobAnswer {
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'unsatisfiable') {
    return {
      ok: false,
      error: ociError('SIZE_INVALID', {
        status: 416,
        message: `range not satisfiable: ${rangeHeader} (blob is ${size} bytes)`,
        headers: { 'Content-Range': `bytes */${size}` },
      }),
    };
  }
  const partial = range.kind === 'range';
  const start = partial ? range.start : 0;
  const end = partial ? range.end : size - 1;
  const headers = blobHeaders(digest);
  headers['Content-Length'] = String(end - start + 1);
  if (partial) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  return { ok: true, status: partial ? 206 : 200, headers, start, end, partial };
}
