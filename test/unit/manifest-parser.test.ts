// origin/registry/manifest-parser.ts: what a manifest PUT accepts and what it references.
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../origin/registry/manifest-parser.ts';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const image = {
  schemaVersion: 2,
  mediaType: OCI,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 10 },
  layers: [
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 5 },
    { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 5 },
  ],
};

describe('manifest parsing', () => {
  it('an image manifest references its config and layers once each', () => {
    const parsed = parseManifest(bytes(image), OCI);
    expect(parsed.ok && parsed.value.references).toEqual([
      { digest: D('c'), kind: 'blob' },
      { digest: D('1'), kind: 'blob' },
    ]);
    expect(parsed.ok && parsed.value.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('an index references its child manifests', () => {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: OCI, digest: D('2'), size: 100, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    };
    const parsed = parseManifest(bytes(index), 'application/vnd.oci.image.index.v1+json');
    expect(parsed.ok && parsed.value.references).toEqual([{ digest: D('2'), kind: 'manifest' }]);
  });

  it('foreign layers with urls are not required to be in the registry', () => {
    const windows = {
      ...image,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { ...image.config, mediaType: 'application/vnd.docker.container.image.v1+json' },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: D('f'),
          size: 1,
          urls: ['https://example.com/l'],
        },
      ],
    };
    const parsed = parseManifest(bytes(windows), windows.mediaType);
    expect(parsed.ok && parsed.value.references).toEqual([{ digest: D('c'), kind: 'blob' }]);
  });

  it('subject, artifactType and annotations are kept', () => {
    const artifact = {
      ...image,
      artifactType: 'application/vnd.example+type',
      subject: { mediaType: OCI, digest: D('5'), size: 1 },
      annotations: { a: 'b' },
    };
    const parsed = parseManifest(bytes(artifact), OCI);
    expect(
      parsed.ok && [parsed.value.subjectDigest, parsed.value.artifactType, parsed.value.annotations],
    ).toEqual([D('5'), 'application/vnd.example+type', { a: 'b' }]);
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{nope'), OCI, 'MANIFEST_INVALID'],
    ['schema 1', bytes({ schemaVersion: 1 }), undefined, 'MANIFEST_INVALID'],
    ['type mismatch', bytes(image), 'application/vnd.oci.image.index.v1+json', 'MANIFEST_INVALID'],
    ['unknown type', bytes({ ...image, mediaType: 'text/plain' }), 'text/plain', 'MANIFEST_INVALID'],
    ['no config', bytes({ ...image, config: undefined }), OCI, 'MANIFEST_INVALID'],
    [
      'bad layer digest',
      bytes({ ...image, layers: [{ mediaType: 'x', digest: 'sha256:zz', size: 1 }] }),
      OCI,
      'DIGEST_INVALID',
    ],
    [
      'negative size',
      bytes({ ...image, layers: [{ mediaType: 'x', digest: D('1'), size: -1 }] }),
      OCI,
      'MANIFEST_INVALID',
    ],
    ['annotations not strings', bytes({ ...image, annotations: { a: 1 } }), OCI, 'MANIFEST_INVALID'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), OCI, 'MANIFEST_INVALID'],
  ])('rejects %s', (_what, body, type, code) => {
    const parsed = parseManifest(body, type);
    expect(parsed.ok ? 'accepted' : parsed.error.code).toBe(code);
  });
});
