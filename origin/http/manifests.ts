// GET/HEAD/PUT/DELETE /v2/{name}/manifests/{reference}
import { OciFailure, ociError } from '../../shared/errors.ts';
import { MAX_MANIFEST_BYTES } from '../../shared/manifest.ts';
import { manifestAnswer, negotiate } from '../../shared/manifest-answer.ts';
import { acceptedTypes } from '../../shared/media-types.ts';
import { PULL_REPORTED_HEADER } from '../../shared/pull-report.ts';
import { parseReference } from '../../shared/reference.ts';
import type { Services } from '../services.ts';
import { type AppContext, actorOf } from './context.ts';
import { isReportSecret } from './pull-reports.ts';
import { readBoundedBody } from './request-body.ts';
import { unwrap } from './respond.ts';

export async function getManifest(
  c: AppContext,
  s: Services,
  name: string,
  reference: string,
): Promise<Response> {
  const stored = unwrap(await s.manifests.get(name, reference));
  const negotiated = unwrap(
    negotiate(
      { mediaType: stored.record.mediaType, bytes: stored.bytes },
      acceptedTypes(c.req.header('accept')),
    ),
  );
  const manifest =
    negotiated.serve === 'stored' ? stored : unwrap(await s.manifests.get(name, negotiated.digest));
  const { record, bytes } = manifest;
  const decision = await s.policy.check({
    repository: name,
    digest: record.digest,
    mediaType: record.mediaType,
    bytes,
  });
  if (!decision.allowed) {
    throw new OciFailure(
      ociError('DENIED', {
        message: decision.message,
        detail: { digest: record.digest, vulnerabilities: decision.vulnerabilities },
        headers: { 'X-Registry-Policy-Epoch': String(s.policy.currentEpoch) },
      }),
    );
  }
  const answer = manifestAnswer(
    { digest: record.digest, mediaType: record.mediaType, size: bytes.byteLength },
    c.req.method,
    c.req.header('if-none-match'),
  );
  const headers = {
    ...answer.headers,
    // Lets a cache in front (the edge) know which policy state this answer was decided under.
    'X-Registry-Policy-Epoch': String(s.policy.currentEpoch),
  };
  if (!answer.withBody) return c.body(null, answer.status, headers);
  // A pull: a GET answered with the manifest. A HEAD (docker's check, a client's revalidation) or
  // a 304 is none. The edge, reporting the pulls it serves, says so on the GETs it makes, with the
  // report secret (no client can leave its pulls out); an origin that takes no reports counts them.
  const reported = isReportSecret(c.req.header(PULL_REPORTED_HEADER), s.config.pulls.report_secret);
  if (c.req.method === 'GET' && !reported) {
    const ref = parseReference(reference);
    s.pulls.record(name, record.digest, ref?.kind === 'tag' ? ref.tag : null, 'origin');
  }
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
  if (result.manifest.subject) headers['OCI-Subject'] = result.manifest.subject.digest;
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
