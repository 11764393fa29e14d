// Fuzzing what a client names in a URL: repository names, tags, digests, references and the /v2/
// path itself (shared/reference.ts, digest.ts, route.ts). Each parser answers a value for every
// string, never throws, and what it accepts prints back as the string it was given.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { digestOf, isDigest, parseDigest } from '../../shared/digest.ts';
import { isRepositoryName, isTag, MAX_NAME_LENGTH, parseReference } from '../../shared/reference.ts';
import { matchRoute, type Route } from '../../shared/route.ts';
import { anyText, fuzz, mutated } from './fuzz-settings.ts';
import { digest, repositoryName, tag } from './oci-arbitraries.ts';

const nameLike = fc.oneof(mutated(repositoryName), anyText);
const digestLike = fc.oneof(
  mutated(digest),
  anyText,
  fc.stringMatching(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/, { maxLength: 300 }),
);
const referenceLike = fc.oneof(mutated(tag), mutated(digest), anyText);

describe('digests', () => {
  test('a valid digest parses to its parts and prints back as itself', () => {
    fc.assert(
      fc.property(digest, (value) => {
        const parsed = parseDigest(value);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        expect(`${parsed.digest.algorithm}:${parsed.digest.hex}`).toBe(value);
        expect(parsed.digest.value).toBe(value);
      }),
      fuzz(),
    );
  });

  test('any string gets an answer: the digest as given, or malformed / unsupported-algorithm', () => {
    fc.assert(
      fc.property(digestLike, (value) => {
        const parsed = parseDigest(value);
        expect(isDigest(value)).toBe(parsed.ok);
        if (parsed.ok) {
          expect(`${parsed.digest.algorithm}:${parsed.digest.hex}`).toBe(value);
          expect(parsed.digest.hex).toMatch(/^[a-f0-9]+$/);
        } else expect(['malformed', 'unsupported-algorithm']).toContain(parsed.reason);
      }),
      fuzz(),
    );
  });

  test('the digest of any bytes, in either algorithm, parses as a digest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('sha256', 'sha512'),
        async (b, alg) => {
          const value = await digestOf(b, alg);
          const parsed = parseDigest(value);
          expect(parsed.ok && parsed.digest.algorithm === alg && parsed.digest.value === value).toBe(true);
        },
      ),
      fuzz(0.25),
    );
  });
});

describe('names, tags and references', () => {
  test('a valid name and tag are accepted; a reference parses to what it was', () => {
    fc.assert(
      fc.property(repositoryName, tag, digest, (name, t, d) => {
        expect(isRepositoryName(name)).toBe(true);
        expect(isTag(t)).toBe(true);
        expect(parseReference(t)).toEqual({ kind: 'tag', tag: t });
        expect(parseReference(d)).toEqual({ kind: 'digest', digest: d });
      }),
      fuzz(),
    );
  });

  test('any string: a name within the length cap, or refused; a reference is a tag, a digest or null', () => {
    fc.assert(
      fc.property(nameLike, referenceLike, (name, reference) => {
        if (isRepositoryName(name)) {
          expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
          expect(name.split('/').every((part) => /^[a-z0-9]/.test(part))).toBe(true);
        }
        const parsed = parseReference(reference);
        if (parsed === null) expect(isTag(reference) || isDigest(reference)).toBe(false);
        else if (parsed.kind === 'tag') expect([parsed.tag, isTag(reference)]).toEqual([reference, true]);
        else expect([parsed.digest, isDigest(reference)]).toEqual([reference, true]);
        // A tag has no colon, so no string is both.
        expect(isTag(reference) && isDigest(reference)).toBe(false);
      }),
      fuzz(),
    );
  });
});

/** The path a route is reached at (the canonical spelling of several). */
function pathOf(route: Route): string {
  switch (route.kind) {
    case 'base':
      return '/v2/';
    case 'catalog':
      return '/v2/_catalog';
    case 'tags':
      return `/v2/${route.name}/tags/list`;
    case 'manifest':
      return `/v2/${route.name}/manifests/${route.reference}`;
    case 'manifest-scan':
      return `/v2/${route.name}/manifests/${route.reference}/scan`;
    case 'scan-summary':
      return `/v2/${route.name}/scan/summary`;
    case 'blob':
      return `/v2/${route.name}/blobs/${route.digest}`;
    case 'uploads':
      return `/v2/${route.name}/blobs/uploads/`;
    case 'upload':
      return `/v2/${route.name}/blobs/uploads/${route.uploadId}`;
    case 'referrers':
      return `/v2/${route.name}/referrers/${route.digest}`;
  }
}

const ENDINGS = [
  'tags/list',
  'manifests/REF',
  'manifests/REF/scan',
  'scan/summary',
  'blobs/REF',
  'blobs/uploads/',
  'blobs/uploads',
  'blobs/uploads/REF',
  'referrers/REF',
  '_catalog',
  '',
];

const pathLike = fc.oneof(
  fc
    .tuple(nameLike, fc.constantFrom(...ENDINGS), referenceLike)
    .map(([name, ending, ref]) => `/v2/${name}/${ending.replace('REF', ref)}`),
  mutated(fc.constantFrom('/v2/', '/v2', '/v2/_catalog', '/v2/a/b/manifests/latest')),
  anyText,
);

describe('/v2/ paths', () => {
  test('a valid name and reference come back out of the path they are put in', () => {
    fc.assert(
      fc.property(repositoryName, fc.oneof(tag, digest), (name, reference) => {
        expect(matchRoute(`/v2/${name}/manifests/${reference}`)).toEqual({
          kind: 'manifest',
          name,
          reference,
        });
        expect(matchRoute(`/v2/${name}/tags/list`)).toEqual({ kind: 'tags', name });
        expect(matchRoute(`/v2/${name}/blobs/${reference}`)).toEqual({
          kind: 'blob',
          name,
          digest: reference,
        });
      }),
      fuzz(),
    );
  });

  test('any path is a route or null, and a route is matched again from the path it prints as', () => {
    fc.assert(
      fc.property(pathLike, (path) => {
        const route = matchRoute(path);
        if (route === null) return;
        expect(path.startsWith('/v2')).toBe(true);
        expect(matchRoute(pathOf(route))).toEqual(route);
      }),
      fuzz(),
    );
  });
});
