// The one reading of a manifest (image manifest or index): its JSON parsed and checked once into a
// typed value, and what origin, the scanner and the edge learn from it — what the repository must
// hold for it, and what a scan reads. The same strict parse serves pushes and stored bytes (origin
// stored only what passed it; the edge reads bytes whose digest it checked). Web APIs only.
import { isDigest } from './digest.ts';
import { fail, ociError, ok, type Result } from './errors.ts';
import {
  IMAGE_CONFIG_TYPES,
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MediaType,
  NON_DISTRIBUTABLE_LAYER_TYPES,
} from './media-types.ts';
import { isStorableText } from './storable-text.ts';
import { parseStrictJson } from './strict-json.ts';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  readonly platform?: Platform;
}

interface ManifestCommon {
  /** Declared in the JSON, else the Content-Type it came with, else guessed from its shape. */
  readonly mediaType: string;
  /** Declared, or an image manifest's config media type: what the referrers API reports. */
  readonly artifactType: string | null;
  readonly subject: Descriptor | null;
  readonly annotations: Readonly<Record<string, string>> | null;
}

export interface ImageManifest extends ManifestCommon {
  readonly kind: 'image-manifest';
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

export interface ImageIndex extends ManifestCommon {
  readonly kind: 'index';
  /** Its manifests, with their platforms. */
  readonly children: readonly Descriptor[];
}

export type Manifest = ImageManifest | ImageIndex;

/** Something a manifest needs the repository to hold (stored as manifest_references; GC marks them). */
export interface ManifestReference {
  readonly digest: string;
  readonly kind: 'blob' | 'manifest';
}

const invalid = (message: string) => fail<never>(ociError('MANIFEST_INVALID', { message }));

/**
 * Parses manifest bytes, refusing what a push must not store (same codes and messages for a push
 * and for stored bytes). `contentType` is the Content-Type of a push, or the stored media type.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): Result<Manifest> {
  let text: string;
  try {
    // ignoreBOM keeps a byte order mark in the text, for the strict parse to refuse.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return invalid('manifest is not valid UTF-8');
  }
  const json = parseStrictJson(text);
  if (!json.ok) return invalid(`manifest ${json.reason}`);
  const doc = json.value;
  if (!isObject(doc)) return invalid('manifest must be a JSON object');
  const header = contentType?.split(';')[0]?.trim().toLowerCase();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (
    header === MediaType.dockerSchema1 ||
    header === MediaType.dockerSchema1Signed ||
    doc.schemaVersion === 1
  ) {
    return invalid('Docker schema 1 manifests are not supported');
  }
  if (doc.schemaVersion !== 2) return invalid('schemaVersion must be 2');
  if (declared !== undefined && header !== undefined && header !== '' && declared !== header) {
    return invalid(`mediaType ${declared} does not match Content-Type ${header}`);
  }
  const mediaType =
    declared ?? (header || (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest));
  if (!MANIFEST_TYPES.includes(mediaType)) return invalid(`unsupported manifest media type ${mediaType}`);

  const annotations = doc.annotations === undefined ? null : doc.annotations;
  if (annotations !== null && !isStringMap(annotations))
    return invalid('annotations must map strings to strings');
  if (annotations !== null && Object.entries(annotations).flat().some(unstorable))
    return invalid('annotations must not hold NUL characters or lone surrogates');
  const artifactType = doc.artifactType;
  if (artifactType !== undefined && typeof artifactType !== 'string')
    return invalid('artifactType must be a string');
  if (artifactType !== undefined && unstorable(artifactType))
    return invalid('artifactType must not hold NUL characters or lone surrogates');

  let subject: Descriptor | null = null;
  if (doc.subject !== undefined) {
    const parsed = descriptor(doc.subject, 'subject');
    if (!parsed.ok) return parsed;
    subject = parsed.value;
  }

  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    const config = descriptor(doc.config, 'config');
    if (!config.ok) return config;
    if (!Array.isArray(doc.layers)) return invalid('layers must be an array');
    const layers = descriptors(doc.layers, 'layers');
    if (!layers.ok) return layers;
    // The config's media type stands in for a missing artifactType, so it is stored as one.
    if (artifactType === undefined && unstorable(config.value.mediaType))
      return invalid('config.mediaType must not hold NUL characters or lone surrogates');
    return ok({
      kind: 'image-manifest',
      mediaType,
      artifactType: artifactType ?? config.value.mediaType,
      subject,
      annotations,
      config: config.value,
      layers: layers.value,
    });
  }

  if (!INDEX_TYPES.includes(mediaType) || !Array.isArray(doc.manifests))
    return invalid('manifests must be an array');
  const children = descriptors(doc.manifests, 'manifests');
  if (!children.ok) return children;
  return ok({
    kind: 'index',
    mediaType,
    artifactType: artifactType ?? null,
    subject,
    annotations,
    children: children.value,
  });
}

/**
 * The one rule for non-distributable layers: a layer is external — not in this registry, so not
 * required at push, not read by a scan, not linked by the edge — iff its media type is
 * non-distributable AND it names the `urls` it is fetched from. Without urls it is pushed here
 * like any other layer.
 */
export function isExternalLayer(layer: Descriptor): boolean {
  return NON_DISTRIBUTABLE_LAYER_TYPES.includes(layer.mediaType) && (layer.urls?.length ?? 0) > 0;
}

/** The layers this registry holds: all but the external ones. */
export function storedLayers(manifest: ImageManifest): Descriptor[] {
  return manifest.layers.filter((layer) => !isExternalLayer(layer));
}

/**
 * What the repository must hold for the manifest, each once: an image manifest's config and
 * stored layers, an index's children. A push is refused without them, GC keeps them, and an
 * answer of origin serving the manifest vouches for them (the edge links them).
 */
export function manifestReferences(manifest: Manifest): ManifestReference[] {
  const kind = manifest.kind === 'index' ? 'manifest' : 'blob';
  const seen = new Set<string>();
  return requiredDescriptors(manifest)
    .filter((d) => !seen.has(d.digest) && seen.add(d.digest))
    .map((d) => ({ digest: d.digest, kind }));
}

/** The descriptors of what the repository must hold (manifestReferences), each as written, repeats too. */
export function requiredDescriptors(manifest: Manifest): readonly Descriptor[] {
  return manifest.kind === 'index' ? manifest.children : [manifest.config, ...storedLayers(manifest)];
}

/** A container image, as a scan reads it. */
export interface ContainerImage {
  readonly kind: 'image';
  readonly configDigest: string;
  /** Every layer stored here (the same rule as what a push must find). */
  readonly layers: readonly Descriptor[];
}

/** What scans and pull policies see in a manifest: an image, an index of images, or an artifact. */
export type ScanSubject =
  | ContainerImage
  | { readonly kind: 'index'; readonly children: readonly { digest: string; platform: string }[] }
  | { readonly kind: 'artifact' };

/**
 * What reading an image's scan results needs of a ScanSubject: which images it stands for (an
 * index's children), not what a scanner reads (an image's layers).
 */
export type ScanOutline =
  | { readonly kind: 'image' }
  | { readonly kind: 'index'; readonly children: readonly { digest: string; platform: string }[] }
  | { readonly kind: 'artifact' };

export function scanSubject(manifest: Manifest): ScanSubject {
  if (manifest.kind === 'index') {
    return {
      kind: 'index',
      // `unknown/unknown` entries are attestations (buildx), not images.
      children: manifest.children
        .filter((c) => c.platform?.architecture !== 'unknown')
        .map((c) => ({ digest: c.digest, platform: platformName(c.platform) })),
    };
  }
  if (!IMAGE_CONFIG_TYPES.includes(manifest.config.mediaType)) return { kind: 'artifact' };
  return { kind: 'image', configDigest: manifest.config.digest, layers: storedLayers(manifest) };
}

function platformName(platform: Platform | undefined): string {
  if (!platform) return 'unknown';
  return [platform.os, platform.architecture, platform.variant]
    .filter((x) => x !== undefined && x !== '')
    .join('/');
}

function descriptors(raw: unknown[], where: string): Result<Descriptor[]> {
  const parsed: Descriptor[] = [];
  for (const [i, item] of raw.entries()) {
    const one = descriptor(item, `${where}[${i}]`);
    if (!one.ok) return one;
    parsed.push(one.value);
  }
  return ok(parsed);
}

function descriptor(raw: unknown, where: string): Result<Descriptor> {
  if (!isObject(raw)) return invalid(`${where} must be a descriptor object`);
  if (typeof raw.mediaType !== 'string' || raw.mediaType.length === 0)
    return invalid(`${where}.mediaType is missing`);
  if (typeof raw.digest !== 'string' || !isDigest(raw.digest)) {
    return fail(
      ociError('DIGEST_INVALID', { message: `${where}.digest is not a valid digest`, detail: raw.digest }),
    );
  }
  if (typeof raw.size !== 'number' || !Number.isSafeInteger(raw.size) || raw.size < 0) {
    return invalid(`${where}.size must be a non-negative integer`);
  }
  const urls = raw.urls;
  if (urls !== undefined && !(Array.isArray(urls) && urls.every((u) => typeof u === 'string'))) {
    return invalid(`${where}.urls must be an array of strings`);
  }
  // Optional fields a push has never been refused for are kept only when well-formed.
  return ok({
    mediaType: raw.mediaType,
    digest: raw.digest,
    size: raw.size,
    ...(typeof raw.artifactType === 'string' ? { artifactType: raw.artifactType } : {}),
    ...(isStringMap(raw.annotations) ? { annotations: raw.annotations } : {}),
    ...(urls === undefined ? {} : { urls: urls as string[] }),
    ...(isObject(raw.platform) ? { platform: platform(raw.platform) } : {}),
  });
}

function platform(raw: Record<string, unknown>): Platform {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const [os, architecture, variant] = [text(raw.os), text(raw.architecture), text(raw.variant)];
  return {
    ...(os === undefined ? {} : { os }),
    ...(architecture === undefined ? {} : { architecture }),
    ...(variant === undefined ? {} : { variant }),
  };
}

// The annotations and the artifact type are stored in the metadata database, as text.
const unstorable = (text: string): boolean => !isStorableText(text);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isStringMap = (value: unknown): value is Record<string, string> =>
  isObject(value) && Object.values(value).every((v) => typeof v === 'string');
