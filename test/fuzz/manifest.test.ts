// Fuzzing manifest bodies (shared/manifest.ts) and the strict JSON under them (shared/strict-json.ts):
// any bytes parse to a manifest or to MANIFEST_INVALID / DIGEST_INVALID, never an exception; a
// serialized valid manifest parses back to what was written; JSON is refused exactly when it
// names a key twice in one object.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type Descriptor, manifestReferences, parseManifest, scanSubject } from '../../shared/manifest.ts';
import { MediaType } from '../../shared/media-types.ts';
import { parseStrictJson } from '../../shared/strict-json.ts';
import { anyText, fuzz, mutated, mutatedBytes, twisted } from './fuzz-settings.ts';
import { digest } from './oci-arbitraries.ts';

const encoder = new TextEncoder();

describe('strict JSON', () => {
  test('any text: the value JSON.parse gives, or a reason; never an exception', () => {
    const jsonish = fc.oneof(
      mutated(fc.jsonValue().map((v) => JSON.stringify(v))),
      mutated(fc.constantFrom('{"a":1,"a":2}', '{"a":{"b":[1,{"c":"\\u0061"}]}}', '"\\\\"')),
      anyText,
    );
    fc.assert(
      fc.property(jsonish, (text) => {
        const parsed = parseStrictJson(text);
        if (parsed.ok) expect(parsed.value).toEqual(JSON.parse(text));
        else expect(parsed.reason).toMatch(/^(begins with|is not valid JSON|names the key)/);
      }),
      fuzz(),
    );
  });

  // Objects written by hand, as lists of members, so that a key may repeat; keys spelled with
  // \u escapes at random, so that repeats must be compared decoded.
  type Json = null | number | string | Json[] | { members: [string, Json][] };
  const { json } = fc.letrec<{ json: Json }>((tie) => ({
    json: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, 0, 1.5, 'x'),
      fc.string({ maxLength: 5 }),
      fc.array(tie('json'), { maxLength: 3 }),
      fc.record({
        members: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'é', '"', '\\', 'a\u0000'), tie('json')), {
          maxLength: 4,
        }),
      }),
    ),
  }));
  const write = (v: Json, escaped: readonly boolean[], i = { n: 0 }): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (Array.isArray(v)) return `[ ${v.map((x) => write(x, escaped, i)).join(' , ')} ]`;
    const members = v.members.map(([k, x]) => {
      const key = escaped[i.n++ % Math.max(1, escaped.length)]
        ? `"${[...k].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`
        : JSON.stringify(k);
      return `${key}:${write(x, escaped, i)}`;
    });
    return `{${members.join(',')}}`;
  };
  const repeats = (v: Json): boolean => {
    if (v === null || typeof v !== 'object') return false;
    if (Array.isArray(v)) return v.some(repeats);
    const keys = v.members.map(([k]) => k);
    return new Set(keys).size !== keys.length || v.members.some(([, x]) => repeats(x));
  };

  test('refused exactly when some object names a key twice, however the key is spelled', () => {
    fc.assert(
      fc.property(json, fc.array(fc.boolean(), { maxLength: 8 }), (value, escaped) => {
        const parsed = parseStrictJson(write(value, escaped));
        expect(parsed.ok).toBe(!repeats(value));
        if (!parsed.ok) expect(parsed.reason).toMatch(/^names the key/);
      }),
      fuzz(),
    );
  });

  test('JSON.stringify of any value reads back as that value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      fuzz(),
    );
  });
});

const LAYER_TYPES = [
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  MediaType.ociConfig,
  MediaType.dockerConfig,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
];
const stringMap = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
const descriptor: fc.Arbitrary<Descriptor> = fc.record(
  {
    mediaType: fc.oneof(fc.constantFrom(...LAYER_TYPES), fc.string({ minLength: 1, maxLength: 30 })),
    digest,
    size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    artifactType: fc.string({ maxLength: 20 }),
    annotations: stringMap,
    urls: fc.array(fc.webUrl(), { maxLength: 2 }),
    platform: fc.record(
      { os: fc.constantFrom('linux', 'windows'), architecture: fc.constantFrom('amd64', 'arm64', 'unknown') },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);
const imageManifest = fc.record(
  {
    schemaVersion: fc.constant(2),
    mediaType: fc.constantFrom(MediaType.ociManifest, MediaType.dockerManifest),
    artifactType: fc.string({ maxLength: 20 }),
    config: descriptor,
    layers: fc.array(descriptor, { maxLength: 4 }),
    subject: descriptor,
    annotations: stringMap,
  },
  { requiredKeys: ['schemaVersion', 'config', 'layers'] },
);
const imageIndex = fc.record(
  {
    schemaVersion: fc.constant(2),
    mediaType: fc.constantFrom(MediaType.ociIndex, MediaType.dockerManifestList),
    manifests: fc.array(descriptor, { maxLength: 4 }),
    subject: descriptor,
    annotations: stringMap,
  },
  { requiredKeys: ['schemaVersion', 'manifests'] },
);
const validManifest = fc.oneof(imageManifest, imageIndex);

const twistedDocument = twisted(validManifest);

const contentType = fc.oneof(
  fc.constantFrom(
    undefined,
    '',
    MediaType.ociManifest,
    MediaType.ociIndex,
    `${MediaType.ociManifest}; charset=utf-8`,
  ),
  fc.constantFrom(MediaType.dockerSchema1, MediaType.dockerSchema1Signed, MediaType.dockerManifest),
  anyText,
);

function expectParsedOrRefused(bytes: Uint8Array, type: string | undefined): void {
  const parsed = parseManifest(bytes, type);
  if (parsed.ok) {
    // What a parsed manifest yields is computed without surprises too.
    manifestReferences(parsed.value);
    scanSubject(parsed.value);
    return;
  }
  expect(['MANIFEST_INVALID', 'DIGEST_INVALID']).toContain(parsed.error.code);
  expect(parsed.error.status).toBe(400);
}

describe('manifests', () => {
  test('a serialized valid manifest parses back to the descriptors it was written with', () => {
    fc.assert(
      fc.property(validManifest, fc.boolean(), (manifest, sendType) => {
        const parsed = parseManifest(
          encoder.encode(JSON.stringify(manifest)),
          sendType ? manifest.mediaType : undefined,
        );
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const m = parsed.value;
        expect(m.mediaType).toBe(
          manifest.mediaType ?? ('manifests' in manifest ? MediaType.ociIndex : MediaType.ociManifest),
        );
        expect(m.annotations).toEqual(manifest.annotations ?? null);
        expect(m.subject).toEqual(manifest.subject ?? null);
        if ('layers' in manifest) {
          expect(m.kind).toBe('image-manifest');
          if (m.kind !== 'image-manifest') return;
          expect([m.config, ...m.layers]).toEqual([manifest.config, ...manifest.layers]);
          expect(m.artifactType).toBe(manifest.artifactType ?? manifest.config.mediaType);
        } else {
          expect(m.kind).toBe('index');
          if (m.kind !== 'index') return;
          expect(m.children).toEqual(manifest.manifests);
        }
      }),
      fuzz(),
    );
  });

  test('a valid manifest with any field twisted: a manifest, or MANIFEST_INVALID / DIGEST_INVALID', () => {
    fc.assert(
      fc.property(twistedDocument, contentType, (doc, type) =>
        expectParsedOrRefused(encoder.encode(JSON.stringify(doc)), type),
      ),
      fuzz(),
    );
  });

  test('mutated bytes of a valid manifest, and random bytes: parsed or refused, never an exception', () => {
    const bytes = fc.oneof(
      mutatedBytes(validManifest.map((m) => encoder.encode(JSON.stringify(m)))),
      fc.uint8Array({ maxLength: 200 }),
      anyText.map((t) => encoder.encode(t)),
    );
    fc.assert(
      fc.property(bytes, contentType, (b, type) => expectParsedOrRefused(b, type)),
      fuzz(),
    );
  });
});
