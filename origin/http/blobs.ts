// GET/HEAD/DELETE /v2/{name}/blobs/{digest}. Blob bodies are written to the Node response
// directly (see BlobReader): Web streams in between cost about a fifth of the throughput.
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { blobAnswer, blobHeaders } from '../../shared/blob-answer.ts';
import { parseDigest } from '../../shared/digest.ts';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { parseDigestParam } from '../registry/uploads.ts';
import type { Services } from '../services.ts';
import { type AppContext, actorOf, nodeResponse } from './context.ts';
import { unwrap } from './respond.ts';

/**
 * The digest a blob URL names. A well-formed digest of an algorithm we lack names no blob we could
 * hold: unknown, as any blob that is not here (a malformed one is DIGEST_INVALID).
 */
function blobDigest(value: string): string {
  const parsed = parseDigest(value);
  if (!parsed.ok && parsed.reason === 'unsupported-algorithm')
    throw new OciFailure(ociError('BLOB_UNKNOWN', { detail: { digest: value } }));
  return unwrap(parseDigestParam(value)).value;
}

export async function getBlob(
  c: AppContext,
  s: Services,
  name: string,
  digestParam: string,
): Promise<Response> {
  const digest = blobDigest(digestParam);
  const size = unwrap(await s.blobs.size(name, digest));
  if (c.req.header('if-none-match') === `"${digest}"`) return c.body(null, 304, blobHeaders(digest));
  const answer = blobAnswer(digest, size, c.req.header('range'));
  if (!answer.ok) throw new OciFailure(answer.error);
  const { status, headers } = answer;
  if (c.req.method === 'HEAD') return c.body(null, status, headers);

  const source = await s.blobs.open(digest, size, answer.partial ? answer : undefined);
  if (source.kind === 'missing') throw new OciFailure(ociError('BLOB_UNKNOWN', { detail: { digest } }));
  if (source.kind === 'redirect') {
    return c.body(null, 307, {
      Location: source.url,
      'Docker-Content-Digest': digest,
      'Content-Length': '0',
    });
  }
  const out = nodeResponse(c);
  c.set('sentDirectly', true);
  out.writeHead(status, {
    ...headers,
    ...(source.cache ? { 'X-Cache': source.cache } : {}),
    'X-Request-Id': c.get('requestId'),
  });
  try {
    await source.send(out);
    out.end();
  } catch (error) {
    // The client went away mid-body (or the source failed): nothing more can be said to it.
    out.destroy();
    s.log.debug({ err: error, digest }, 'blob transfer ended early');
  }
  return RESPONSE_ALREADY_SENT;
}

export async function deleteBlob(
  c: AppContext,
  s: Services,
  name: string,
  digestParam: string,
): Promise<Response> {
  const digest = blobDigest(digestParam);
  unwrap(await s.blobs.unlink(name, digest, actorOf(c)));
  return c.body(null, 202, { 'Docker-Content-Digest': digest, 'Content-Length': '0' });
}
