// GET/HEAD/PUT/DELETE /v2/{name}/manifests/{reference}
import { OciFailure, ociError } from '../../shared/errors.ts';
import { acceptedTypes, IMAGE_MANIFEST_TYPES, isIndexType } from '../../shared/media-types.ts';
import type { CachedManifest } from '../cache/metadata-cache.ts';
import { type Descriptor, MAX_MANIFEST_BYTES } from '../registry/manifest-parser.ts';
import type { Services } from '../services.ts';
import { type AppContext, actorOf } from './context.ts';
import { readBoundedBody } from './request-body.ts';
import { unwrap } from './respond.ts';

/**
 * Serves the stored manifest as it is, except when a client that does not accept indexes asks
 * for one: then, as Docker's registry does, the linux/amd64 image of the index is served.
 */
async function negotiate(
  s: Services,
  name: string,
  manifest: CachedManifest,
  accept: string[],
): Promise<CachedManifest> {
  const type = manifest.record.mediaType;
  if (accept.length === 0 || accept.includes('*/*') || accept.includes(type) || !isIndexType(type))
    return manifest;
  if (!accept.some((t) => IMAGE_MANIFEST_TYPES.includes(t))) return manifest;
  const index = JSON.parse(new TextDecoder().decode(manifest.bytes)) as { manifests?: Descriptor[] };
  const children = (index.manifests ?? []).filter((d) => accept.includes(d.mediaType));
  const child =
    children.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64') ?? children[0];
  if (!child) {
    throw new OciFailure(
      ociError('MANIFEST_UNKNOWN', { message: 'manifest not available in a media type the client accepts' }),
    );
  }
  return unwrap(await s.manifests.get(name, child.digest));
}

export async function getManifest(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  const stored = unwrap(await s.manifests.get(name, reference));
  const manifest = await negotiate(s, name, stored, acceptedTypes(c.req.header('accept')));
  const { record, bytes } = manifest;
  const decision = await s.policy.check({ repository: name, digest: record.digest, bytes });
  if (!decision.allowed) {
    throw new OciFailure(
      ociError('DENIED', {
        message: decision.message,
        detail: { digest: record.digest, vulnerabilities: decision.vulnerabilities },
        headers: { 'X-Registry-Policy-Epoch': String(s.policy.currentEpoch) },
      }),
    );
  }
  const headers = {
    'Content-Type': record.mediaType,
    'Docker-Content-Digest': record.digest,
    ETag: `"${record.digest}"`,
    'Content-Length': String(bytes.byteLength),
    // Lets a cache in front (the edge) know which policy state this answer was decided under.
    'X-Registry-Policy-Epoch': String(s.policy.currentEpoch),
  };
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch !== undefined && (ifNoneMatch === `"${record.digest}"` || ifNoneMatch === record.digest)) {
    return c.body(null, 304, headers);
  }
  if (c.req.method === 'HEAD') return c.body(null, 200, headers);
  return c.body(bytes as Uint8Array<ArrayBuffer>, 200, headers);
}

export async function putManifest(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  const bytes = unwrap(await readBoundedBody(c, MAX_MANIFEST_BYTES));
  const result = unwrap(
    await s.manifests.put(name, reference, bytes, c.req.header('content-type'), actorOf(c)),
  );
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${result.digest}`,
    'Docker-Content-Digest': result.digest,
    'Content-Length': '0',
  };
  if (result.subjectDigest) headers['OCI-Subject'] = result.subjectDigest;
  return c.body(null, 201, headers);
}

export async function deleteManifest(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  unwrap(await s.manifests.delete(name, reference, actorOf(c)));
  return c.body(null, 202, { 'Content-Length': '0' });
}
