// Blobs are cached in fixed-size chunks aligned on multiples of CHUNK_SIZE (the last one
// shorter), each its own cache entry keyed by digest, chunk size and index — so a layer of any
// size is cached, and a Range request reads only the chunks it covers. A missing chunk is
// fetched from origin by one request per data centre (coalescer.ts) while the others wait for it.
import { errorResponse, ociError } from '../../shared/errors.ts';
import type { Grant } from './coalescer.ts';
import { fillTee } from './fill-tee.ts';
import type { Services } from './services.ts';
import { sliceStream } from './streams.ts';

export interface BlobRef {
  readonly name: string;
  readonly digest: string;
  readonly size: number;
  /** The client's, for origin (a link check has already shown the blob is in `name`). */
  readonly authorization: string | undefined;
}

/** The part of one chunk a request needs; offsets are in the blob, ends inclusive. */
export interface ChunkPart {
  readonly index: number;
  readonly chunkStart: number;
  readonly chunkEnd: number;
  readonly from: number;
  readonly to: number;
}

export type OpenedChunk =
  | { readonly ok: true; readonly body: ReadableStream<Uint8Array>; readonly from: 'cache' | 'origin' }
  /** What to answer instead (origin's refusal, or UNAVAILABLE when origin cannot be reached or answers 5xx). */
  | { readonly ok: false; readonly response: Response };

/** How far the requesting client may fall behind a fill before it is detached (fill-tee.ts). */
const CLIENT_LAG_BYTES = 8 * 1024 * 1024;
/** Rounds of waiting for other requests' fills before fetching without the lock. */
const MAX_ROUNDS = 4;

/** The chunks covering bytes `start`–`end` of a blob of `size` bytes. */
export function planChunks(size: number, chunkSize: number, start: number, end: number): ChunkPart[] {
  const parts: ChunkPart[] = [];
  for (let index = Math.floor(start / chunkSize); index * chunkSize <= end; index++) {
    const chunkStart = index * chunkSize;
    const chunkEnd = Math.min(chunkStart + chunkSize, size) - 1;
    parts.push({
      index,
      chunkStart,
      chunkEnd,
      from: Math.max(start, chunkStart),
      to: Math.min(end, chunkEnd),
    });
  }
  return parts;
}

export function chunkKey(digest: string, chunkSize: number, index: number): string {
  return `blob/${digest}/${chunkSize}/${index}`;
}

function lockFor(s: Services, key: string) {
  return s.env.CHUNK_LOCKS.get(s.env.CHUNK_LOCKS.idFromName(`${s.colo}/${key}`));
}

/** The bytes `part.from`–`part.to`: from the cache, after another request's fill, or from origin. */
export async function openChunk(s: Services, blob: BlobRef, part: ChunkPart): Promise<OpenedChunk> {
  const key = chunkKey(blob.digest, s.config.chunkSize, part.index);
  const whole = part.from === part.chunkStart && part.to === part.chunkEnd;
  const range = { start: part.from - part.chunkStart, end: part.to - part.chunkStart };
  let afterMiss = false;
  let failures = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const hit = await s.cache.get(key, whole ? undefined : range);
    if (hit) return { ok: true, body: hit.body, from: 'cache' };
    const lock = lockFor(s, key);
    let grant: Grant;
    try {
      grant = await lock.acquire(s.config.coalesceTimeoutMs, afterMiss);
    } catch {
      break; // The lock cannot be reached: fetch without it.
    }
    if (grant.role === 'leader') {
      return fill(s, blob, part, key, (ok) => s.defer(lock.release(grant.token, ok)));
    }
    if (grant.role === 'done') afterMiss = true;
    if (grant.role === 'failed' && ++failures >= 2) break;
  }
  return fill(s, blob, part, key, () => {});
}

function unavailable(message: string): Response {
  return errorResponse(ociError('UNAVAILABLE', { message }));
}

async function fill(
  s: Services,
  blob: BlobRef,
  part: ChunkPart,
  key: string,
  release: (ok: boolean) => void,
): Promise<OpenedChunk> {
  const length = part.chunkEnd - part.chunkStart + 1;
  const fetched = await s.origin.fetchBlobRange(
    blob.name,
    blob.digest,
    part.chunkStart,
    part.chunkEnd,
    blob.authorization,
  );
  if (!fetched.ok) {
    release(false);
    await fetched.response?.body?.cancel();
    return { ok: false, response: unavailable(`cannot fetch the blob: ${fetched.reason}`) };
  }
  const response = fetched.response;
  const expectedRange = `bytes ${part.chunkStart}-${part.chunkEnd}/${blob.size}`;
  if (response.status !== 206 || response.headers.get('content-range') !== expectedRange || !response.body) {
    release(false);
    if (response.status >= 400) return { ok: false, response };
    await response.body?.cancel();
    return {
      ok: false,
      response: unavailable(
        `origin answered ${response.status} ${response.headers.get('content-range') ?? ''} for ${expectedRange}`,
      ),
    };
  }
  const { client, filled } = fillTee({
    source: response.body,
    length,
    store: (body) => s.cache.put(key, body, length),
    readBack: async (offset) => (await s.cache.get(key, { start: offset, end: length - 1 }))?.body,
    lagLimit: CLIENT_LAG_BYTES,
  });
  s.defer(filled.then(release));
  const body =
    part.from === part.chunkStart && part.to === part.chunkEnd
      ? client
      : sliceStream(client, part.from - part.chunkStart, part.to - part.from + 1);
  return { ok: true, body, from: 'origin' };
}
