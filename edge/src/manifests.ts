// GET/HEAD /v2/{name}/manifests/{reference}, answered as origin answers (origin/http/manifests.ts)
// from what origin last said, for as long as that may stand:
//
// - What origin serves for a reference depends on the repository, the reference and the client's
//   Accept (an index is replaced by its linux/amd64 image for clients that do not accept
//   indexes). So the mapping reference → served digest is cached per (repository, reference,
//   accepted media types): `ref/…`. For a tag it is revalidated after TAG_TTL with a conditional
//   GET (If-None-Match: the digest; 304 keeps it); for a digest it never changes. Its key holds
//   the repository's generation, which a manifest write through the edge replaces
//   (generation.ts): the next request then asks origin, whatever its reference and Accept.
// - Manifest bytes are cached by the digest they hash to (checked here), with their media type.
// - Whether (repository, digest) may be pulled — it exists there and no policy blocks it — is
//   what origin said within POLICY_TTL (`allow/…`); after that the reference is asked again, and a
//   refusal (403 DENIED, 404) is passed through as origin wrote it and never cached. Every answer
//   carries origin's X-Registry-Policy-Epoch; a decision taken under an older epoch than the edge
//   has since seen is not reused.
// - While origin is unreachable (network error, 5xx), what was last good is served for
//   STALE_SECONDS past its TTL.

import { API_VERSION, API_VERSION_HEADER } from '../../shared/api-version.ts';
import { digestOf, parseDigest } from '../../shared/digest.ts';
import { errorResponse, ociError } from '../../shared/errors.ts';
import { manifestReferences, parseManifest } from '../../shared/manifest.ts';
import { manifestAnswer } from '../../shared/manifest-answer.ts';
import { acceptedTypes } from '../../shared/media-types.ts';
import { PULL_REPORTED_HEADER } from '../../shared/pull-report.ts';
import { parseReference } from '../../shared/reference.ts';
import { generationOf, generationScope } from './generation.ts';
import { recordLinks } from './links.ts';
import { type OriginAnswer, passThrough } from './origin.ts';
import { notePull } from './pull-reports.ts';
import type { Services } from './services.ts';
import { singleFlight } from './single-flight.ts';

export interface ManifestRequest {
  readonly name: string;
  readonly reference: string;
  readonly method: string;
  readonly accept: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly authorization: string | undefined;
}

interface Manifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

interface RefEntry {
  readonly digest: string;
  /** When origin last confirmed the mapping (ms). */
  readonly at: number;
}

interface AllowEntry {
  /** When origin last served the manifest to a pull (ms). */
  readonly at: number;
  readonly epoch: number;
}

type Outcome =
  | {
      readonly kind: 'current';
      readonly manifest: Manifest;
      readonly epoch: number;
      readonly revalidated: boolean;
    }
  | { readonly kind: 'refused'; readonly answer: OriginAnswer }
  | { readonly kind: 'unavailable'; readonly reason: string };

const DIGEST_REF_RETAIN_MS = 24 * 3600 * 1000;

/** The highest policy epoch origin's answers have shown this isolate. */
let latestEpoch = Number.NEGATIVE_INFINITY;

/** Recently served manifests, in the isolate (bounded by bytes). */
const recent = new Map<string, Manifest>();
let recentBytes = 0;
const RECENT_LIMIT_BYTES = 16 * 1024 * 1024;

function keepRecent(manifest: Manifest): void {
  if (recent.has(manifest.digest) || manifest.bytes.byteLength > RECENT_LIMIT_BYTES / 8) return;
  recent.set(manifest.digest, manifest);
  recentBytes += manifest.bytes.byteLength;
  for (const [digest, old] of recent) {
    if (recentBytes <= RECENT_LIMIT_BYTES) break;
    recent.delete(digest);
    recentBytes -= old.bytes.byteLength;
  }
}

const manifestKey = (digest: string) => `manifest/${digest}`;
const refKey = (scope: string, reference: string, accepted: string) =>
  `ref/${scope}/${reference}/${accepted}`;
const allowKey = (name: string, digest: string) => `allow/${name}/${digest}`;

/** The Accept header as origin reads it; long lists are hashed to keep the key short. */
async function acceptKey(header: string | undefined): Promise<string> {
  const types = [...new Set(acceptedTypes(header))].sort().join(',');
  return types.length <= 300 ? types : digestOf(new TextEncoder().encode(types));
}

async function readManifest(s: Services, digest: string): Promise<Manifest | undefined> {
  const remembered = recent.get(digest);
  if (remembered) return remembered;
  const entry = await s.cache.get(manifestKey(digest));
  if (!entry) return undefined;
  const manifest = {
    digest,
    mediaType: entry.contentType ?? '',
    bytes: new Uint8Array(await new Response(entry.body).arrayBuffer()),
  };
  keepRecent(manifest);
  return manifest;
}

export async function getManifest(s: Services, request: ManifestRequest): Promise<Response> {
  const { name, reference, method } = request;
  const { config } = s;
  const byDigest = parseReference(reference)?.kind === 'digest';
  const [generation, accepted] = await Promise.all([generationOf(s, name), acceptKey(request.accept)]);
  const scope = generationScope(name, generation);
  const key = refKey(scope, reference, accepted);
  const entry = await s.meta.get<RefEntry>(key);
  const now = s.clock.now();
  let cached: Manifest | undefined;
  let allow: AllowEntry | undefined;
  if (entry) {
    [cached, allow] = await Promise.all([
      readManifest(s, entry.digest),
      s.meta.get<AllowEntry>(allowKey(name, entry.digest)),
    ]);
    const mappingFresh = byDigest || now - entry.at < config.tagTtlMs;
    const allowed = allow && now - allow.at < config.policyTtlMs && allow.epoch >= latestEpoch;
    if (cached && allow && mappingFresh && allowed) return serve(s, request, cached, allow.epoch, 'HIT');
  }

  const outcome = await singleFlight(
    `manifest ${key} ${cached?.digest}`,
    config.originTimeoutMs,
    () => ask(s, request, cached),
    (o) => o.kind === 'current',
  );
  switch (outcome.kind) {
    case 'current':
      remember(s, name, scope, reference, byDigest, accepted, outcome);
      return serve(s, request, outcome.manifest, outcome.epoch, outcome.revalidated ? 'REVALIDATED' : 'MISS');
    case 'refused':
      forget(s, name, key, outcome.answer);
      return passThrough(outcome.answer, method);
    case 'unavailable': {
      const mappingUsable = byDigest || (entry && now - entry.at < config.tagTtlMs + config.staleMs);
      if (cached && allow && mappingUsable && now - allow.at < config.policyTtlMs + config.staleMs)
        return serve(s, request, cached, allow.epoch, 'STALE');
      return errorResponse(
        ociError('UNAVAILABLE', { message: `cannot fetch the manifest: ${outcome.reason}` }),
        method,
      );
    }
  }
}

/** A GET to origin (also for a HEAD: the bytes fill the cache), conditional when bytes are cached. */
async function ask(s: Services, request: ManifestRequest, cached: Manifest | undefined): Promise<Outcome> {
  const headers: Record<string, string> = {};
  if (request.authorization) headers.Authorization = request.authorization;
  if (request.accept) headers.Accept = request.accept;
  if (cached) headers['If-None-Match'] = `"${cached.digest}"`;
  // This GET may be for a client's HEAD, or shared by several clients: the edge counts their pulls.
  if (s.config.pullReport) headers[PULL_REPORTED_HEADER] = s.config.pullReport.secret;
  const fetched = await s.origin.fetch(`/v2/${request.name}/manifests/${request.reference}`, { headers });
  if (!fetched.ok) return { kind: 'unavailable', reason: fetched.reason };
  const { answer } = fetched;
  const epoch = Number(answer.headers.get('x-registry-policy-epoch') ?? '0') || 0;
  // Any answer tells where origin's policy state is: decisions taken before it are not reused.
  latestEpoch = Math.max(latestEpoch, epoch);
  const digest = answer.headers.get('docker-content-digest') ?? '';
  if (answer.status === 304 && cached && digest === cached.digest)
    return { kind: 'current', manifest: cached, epoch, revalidated: true };
  const mediaType = answer.headers.get('content-type');
  const parsed = parseDigest(digest);
  if (
    answer.status === 200 &&
    mediaType &&
    parsed.ok &&
    (await digestOf(answer.body, parsed.digest.algorithm)) === digest
  ) {
    return {
      kind: 'current',
      manifest: { digest, mediaType, bytes: answer.body },
      epoch,
      revalidated: false,
    };
  }
  return { kind: 'refused', answer };
}

/**
 * What origin's answer vouches for, kept for the next requests: the mapping of the reference
 * (and, for a tag, of the digest it gave: asked by that digest with the same Accept, origin gives
 * the same manifest), the decision, and the links and decisions the manifest implies.
 */
function remember(
  s: Services,
  name: string,
  scope: string,
  reference: string,
  byDigest: boolean,
  accepted: string,
  outcome: Extract<Outcome, { kind: 'current' }>,
): void {
  const { config } = s;
  const { manifest, epoch } = outcome;
  const at = s.clock.now();
  const mapping: RefEntry = { digest: manifest.digest, at };
  if (!byDigest)
    s.defer(s.meta.put(refKey(scope, reference, accepted), mapping, config.tagTtlMs + config.staleMs));
  s.defer(
    s.meta.put(
      refKey(scope, byDigest ? reference : manifest.digest, accepted),
      mapping,
      DIGEST_REF_RETAIN_MS,
    ),
  );
  // What origin stored passed this parse at push; bytes that fail it vouch for no more than themselves.
  const parsed = parseManifest(manifest.bytes, manifest.mediaType);
  const references = parsed.ok ? manifestReferences(parsed.value) : [];
  const children = references.filter((r) => r.kind === 'manifest').map((r) => r.digest);
  const blobs = references.filter((r) => r.kind === 'blob').map((r) => r.digest);
  for (const digest of [manifest.digest, ...children]) {
    s.defer(
      s.meta.put(
        allowKey(name, digest),
        { at, epoch } satisfies AllowEntry,
        config.policyTtlMs + config.staleMs,
      ),
    );
  }
  recordLinks(s, name, blobs, at);
  keepRecent(manifest);
  if (!outcome.revalidated) {
    s.defer(
      s.cache.put(
        manifestKey(manifest.digest),
        manifest.bytes,
        manifest.bytes.byteLength,
        manifest.mediaType,
      ),
    );
  }
}

/** A refusal: a 404 drops the mapping; a policy block drops the blocked digest's decision at once. */
function forget(s: Services, name: string, key: string, answer: OriginAnswer): void {
  if (answer.status === 404) s.defer(s.meta.delete(key));
  if (answer.status !== 403) return;
  try {
    const body = JSON.parse(new TextDecoder().decode(answer.body)) as {
      errors?: { detail?: { digest?: unknown } }[];
    };
    const digest = body.errors?.[0]?.detail?.digest;
    if (typeof digest === 'string') s.defer(s.meta.delete(allowKey(name, digest)));
  } catch {
    // Not origin's JSON: nothing more to learn from it.
  }
}

function serve(
  s: Services,
  request: ManifestRequest,
  manifest: Manifest,
  epoch: number,
  cache: string,
): Response {
  const answer = manifestAnswer(
    { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.byteLength },
    request.method,
    request.ifNoneMatch,
  );
  // A pull, as origin counts one: a GET answered with the manifest (not a HEAD, not a 304).
  if (request.method === 'GET' && answer.withBody) {
    const ref = parseReference(request.reference);
    notePull(s, request.name, manifest.digest, ref?.kind === 'tag' ? ref.tag : undefined);
  }
  const headers = {
    ...answer.headers,
    'X-Registry-Policy-Epoch': String(epoch),
    [API_VERSION_HEADER]: API_VERSION,
    'X-Edge-Cache': cache,
  };
  return new Response(answer.withBody ? manifest.bytes : null, { status: answer.status, headers });
}
