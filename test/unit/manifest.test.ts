// shared/manifest.ts and shared/manifest-answer.ts: what a manifest PUT accepts, what a manifest
// references, what a scan reads, which manifest a client's Accept is served and the answer's headers.
import { describe, expect, it } from 'vitest';
import {
  type Manifest,
  manifestReferences,
  parseManifest,
  scanSubject,
  storedLayers,
} from '../../shared/manifest.ts';
import { manifestAnswer, negotiate } from '../../shared/manifest-answer.ts';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));
const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const image = {
  schemaVersion: 2,
  mediaType: OCI,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 10 },
  layers: [
    { mediaType: LAYER, digest: D('1'), size: 5 },
    { mediaType: LAYER, digest: D('1'), size: 5 },
  ],
};

function parsed(doc: unknown, type: string | undefined = OCI): Manifest {
  const result = parseManifest(bytes(doc), type);
  if (!result.ok) throw new Error(`refused: ${result.error.message}`);
  return result.value;
}

describe('manifest parsing', () => {
  it('an image manifest references its config and layers once each', () => {
    const manifest = parsed(image);
    expect(manifestReferences(manifest)).toEqual([
      { digest: D('c'), kind: 'blob' },
      { digest: D('1'), kind: 'blob' },
    ]);
    expect(manifest.artifactType).toBe('application/vnd.oci.image.config.v1+json');
  });

  it('an index references its child manifests', () => {
    const index = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: OCI, digest: D('2'), size: 100, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    };
    expect(manifestReferences(parsed(index, INDEX))).toEqual([{ digest: D('2'), kind: 'manifest' }]);
  });

  it('foreign layers with urls are not required to be in the registry', () => {
    const windows = {
      ...image,
      mediaType: DOCKER,
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
    expect(manifestReferences(parsed(windows, DOCKER))).toEqual([{ digest: D('c'), kind: 'blob' }]);
  });

  it('annotations may hold any other text, surrogate pairs too', () => {
    const annotations = { 'é\u{1f600}': 'a\tb\u{1f600}\u0001' };
    expect(parsed({ ...image, annotations }).annotations).toEqual(annotations);
  });

  it('subject, artifactType and annotations are kept', () => {
    const artifact = {
      ...image,
      artifactType: 'application/vnd.example+type',
      subject: { mediaType: OCI, digest: D('5'), size: 1 },
      annotations: { a: 'b' },
    };
    const manifest = parsed(artifact);
    expect([manifest.subject?.digest, manifest.artifactType, manifest.annotations]).toEqual([
      D('5'),
      'application/vnd.example+type',
      { a: 'b' },
    ]);
  });

  it('without a declared mediaType, the Content-Type names it, else the shape does', () => {
    const { mediaType: _, ...undeclared } = image;
    expect(parsed(undeclared, DOCKER).mediaType).toBe(DOCKER);
    const guessed = (doc: unknown) => {
      const result = parseManifest(bytes(doc), undefined);
      return result.ok ? [result.value.kind, result.value.mediaType] : result.error.message;
    };
    expect(guessed(undeclared)).toEqual(['image-manifest', OCI]);
    expect(guessed({ schemaVersion: 2, manifests: [] })).toEqual(['index', INDEX]);
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{nope'), OCI, 'MANIFEST_INVALID'],
    ['schema 1', bytes({ schemaVersion: 1 }), undefined, 'MANIFEST_INVALID'],
    ['type mismatch', bytes(image), INDEX, 'MANIFEST_INVALID'],
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
    [
      'urls not strings',
      bytes({ ...image, layers: [{ mediaType: 'x', digest: D('1'), size: 1, urls: [1] }] }),
      OCI,
      'MANIFEST_INVALID',
    ],
    ['annotations not strings', bytes({ ...image, annotations: { a: 1 } }), OCI, 'MANIFEST_INVALID'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), OCI, 'MANIFEST_INVALID'],
    // Found by test/fuzz/http.test.ts: the database cannot store these, and the PUT answered 500.
    ['a NUL in an annotation', bytes({ ...image, annotations: { '': '\u0000' } }), OCI, 'MANIFEST_INVALID'],
    [
      'a NUL in an annotation key',
      bytes({ ...image, annotations: { 'a\u0000': 'b' } }),
      OCI,
      'MANIFEST_INVALID',
    ],
    [
      'a lone surrogate in an annotation',
      bytes({ ...image, annotations: { a: 'x\ud800' } }),
      OCI,
      'MANIFEST_INVALID',
    ],
    ['a NUL in artifactType', bytes({ ...image, artifactType: 'a\u0000' }), OCI, 'MANIFEST_INVALID'],
    [
      'a NUL in the config media type standing for artifactType',
      bytes({ ...image, config: { ...image.config, mediaType: 'x\u0000' } }),
      OCI,
      'MANIFEST_INVALID',
    ],
  ])('rejects %s', (_what, body, type, code) => {
    const result = parseManifest(body, type);
    expect(result.ok ? 'accepted' : result.error.code).toBe(code);
  });
});

describe('JSON every parser reads alike', () => {
  const text = (json: string) => new TextEncoder().encode(json);
  const refusal = (body: Uint8Array) => {
    const result = parseManifest(body, OCI);
    return result.ok ? 'accepted' : `${result.error.code}: ${result.error.message}`;
  };
  const json = JSON.stringify(image);

  it('a byte order mark before the JSON is refused', () => {
    expect(refusal(new Uint8Array([0xef, 0xbb, 0xbf, ...text(json)]))).toBe(
      'MANIFEST_INVALID: manifest begins with a byte order mark',
    );
  });

  it.each([
    ['at the top', json.replace('"layers":', '"layers":[],"layers":'), 'layers'],
    ['in a descriptor', json.replace('"size":10', '"size":10,"size":11'), 'size'],
    ['deep inside', json.replace('"config":{', '"config":{"annotations":{"a":"1","b":{},"a":"2"},'), 'a'],
    [
      'spelt with an escape',
      json.replace('"schemaVersion":2', '"schemaVersion":2,"schema\\u0056ersion":2'),
      'schemaVersion',
    ],
  ])('a key named twice in one object (%s) is refused', (_where, body, key) => {
    expect(refusal(text(body))).toBe(`MANIFEST_INVALID: manifest names the key "${key}" twice in one object`);
  });

  it('the same key in different objects, and keys spelt inside string values, are accepted', () => {
    const doc = {
      ...image,
      annotations: { note: '{"layers": 1, "layers": 2}', 'a"b': 'x,"y":{', size: '\\' },
    };
    expect(refusal(bytes(doc))).toBe('accepted');
    expect(refusal(text(JSON.stringify(doc, null, 2)))).toBe('accepted');
  });
});

describe('non-distributable layers: external only with urls', () => {
  const NON_DISTRIBUTABLE = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
  const manifest = parsed({
    ...image,
    layers: [
      { mediaType: NON_DISTRIBUTABLE, digest: D('e'), size: 1, urls: ['https://example.com/e'] },
      { mediaType: NON_DISTRIBUTABLE, digest: D('a'), size: 1 },
      { mediaType: NON_DISTRIBUTABLE, digest: D('b'), size: 1, urls: [] },
      { mediaType: LAYER, digest: D('d'), size: 1, urls: ['https://example.com/d'] },
    ],
  });

  it('with urls, it is neither required at push nor scanned; without (or with none), it is both', () => {
    const stored = [D('a'), D('b'), D('d')];
    expect(manifestReferences(manifest)).toEqual(
      [D('c'), ...stored].map((digest) => ({ digest, kind: 'blob' })),
    );
    const subject = scanSubject(manifest);
    expect(subject.kind === 'image' && subject.layers.map((l) => l.digest)).toEqual(stored);
    if (manifest.kind !== 'image-manifest') throw new Error('not an image manifest');
    expect(storedLayers(manifest).map((l) => l.digest)).toEqual(stored);
  });
});

describe('what a scan reads', () => {
  it('an image manifest with an image config is a container image of its config and layers', () => {
    expect(scanSubject(parsed(image))).toEqual({
      kind: 'image',
      configDigest: D('c'),
      layers: image.layers,
    });
  });

  it('an image manifest with another config is an artifact', () => {
    const artifact = {
      ...image,
      config: { ...image.config, mediaType: 'application/vnd.oci.empty.v1+json' },
    };
    expect(scanSubject(parsed(artifact))).toEqual({ kind: 'artifact' });
  });

  it("an index is its images by platform, without buildx's unknown/unknown attestations", () => {
    const index = {
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: OCI, digest: D('2'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
        {
          mediaType: OCI,
          digest: D('3'),
          size: 1,
          platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
        },
        { mediaType: OCI, digest: D('4'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
        { mediaType: OCI, digest: D('5'), size: 1 },
      ],
    };
    expect(scanSubject(parsed(index, INDEX))).toEqual({
      kind: 'index',
      children: [
        { digest: D('2'), platform: 'linux/amd64' },
        { digest: D('3'), platform: 'linux/arm/v7' },
        { digest: D('5'), platform: 'unknown' },
      ],
    });
  });
});

describe('media-type negotiation', () => {
  const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
  const child = (digest: string, mediaType: string, os: string, architecture: string) => ({
    mediaType,
    digest,
    size: 1,
    platform: { os, architecture },
  });
  const stored = (mediaType: string, children: unknown[]) => ({
    mediaType,
    bytes: bytes({ schemaVersion: 2, mediaType, manifests: children }),
  });
  const index = stored(INDEX, [
    child(D('1'), OCI, 'linux', 'arm64'),
    child(D('2'), DOCKER, 'linux', 'arm64'),
    child(D('3'), DOCKER, 'linux', 'amd64'),
  ]);

  it.each([
    ['no Accept', []],
    ['*/*', ['*/*']],
    ['the index type', [OCI, INDEX]],
    ['no image manifest type either', ['application/json']],
  ])('an index is served as it is to a client sending %s', (_what, accepted) => {
    expect(negotiate(index, accepted)).toEqual({ ok: true, value: { serve: 'stored' } });
  });

  it('an image manifest is served as it is, whatever the client accepts', () => {
    expect(negotiate({ mediaType: OCI, bytes: bytes(image) }, [DOCKER])).toEqual({
      ok: true,
      value: { serve: 'stored' },
    });
  });

  it('a client that takes image manifests but not the index gets its linux/amd64 image of an accepted type', () => {
    expect(negotiate(index, [OCI, DOCKER])).toEqual({
      ok: true,
      value: { serve: 'child', digest: D('3') },
    });
  });

  it('without a linux/amd64 image of an accepted type, the first image of one', () => {
    expect(negotiate(index, [OCI])).toEqual({ ok: true, value: { serve: 'child', digest: D('1') } });
    const noAmd = stored(LIST, [
      child(D('1'), OCI, 'linux', 'arm64'),
      child(D('2'), DOCKER, 'linux', 's390x'),
    ]);
    expect(negotiate(noAmd, [DOCKER])).toEqual({ ok: true, value: { serve: 'child', digest: D('2') } });
  });

  it('no image of an accepted type: MANIFEST_UNKNOWN', () => {
    const result = negotiate(stored(INDEX, [child(D('1'), OCI, 'linux', 'amd64')]), [DOCKER]);
    expect(result.ok ? 'served' : [result.error.code, result.error.message]).toEqual([
      'MANIFEST_UNKNOWN',
      'manifest not available in a media type the client accepts',
    ]);
  });
});

describe('the answer to a manifest GET/HEAD', () => {
  const manifest = { digest: D('9'), mediaType: OCI, size: 321 };
  const headers = {
    'Content-Type': OCI,
    'Docker-Content-Digest': D('9'),
    ETag: `"${D('9')}"`,
    'Content-Length': '321',
  };

  it('a GET carries the manifest with its type, digest, ETag and length', () => {
    expect(manifestAnswer(manifest, 'GET', undefined)).toEqual({ status: 200, headers, withBody: true });
  });

  it('a HEAD carries the same headers and no body', () => {
    expect(manifestAnswer(manifest, 'HEAD', null)).toEqual({ status: 200, headers, withBody: false });
  });

  it.each([`"${D('9')}"`, D('9')])('If-None-Match %s (the digest, quoted or bare) is a 304', (etag) => {
    expect(manifestAnswer(manifest, 'GET', etag)).toEqual({ status: 304, headers, withBody: false });
  });

  it('If-None-Match of another digest is a full answer', () => {
    expect(manifestAnswer(manifest, 'GET', `"${D('8')}"`).status).toBe(200);
  });
});
