// POST /v2/{name}/blobs/uploads/ and GET/PATCH/PUT/DELETE /v2/{name}/blobs/uploads/{uuid}.
import { OciFailure, ociError } from '../../shared/errors.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import {
  type ChunkRange,
  parseDigestParam,
  type UploadChunk,
  uploadLocation,
  uploadRange,
} from '../registry/uploads.ts';
import type { Services } from '../services.ts';
import { type AppContext, actorOf } from './context.ts';
import { bodyStream, contentLength, hasBody } from './request-body.ts';
import { unwrap } from './respond.ts';

function progress(c: AppContext, name: string, id: string, size: number, status: 202 | 204): Response {
  return c.body(null, status, {
    Location: uploadLocation(name, id),
    Range: uploadRange(size),
    'Docker-Upload-UUID': id,
    'Content-Length': '0',
  });
}

function created(c: AppContext, name: string, digest: string): Response {
  return c.body(null, 201, {
    Location: `/v2/${name}/blobs/${digest}`,
    'Docker-Content-Digest': digest,
    'Content-Length': '0',
  });
}

/** `Content-Range: 0-99` (OCI) or `bytes 0-99/*` / `bytes=0-99` (seen from some clients). */
function chunkRange(c: AppContext): ChunkRange | undefined {
  const header = c.req.header('content-range');
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(\d+|\*))?$/.exec(header.trim());
  if (!match) {
    throw new OciFailure(
      ociError('BLOB_UPLOAD_INVALID', { status: 416, message: `malformed Content-Range: ${header}` }),
    );
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) {
    throw new OciFailure(
      ociError('BLOB_UPLOAD_INVALID', { status: 416, message: `empty Content-Range: ${header}` }),
    );
  }
  // A total the range does not fit in: another reader of the header could take either number.
  const total = match[3];
  if (total !== undefined && total !== '*' && end >= Number(total)) {
    throw new OciFailure(
      ociError('BLOB_UPLOAD_INVALID', {
        status: 416,
        message: `Content-Range ends beyond its total: ${header}`,
      }),
    );
  }
  return { start, end };
}

export async function startUpload(c: AppContext, s: Services, name: string): Promise<Response> {
  const mount = c.req.query('mount');
  const from = c.req.query('from');
  if (mount !== undefined && from !== undefined) {
    const digest = parseDigestParam(mount);
    const principal = c.get('principal');
    if (digest.ok && isRepositoryName(from) && principal.can(from, 'pull')) {
      if (await s.uploads.mount(name, from, digest.value.value)) return created(c, name, digest.value.value);
    }
    // Not mountable for this caller: a normal upload session, as the spec prescribes.
  }
  const digestParam = c.req.query('digest');
  if (digestParam !== undefined) {
    unwrap(parseDigestParam(digestParam));
    const session = unwrap(await s.uploads.start(name, actorOf(c)));
    const chunk: UploadChunk = { body: bodyStream(c), range: undefined, contentLength: contentLength(c) };
    const done = unwrap(await s.uploads.complete(name, session.id, digestParam, chunk));
    return created(c, name, done.digest);
  }
  const session = unwrap(await s.uploads.start(name, actorOf(c)));
  return progress(c, name, session.id, 0, 202);
}

export async function uploadStatus(c: AppContext, s: Services, name: string, id: string): Promise<Response> {
  const session = unwrap(await s.uploads.status(name, id));
  return progress(c, name, id, session.size, 204);
}

export async function patchUpload(c: AppContext, s: Services, name: string, id: string): Promise<Response> {
  const chunk = { body: bodyStream(c), range: chunkRange(c), contentLength: contentLength(c) };
  const session = unwrap(await s.uploads.append(name, id, chunk));
  return progress(c, name, id, session.size, 202);
}

export async function finishUpload(c: AppContext, s: Services, name: string, id: string): Promise<Response> {
  const chunk: UploadChunk = {
    body: hasBody(c) ? bodyStream(c) : undefined,
    range: chunkRange(c),
    contentLength: contentLength(c),
  };
  const done = unwrap(await s.uploads.complete(name, id, c.req.query('digest'), chunk));
  return created(c, name, done.digest);
}

export async function cancelUpload(c: AppContext, s: Services, name: string, id: string): Promise<Response> {
  unwrap(await s.uploads.cancel(name, id));
  return c.body(null, 204, { 'Content-Length': '0' });
}
