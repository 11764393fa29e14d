// What a manifest refers to, for the facts a successful answer of origin implies: an image
// manifest's config and (distributable) layers are in the repository — origin checked that when
// it was pushed; an index's images are in it, and are allowed whenever the index is (origin blocks
// an index when any of its images is blocked).
import {
  IMAGE_MANIFEST_TYPES,
  isIndexType,
  NON_DISTRIBUTABLE_LAYER_TYPES,
} from '../../shared/media-types.ts';

export interface References {
  /** Blobs the repository holds (config and layers of an image manifest). */
  readonly blobs: string[];
  /** Manifests the repository holds (images of an index). */
  readonly children: string[];
}

interface RawDescriptor {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly urls?: unknown;
}

const digestOf = (d: unknown): string | undefined =>
  typeof d === 'object' && d !== null && typeof (d as RawDescriptor).digest === 'string'
    ? ((d as RawDescriptor).digest as string)
    : undefined;

export function manifestReferences(mediaType: string, bytes: Uint8Array): References {
  let doc: { config?: unknown; layers?: unknown; manifests?: unknown };
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { blobs: [], children: [] };
  }
  if (isIndexType(mediaType)) {
    const children = Array.isArray(doc.manifests) ? doc.manifests.map(digestOf) : [];
    return { blobs: [], children: children.filter((d): d is string => d !== undefined) };
  }
  if (!IMAGE_MANIFEST_TYPES.includes(mediaType)) return { blobs: [], children: [] };
  const blobs = [digestOf(doc.config)];
  for (const layer of Array.isArray(doc.layers) ? (doc.layers as RawDescriptor[]) : []) {
    const foreign =
      typeof layer?.mediaType === 'string' &&
      NON_DISTRIBUTABLE_LAYER_TYPES.includes(layer.mediaType) &&
      Array.isArray(layer.urls) &&
      layer.urls.length > 0;
    if (!foreign) blobs.push(digestOf(layer));
  }
  return { blobs: blobs.filter((d): d is string => d !== undefined), children: [] };
}
