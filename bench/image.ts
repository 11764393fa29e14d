// A small image for the request-rate runs: a config blob, one layer blob, an OCI image manifest.
import { createHash, randomBytes } from 'node:crypto';

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function pushSmallBlob(
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
  const config = await pushSmallBlob(base, repository, configBytes, auth);
  const layer = await pushSmallBlob(base, repository, layerBytes, auth);
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
