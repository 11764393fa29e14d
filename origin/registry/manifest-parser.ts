// Parses and validates a pushed manifest: JSON, media type, descriptors, and what it references.
import { isDigest } from '../../shared/digest.ts';
import { fail, ociError, ok, type Result } from '../../shared/errors.ts';
import {
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  MANIFEST_TYPES,
  MediaType,
  NON_DISTRIBUTABLE_LAYER_TYPES,
} from '../../shared/media-types.ts';
import type { ManifestReference } from '../metadata/manifests.ts';

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
  readonly urls?: string[];
  readonly platform?: { architecture?: string; os?: string; variant?: string };
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly configDigest: string | null;
  readonly subjectDigest: string | null;
  readonly annotations: Record<string, string> | null;
  readonly references: readonly ManifestReference[];
  /** Children of an index, with their platforms. */
  readonly children: readonly Descriptor[];
}

const invalid = (message: string, detail?: unknown) =>
  fail<never>(ociError('MANIFEST_INVALID', { message, ...(detail === undefined ? {} : { detail }) }));

export function parseManifest(bytes: Uint8Array, contentType: string | undefined): Result<ParsedManifest> {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return invalid('manifest is not valid JSON');
  }
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
  const artifactType = doc.artifactType;
  if (artifactType !== undefined && typeof artifactType !== 'string')
    return invalid('artifactType must be a string');

  let subjectDigest: string | null = null;
  if (doc.subject !== undefined) {
    const subject = descriptor(doc.subject, 'subject');
    if (!subject.ok) return subject;
    subjectDigest = subject.value.digest;
  }

  if (IMAGE_MANIFEST_TYPES.includes(mediaType)) {
    const config = descriptor(doc.config, 'config');
    if (!config.ok) return config;
    if (!Array.isArray(doc.layers)) return invalid('layers must be an array');
    const references: ManifestReference[] = [{ digest: config.value.digest, kind: 'blob' }];
    for (const [i, raw] of doc.layers.entries()) {
      const layer = descriptor(raw, `layers[${i}]`);
      if (!layer.ok) return layer;
      // Non-distributable layers live elsewhere (their urls); they are not required here.
      if (NON_DISTRIBUTABLE_LAYER_TYPES.includes(layer.value.mediaType) && layer.value.urls?.length) continue;
      references.push({ digest: layer.value.digest, kind: 'blob' });
    }
    return ok({
      mediaType,
      artifactType: (artifactType as string | undefined) ?? config.value.mediaType,
      configDigest: config.value.digest,
      subjectDigest,
      annotations,
      references: unique(references),
      children: [],
    });
  }

  if (!INDEX_TYPES.includes(mediaType) || !Array.isArray(doc.manifests))
    return invalid('manifests must be an array');
  const children: Descriptor[] = [];
  for (const [i, raw] of doc.manifests.entries()) {
    const child = descriptor(raw, `manifests[${i}]`);
    if (!child.ok) return child;
    children.push(child.value);
  }
  return ok({
    mediaType,
    artifactType: (artifactType as string | undefined) ?? null,
    configDigest: null,
    subjectDigest,
    annotations,
    references: unique(children.map((c) => ({ digest: c.digest, kind: 'manifest' as const }))),
    children,
  });
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
  if (raw.urls !== undefined && !(Array.isArray(raw.urls) && raw.urls.every((u) => typeof u === 'string'))) {
    return invalid(`${where}.urls must be an array of strings`);
  }
  return ok(raw as unknown as Descriptor);
}

function unique(references: ManifestReference[]): ManifestReference[] {
  const seen = new Set<string>();
  return references.filter((r) => !seen.has(r.digest) && seen.add(r.digest));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isStringMap = (value: unknown): value is Record<string, string> =>
  isObject(value) && Object.values(value).every((v) => typeof v === 'string');
