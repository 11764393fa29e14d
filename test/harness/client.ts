// A small OCI client for the tests, on fetch: requests with the admin's Basic credentials by
// default, and the push steps the conformance tests build on.
import { createHash } from 'node:crypto';
import type { TestRegistry } from './registry.ts';

export const sha256 = (bytes: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Authorization header to send; null sends none. Default: the admin's Basic credentials. */
  auth?: string | null;
}

export async function call(
  registry: TestRegistry,
  method: string,
  pathOrUrl: string,
  options: RequestOptions = {},
): Promise<Response> {
  const headers = new Headers(options.headers);
  const auth = options.auth === undefined ? registry.adminAuth : options.auth;
  if (auth !== null) headers.set('Authorization', auth);
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${registry.url}${pathOrUrl}`;
  return fetch(url, { method, headers, body: options.body as BodyInit | undefined, redirect: 'manual' });
}

export async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}

/** The value of one sample of the registry's /metrics (`name{labels}`), 0 when it has none yet. */
export async function metric(registry: TestRegistry, sample: string): Promise<number> {
  const text = await (await call(registry, 'GET', '/metrics', { auth: null })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** Monolithic push (POST ?digest=); returns the digest. */
export async function pushBlob(
  registry: TestRegistry,
  name: string,
  bytes: Uint8Array | string,
): Promise<string> {
  const digest = sha256(bytes);
  const response = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
    body: bytes,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (response.status !== 201)
    throw new Error(`blob push failed: ${response.status} ${await response.text()}`);
  return digest;
}

export interface PushedImage {
  readonly digest: string;
  readonly manifest: string;
  readonly config: string;
  readonly layers: string[];
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Pushes a config and layers, then an OCI image manifest under `reference`. */
export async function pushImage(
  registry: TestRegistry,
  name: string,
  reference: string,
  options: { layers?: string[]; extra?: Record<string, unknown>; config?: Record<string, unknown> } = {},
): Promise<PushedImage> {
  const config = JSON.stringify(
    options.config ?? { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
  );
  const configDigest = await pushBlob(registry, name, config);
  const layerContents = options.layers ?? [`layer of ${name}:${reference} ${Math.random()}`];
  const layers: string[] = [];
  for (const content of layerContents) layers.push(await pushBlob(registry, name, content));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: configDigest,
      size: Buffer.byteLength(config),
    },
    layers: layers.map((digest, i) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest,
      size: Buffer.byteLength(layerContents[i] as string),
    })),
    ...options.extra,
  });
  const response = await call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body: manifest,
    headers: { 'Content-Type': OCI_MANIFEST },
  });
  if (response.status !== 201)
    throw new Error(`manifest push failed: ${response.status} ${await response.text()}`);
  return { digest: sha256(manifest), manifest, config: configDigest, layers };
}
