// How a manifest GET/HEAD is answered, so that origin and edge answer alike: which manifest serves
// the client's Accept, and the status and headers of the answer. Web APIs only.
import { fail, ociError, ok, type Result } from './errors.ts';
import { parseManifest } from './manifest.ts';
import { IMAGE_MANIFEST_TYPES, isIndexType } from './media-types.ts';

/** Serve the stored manifest, or instead the index's child of this digest. */
export type Negotiated = { readonly serve: 'stored' } | { readonly serve: 'child'; readonly digest: string };

const STORED: Negotiated = { serve: 'stored' };

/**
 * The stored manifest is served as it is, except when a client that accepts image manifests but
 * not indexes asks for an index: then, as Docker's registry does, its linux/amd64 image among
 * those of an accepted type (else the first of them). `accepted` is acceptedTypes(Accept).
 */
export function negotiate(
  stored: { readonly mediaType: string; readonly bytes: Uint8Array },
  accepted: readonly string[],
): Result<Negotiated> {
  const type = stored.mediaType;
  if (accepted.length === 0 || accepted.includes('*/*') || accepted.includes(type) || !isIndexType(type))
    return ok(STORED);
  if (!accepted.some((t) => IMAGE_MANIFEST_TYPES.includes(t))) return ok(STORED);
  const index = parseManifest(stored.bytes, type);
  if (!index.ok) return index;
  const children = index.value.kind === 'index' ? index.value.children : [];
  const candidates = children.filter((d) => accepted.includes(d.mediaType));
  const child =
    candidates.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64') ??
    candidates[0];
  if (!child) {
    return fail(
      ociError('MANIFEST_UNKNOWN', { message: 'manifest not available in a media type the client accepts' }),
    );
  }
  return ok({ serve: 'child', digest: child.digest });
}

export interface ManifestAnswer {
  readonly status: 200 | 304;
  /** Content-Type, Docker-Content-Digest, ETag, Content-Length; each tier adds its own. */
  readonly headers: Record<string, string>;
  /** Whether the manifest's bytes go in the body (not for a HEAD nor a 304). */
  readonly withBody: boolean;
}

export function manifestAnswer(
  manifest: { readonly digest: string; readonly mediaType: string; readonly size: number },
  method: string,
  ifNoneMatch: string | null | undefined,
): ManifestAnswer {
  const { digest } = manifest;
  const headers = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Content-Length': String(manifest.size),
  };
  const unchanged = ifNoneMatch != null && (ifNoneMatch === `"${digest}"` || ifNoneMatch === digest);
  return { status: unchanged ? 304 : 200, headers, withBody: !unchanged && method !== 'HEAD' };
}
