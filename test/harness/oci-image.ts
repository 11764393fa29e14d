// Real, runnable-by-any-engine images made by hand: tar layers (gzip), a config whose diff_ids
// match, image manifests and indexes in OCI or Docker media types; written to an OCI image
// layout on disk, read back from one, or pushed over HTTP.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { call, pushBlob, sha256 } from './client.ts';
import type { TestRegistry } from './registry.ts';

export type ImageFormat = 'oci' | 'docker';

const TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

/** Every manifest type, as a client that takes anything sends in Accept. */
export const ACCEPT_ALL_MANIFESTS = [
  TYPES.oci.manifest,
  TYPES.oci.index,
  TYPES.docker.manifest,
  TYPES.docker.index,
].join(', ');

export interface Blob {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Uint8Array;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const blob = (mediaType: string, bytes: Uint8Array | string): Blob => {
  const data = typeof bytes === 'string' ? new Uint8Array(Buffer.from(bytes)) : bytes;
  return { mediaType, digest: sha256(data), bytes: data };
};

export const descriptor = (b: Blob, extra: Partial<Descriptor> = {}): Descriptor => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.bytes.byteLength,
  ...extra,
});

/** A file with its permission bits (an executable, say). */
export interface FileEntry {
  data: string | Uint8Array;
  mode: number;
}

/** A symbolic link (its target as written) or a hard link (the path of an earlier entry or a lower layer's file). */
export type LinkEntry = { symlink: string } | { hardlink: string };

/** path → content, for one layer. */
export type Files = Record<string, string | Uint8Array>;
/** The same, where some files carry their mode, and some are links. */
export type LayerFiles = Record<string, string | Uint8Array | FileEntry | LinkEntry>;

/** A ustar archive of regular files (mode 0644 unless given, owned by root, fixed mtime) and links. */
export function tar(files: LayerFiles): Uint8Array {
  const parts: Buffer[] = [];
  for (const [name, entry] of Object.entries(files)) {
    const link =
      typeof entry === 'object' && 'symlink' in entry
        ? { type: '2', target: entry.symlink }
        : typeof entry === 'object' && 'hardlink' in entry
          ? { type: '1', target: entry.hardlink }
          : undefined;
    const content =
      link !== undefined ? '' : typeof entry === 'object' && 'mode' in entry ? entry.data : entry;
    const mode = typeof entry === 'object' && 'mode' in entry ? entry.mode : link ? 0o777 : 0o644;
    const data = typeof content === 'string' ? Buffer.from(content) : Buffer.from(content as Uint8Array);
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
    if (link && Buffer.byteLength(link.target) > 100)
      throw new Error(`tar: link target too long: ${link.target}`);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) =>
      header.write(value, offset, length, 'ascii');
    const octal = (offset: number, length: number, value: number) =>
      field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
    header.write(name, 0, 100, 'utf8');
    octal(100, 8, mode);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, data.byteLength);
    octal(136, 12, 1_700_000_000);
    field(148, 8, '        ');
    field(156, 1, link?.type ?? '0');
    if (link) header.write(link.target, 157, 100, 'utf8');
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    field(265, 32, 'root');
    field(297, 32, 'root');
    let checksum = 0;
    for (const byte of header) checksum += byte;
    field(148, 8, `${checksum.toString(8).padStart(6, '0')}\0 `);
    parts.push(header, data, Buffer.alloc((512 - (data.byteLength % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return new Uint8Array(Buffer.concat(parts));
}

/** The regular files of a tar archive (ustar, as `tar` above and docker cp write them). */
export function untar(archive: Uint8Array): Record<string, Buffer> {
  const bytes = Buffer.from(archive);
  const files: Record<string, Buffer> = {};
  let offset = 0;
  while (offset + 512 <= bytes.byteLength) {
    const header = bytes.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const text = (start: number, length: number) =>
      header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const size = Number.parseInt(text(124, 12).trim() || '0', 8);
    const prefix = text(345, 155);
    const name = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
    const type = text(156, 1);
    if (type === '0' || type === '') files[name] = bytes.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

export interface Image {
  readonly platform: Platform;
  readonly config: Blob;
  readonly layers: Blob[];
  readonly manifest: Blob;
  /** Every blob the manifest references (config first). */
  readonly blobs: Blob[];
}

export interface ImageOptions {
  /** One entry per layer. */
  layers: LayerFiles[];
  platform?: Platform;
  format?: ImageFormat;
}

export function buildImage(options: ImageOptions): Image {
  const format = options.format ?? 'oci';
  const types = TYPES[format];
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const tars = options.layers.map((files) => tar(files));
  const layers = tars.map((t) => blob(types.layer, new Uint8Array(gzipSync(t))));
  const config = blob(
    types.config,
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      created: '2024-01-01T00:00:00Z',
      config: { Env: ['PATH=/'], WorkingDir: '/' },
      rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256(t)) },
      history: options.layers.map((files) => ({
        created: '2024-01-01T00:00:00Z',
        created_by: `COPY ${Object.keys(files).join(' ')} /`,
      })),
    }),
  );
  const manifest = blob(
    types.manifest,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: descriptor(config),
      layers: layers.map((l) => descriptor(l)),
    }),
  );
  return { platform, config, layers, manifest, blobs: [config, ...layers] };
}

/** An index (OCI) or manifest list (Docker) of images, each with its platform. */
export function buildIndex(images: readonly Image[], format: ImageFormat = 'oci'): Blob {
  const type = TYPES[format].index;
  return blob(
    type,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      manifests: images.map((image) => descriptor(image.manifest, { platform: image.platform })),
    }),
  );
}

/** Pushes the image's blobs, then its manifest under `reference` (a tag or its digest). */
export async function pushImage(
  registry: TestRegistry,
  name: string,
  image: Image,
  reference?: string,
): Promise<void> {
  for (const b of image.blobs) await pushBlob(registry, name, b.bytes);
  await putManifest(registry, name, reference ?? image.manifest.digest, image.manifest);
}

export async function putManifest(
  registry: TestRegistry,
  name: string,
  reference: string,
  manifest: Blob,
): Promise<void> {
  const response = await call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body: manifest.bytes,
    headers: { 'Content-Type': manifest.mediaType },
  });
  if (response.status !== 201) {
    throw new Error(`PUT manifest ${name}:${reference} failed: ${response.status} ${await response.text()}`);
  }
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Writes an OCI image layout: `blobs` under blobs/sha256/, and index.json naming each tagged
 * manifest (or index) with org.opencontainers.image.ref.name.
 */
export async function writeOciLayout(
  dir: string,
  blobs: readonly Blob[],
  tags: Record<string, Blob>,
): Promise<void> {
  const blobDir = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of [...blobs, ...Object.values(tags)]) {
    await writeFile(path.join(blobDir, b.digest.slice('sha256:'.length)), b.bytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: TYPES.oci.index,
    manifests: Object.entries(tags).map(([tag, b]) => descriptor(b, { annotations: { [REF_NAME]: tag } })),
  };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
}

export interface OciLayout {
  /** index.json's entries. */
  readonly manifests: Descriptor[];
  /** The descriptor tagged `tag`. */
  tagged(tag: string): Descriptor;
  /** A blob's bytes, checked against its digest. */
  blob(digest: string): Promise<Uint8Array>;
}

export async function readOciLayout(dir: string): Promise<OciLayout> {
  const layout = JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8')) as {
    imageLayoutVersion: string;
  };
  if (layout.imageLayoutVersion !== '1.0.0')
    throw new Error(`${dir}: imageLayoutVersion ${layout.imageLayoutVersion}`);
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
    manifests: Descriptor[];
  };
  return {
    manifests: index.manifests,
    tagged(tag) {
      const found = index.manifests.find((d) => d.annotations?.[REF_NAME] === tag);
      if (!found) throw new Error(`${dir}: no manifest tagged ${tag} in index.json`);
      return found;
    },
    async blob(digest) {
      const [algorithm, hex] = digest.split(':');
      const bytes = new Uint8Array(await readFile(path.join(dir, 'blobs', algorithm ?? '', hex ?? '')));
      if (sha256(bytes) !== digest) throw new Error(`${dir}: blob ${digest} does not match its digest`);
      return bytes;
    },
  };
}
