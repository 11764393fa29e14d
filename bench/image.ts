// Images for the runs: the small one of the request-rate runs (a config blob, one 16 KiB layer, an
// OCI image manifest), and images built from given layers, pushed through the API or written
// straight into a storage layout (see s3-env.ts).
import { createHash, randomBytes } from 'node:crypto';

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export async function pushBytes(
  base: string,
  repository: string,
  bytes: Uint8Array,
  auth: Record<string, string>,
): Promise<string> {
  const digest = sha256(bytes);
  const post = await fetch(new URL(`/v2/${repository}/blobs/uploads/`, base), {
    method: 'POST',
    headers: auth,
  });
  await post.arrayBuffer();
  const where = post.headers.get('location');
  if (post.status !== 202 || !where) throw new Error(`POST blob upload: ${post.status}`);
  const put = new URL(where, base);
  put.searchParams.set('digest', digest);
  const done = await fetch(put, {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': 'application/octet-stream' },
    body: bytes as Uint8Array<ArrayBuffer>,
  });
  if (done.status !== 201) throw new Error(`PUT blob upload: ${done.status} ${await done.text()}`);
  return digest;
}

export interface SmallImage {
  readonly layer: string;
  readonly manifest: string;
}

export async function pushSmallImage(
  base: string,
  repository: string,
  tag: string,
  auth: Record<string, string>,
): Promise<SmallImage> {
  const layerBytes = randomBytes(16 * 1024);
  const configBytes = new TextEncoder().encode(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layerBytes)] },
      config: {},
    }),
  );
  const config = await pushBytes(base, repository, configBytes, auth);
  const layer = await pushBytes(base, repository, layerBytes, auth);
  const manifestBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: config,
        size: configBytes.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: layerBytes.length },
      ],
    }),
  );
  const put = await fetch(new URL(`/v2/${repository}/manifests/${tag}`, base), {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': OCI_MANIFEST },
    body: manifestBytes,
  });
  if (put.status !== 201) throw new Error(`PUT manifest: ${put.status} ${await put.text()}`);
  return { layer, manifest: sha256(manifestBytes) };
}

export interface Blob {
  readonly digest: string;
  readonly bytes: Uint8Array;
}

export interface BuiltImage {
  /** The config blob, then the layers. */
  readonly blobs: readonly Blob[];
  readonly layers: readonly Blob[];
  readonly manifest: Blob;
}

export const blobOf = (bytes: Uint8Array): Blob => ({ digest: sha256(bytes), bytes });

/** An OCI image (config + manifest) around the given layers. */
export function buildImage(layerBytes: readonly Uint8Array[]): BuiltImage {
  return imageOf(layerBytes.map(blobOf));
}

/**
 * An OCI image (config + manifest) around the given gzip layers, its config listing `diffIds`
 * (by default the layers' own digests) and holding `config` as its `config`.
 */
export function imageOf(
  layers: readonly Blob[],
  diffIds: readonly string[] = layers.map((l) => l.digest),
  config: Record<string, unknown> = {},
): BuiltImage {
  const configBytes = new TextEncoder().encode(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: diffIds },
      config,
    }),
  );
  const configBlob = blobOf(configBytes);
  const manifestBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configBlob.digest,
        size: configBytes.length,
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: l.digest,
        size: l.bytes.length,
      })),
    }),
  );
  return { blobs: [configBlob, ...layers], layers, manifest: blobOf(manifestBytes) };
}

/** Pushes the image's blobs (POST + PUT each) and its manifest under `tag`. */
export async function pushImage(
  base: string,
  repository: string,
  tag: string,
  image: BuiltImage,
  auth: Record<string, string>,
): Promise<void> {
  for (const blob of image.blobs) await pushBytes(base, repository, blob.bytes, auth);
  const put = await fetch(new URL(`/v2/${repository}/manifests/${tag}`, base), {
    method: 'PUT',
    headers: { ...auth, 'Content-Type': OCI_MANIFEST },
    body: image.manifest.bytes as Uint8Array<ArrayBuffer>,
  });
  if (put.status !== 201) throw new Error(`PUT manifest: ${put.status} ${await put.text()}`);
}

export { sha256 };
