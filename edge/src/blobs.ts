// GET/HEAD /v2/{name}/blobs/{digest}: answered as origin answers (origin/http/blobs.ts), from the
// chunk cache. The size comes with the link check; the body is assembled chunk by chunk, the
// next chunk opened while the current one is sent.
import { blobAnswer, blobHeaders } from '../../shared/blob-answer.ts';
import { errorResponse } from '../../shared/errors.ts';
import { type BlobRef, type ChunkPart, type OpenedChunk, openChunk, planChunks } from './chunk-cache.ts';
import { checkLink } from './links.ts';
import type { Services } from './services.ts';

export interface BlobRequest {
  readonly name: string;
  readonly digest: string;
  readonly method: string;
  readonly range: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly authorization: string | undefined;
}

/** The answer, or `proxy` when origin should answer the request itself. */
export async function getBlob(s: Services, request: BlobRequest): Promise<Response | 'proxy'> {
  const { name, digest, method } = request;
  const link = await checkLink(s, name, digest, request.authorization, method);
  if (!link.ok) return link.response;
  const { size } = link;
  if (request.ifNoneMatch === `"${digest}"`)
    return new Response(null, { status: 304, headers: blobHeaders(digest) });
  const answer = blobAnswer(digest, size, request.range);
  if (!answer.ok) return errorResponse(answer.error, method);
  const { status, headers, start, end } = answer;
  const length = end - start + 1;
  if (method === 'HEAD' || length === 0) return new Response(null, { status, headers });

  const blob: BlobRef = { name, digest, size, authorization: request.authorization };
  const parts = planChunks(size, s.config.chunkSize, start, end);
  const first = await openChunk(s, blob, parts[0] as ChunkPart);
  if (!first.ok) return first.response;
  headers['X-Edge-Cache'] = first.from === 'cache' ? (link.stale ? 'STALE' : 'HIT') : 'MISS';
  return new Response(assemble(s, blob, parts, first.body, length), { status, headers });
}

/** The parts' bytes in order, as one stream of exactly `length` bytes (short ends in an error). */
function assemble(
  s: Services,
  blob: BlobRef,
  parts: readonly ChunkPart[],
  first: ReadableStream<Uint8Array>,
  length: number,
): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(length);
  const send = async () => {
    let current = first;
    for (let i = 0; ; i++) {
      const following = parts[i + 1];
      const next: Promise<OpenedChunk> | undefined = following ? openChunk(s, blob, following) : undefined;
      try {
        await current.pipeTo(writable, { preventClose: true });
      } catch {
        // The client went away, or the chunk's stream failed (pipeTo then aborted the response).
        void next?.then((opened) => (opened.ok ? opened.body.cancel() : opened.response.body?.cancel()));
        return;
      }
      if (!next) break;
      const opened = await next;
      if (!opened.ok) {
        await opened.response.body?.cancel();
        await writable.abort(new Error(`chunk ${following?.index} of ${blob.digest} is unavailable`));
        return;
      }
      current = opened.body;
    }
    await writable.close();
  };
  s.defer(send());
  return readable;
}
