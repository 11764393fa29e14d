// Media types the registry understands.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

/** Config media types that make an image manifest a container image (anything else is an artifact). */
export const IMAGE_CONFIG_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

/**
 * Layers that may live outside the registry: one that also carries `urls` is fetched from there
 * (shared/manifest.ts isExternalLayer is the one rule).
 */
export const NON_DISTRIBUTABLE_LAYER_TYPES: readonly string[] = [
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
];

/**
 * The media types an `Accept` header names, lower-cased and without parameters (q-values are
 * ignored). A registry's choice of which manifest to serve depends on this list only, so two
 * requests whose lists are equal get the same answer (the edge keys its manifest cache on it).
 */
export function acceptedTypes(header: string | null | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter((t) => t.length > 0);
}
