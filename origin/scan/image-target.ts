// What a scanner is given: an image manifest's config and layers, read from the manifest bytes.
// Only container images are scanned; indexes are judged by their children, artifacts not at all.
import { MediaType, NON_DISTRIBUTABLE_LAYER_TYPES } from '../../shared/media-types.ts';

export interface LayerRef {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface ImageTarget {
  readonly repository: string;
  readonly digest: string;
  readonly configDigest: string;
  readonly layers: readonly LayerRef[];
}

export type ManifestKind =
  | { kind: 'image'; configDigest: string; layers: LayerRef[] }
  | { kind: 'index'; children: { digest: string; platform: string }[] }
  | { kind: 'artifact' };

const IMAGE_CONFIG_TYPES = new Set<string>([
  MediaType.ociConfig,
  'application/vnd.docker.container.image.v1+json',
]);

interface Descriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
}

/** Classifies stored (hence already validated) manifest bytes. */
export function manifestKind(bytes: Uint8Array): ManifestKind {
  const doc = JSON.parse(new TextDecoder().decode(bytes)) as {
    mediaType?: string;
    config?: Descriptor;
    layers?: Descriptor[];
    manifests?: Descriptor[];
  };
  if (Array.isArray(doc.manifests)) {
    return {
      kind: 'index',
      children: doc.manifests
        .filter((d) => typeof d.digest === 'string' && d.platform?.architecture !== 'unknown')
        .map((d) => ({ digest: d.digest as string, platform: platformName(d.platform) })),
    };
  }
  const config = doc.config;
  if (!config || typeof config.mediaType !== 'string' || !IMAGE_CONFIG_TYPES.has(config.mediaType)) {
    return { kind: 'artifact' };
  }
  const layers = (doc.layers ?? [])
    .filter(
      (l) => typeof l.digest === 'string' && !NON_DISTRIBUTABLE_LAYER_TYPES.includes(String(l.mediaType)),
    )
    .map((l) => ({ digest: l.digest as string, mediaType: String(l.mediaType), size: Number(l.size) }));
  return { kind: 'image', configDigest: String(config.digest), layers };
}

function platformName(p: Descriptor['platform']): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter((x) => typeof x === 'string' && x.length > 0).join('/');
}
