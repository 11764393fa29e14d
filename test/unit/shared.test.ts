// shared/: the grammar both tiers rely on.
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../shared/byte-range.ts';
import { digestOf, parseDigest } from '../../shared/digest.ts';
import { acceptedTypes } from '../../shared/media-types.ts';
import { isRepositoryName, isTag, parseReference } from '../../shared/reference.ts';
import { matchRoute } from '../../shared/route.ts';
import { accessAllows, parseScope, parseScopes } from '../../shared/scope.ts';
import { isStorableJson, isStorableText } from '../../shared/storable-text.ts';

const H64 = 'a'.repeat(64);

describe('repository names follow the spec grammar', () => {
  it.each(['alpine', 'myproject/alpine', 'a/b/c/d', 'a.b_c__d-e--f', 'x0/y1', `${'a'.repeat(255)}`])(
    'accepts %s',
    (name) => expect(isRepositoryName(name)).toBe(true),
  );
  it.each(['', 'Alpine', 'a//b', '/a', 'a/', 'a-', '-a', 'a___b', 'a..b', 'a:b', `${'a'.repeat(256)}`])(
    'rejects %s',
    (name) => expect(isRepositoryName(name)).toBe(false),
  );
});

describe('tags and references', () => {
  it('tags are up to 128 word characters, dots and dashes, not starting with . or -', () => {
    expect(isTag('latest')).toBe(true);
    expect(isTag('_x.Y-1')).toBe(true);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isTag('.hidden')).toBe(false);
    expect(isTag('-dash')).toBe(false);
  });
  it('a reference with a colon must be a valid digest', () => {
    expect(parseReference(`sha256:${H64}`)).toEqual({ kind: 'digest', digest: `sha256:${H64}` });
    expect(parseReference('v1')).toEqual({ kind: 'tag', tag: 'v1' });
    expect(parseReference('sha256:short')).toBeNull();
    expect(parseReference('bad tag')).toBeNull();
  });
});

describe('digests', () => {
  it('accepts sha256 and sha512 of the right length in lowercase hex', () => {
    expect(parseDigest(`sha256:${H64}`).ok).toBe(true);
    expect(parseDigest(`sha512:${'b'.repeat(128)}`).ok).toBe(true);
    expect(parseDigest(`sha256:${'A'.repeat(64)}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseDigest(`sha256:${'a'.repeat(63)}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(parseDigest('sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709')).toEqual({
      ok: false,
      reason: 'unsupported-algorithm',
    });
    expect(parseDigest('nocolon')).toEqual({ ok: false, reason: 'malformed' });
  });
  it('digestOf matches the well-known digest of empty input', async () => {
    expect(await digestOf(new Uint8Array())).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});

describe('routes are recognised from the end of the path', () => {
  it.each([
    ['/v2/', { kind: 'base' }],
    ['/v2/_catalog', { kind: 'catalog' }],
    ['/v2/a/b/tags/list', { kind: 'tags', name: 'a/b' }],
    ['/v2/a/manifests/latest', { kind: 'manifest', name: 'a', reference: 'latest' }],
    ['/v2/manifests/manifests/x', { kind: 'manifest', name: 'manifests', reference: 'x' }],
    ['/v2/a/blobs/uploads/', { kind: 'uploads', name: 'a' }],
    ['/v2/a/b/blobs/uploads/123', { kind: 'upload', name: 'a/b', uploadId: '123' }],
    [`/v2/a/blobs/sha256:${H64}`, { kind: 'blob', name: 'a', digest: `sha256:${H64}` }],
    [`/v2/a/referrers/sha256:${H64}`, { kind: 'referrers', name: 'a', digest: `sha256:${H64}` }],
    ['/v2/a/manifests/v1/scan', { kind: 'manifest-scan', name: 'a', reference: 'v1' }],
    ['/v2/a/scan/summary', { kind: 'scan-summary', name: 'a' }],
  ])('%s', (path, route) => expect(matchRoute(path)).toEqual(route));
  it('paths that name no endpoint are not routes', () => {
    expect(matchRoute('/v2/a')).toBeNull();
    expect(matchRoute('/v3/')).toBeNull();
    expect(matchRoute('/v2/tags/list')).toBeNull();
  });
});

describe('byte ranges', () => {
  it.each([
    [undefined, { kind: 'whole' }],
    ['bytes=0-9', { kind: 'range', start: 0, end: 9 }],
    ['bytes=5-', { kind: 'range', start: 5, end: 99 }],
    ['bytes=-10', { kind: 'range', start: 90, end: 99 }],
    ['bytes=90-200', { kind: 'range', start: 90, end: 99 }],
    ['bytes=100-', { kind: 'unsatisfiable' }],
    ['bytes=9-5', { kind: 'unsatisfiable' }],
    ['bytes=0-1,5-6', { kind: 'unsatisfiable' }],
    ['items=0-1', { kind: 'unsatisfiable' }],
  ])('%s of 100 bytes', (header, expected) => expect(parseRange(header, 100)).toEqual(expected));
});

describe('token scopes', () => {
  it('parses type, name (which may hold colons) and actions', () => {
    expect(parseScope('repository:a/b:pull,push')).toEqual({
      type: 'repository',
      name: 'a/b',
      actions: ['pull', 'push'],
    });
    expect(parseScope('repository:host:5000/a:pull')).toEqual({
      type: 'repository',
      name: 'host:5000/a',
      actions: ['pull'],
    });
    expect(parseScope('garbage')).toBeNull();
  });
  it('several scopes in one value and repeated values are all read', () => {
    expect(parseScopes(['repository:a:pull repository:b:push', 'registry:catalog:*'])).toHaveLength(3);
  });
  it('access allows exactly the listed actions, or all with *', () => {
    const access = [{ type: 'repository', name: 'a', actions: ['pull'] }];
    expect(accessAllows(access, 'repository', 'a', 'pull')).toBe(true);
    expect(accessAllows(access, 'repository', 'a', 'push')).toBe(false);
    expect(accessAllows(access, 'repository', 'b', 'pull')).toBe(false);
    expect(
      accessAllows([{ type: 'repository', name: 'a', actions: ['*'] }], 'repository', 'a', 'delete'),
    ).toBe(true);
  });
});

describe('Accept headers', () => {
  it('are read as the list of media types, lower-cased, without parameters', () => {
    expect(
      acceptedTypes(
        'application/vnd.OCI.image.index.v1+json;q=0.9,  application/vnd.oci.image.manifest.v1+json , ',
      ),
    ).toEqual(['application/vnd.oci.image.index.v1+json', 'application/vnd.oci.image.manifest.v1+json']);
    expect(acceptedTypes(undefined)).toEqual([]);
    expect(acceptedTypes('')).toEqual([]);
  });
});

describe('text the metadata database can store', () => {
  it('is any text without a NUL or a lone surrogate; surrogate pairs are whole characters', () => {
    expect(['', 'a b', '\t\u0001é', '\u{1f600}', '\ud83d\ude00'].map(isStorableText)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['\u0000', 'a\u0000', '\ud800', 'x\udc00', '\ude00\ud83d'].map(isStorableText)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('in JSON, every string counts, keys and array items included', () => {
    expect(isStorableJson({ a: ['b', { c: 1, d: null, e: true }] })).toBe(true);
    expect(isStorableJson({ a: ['b', { c: '\u0000' }] })).toBe(false);
    expect(isStorableJson({ 'k\ud800': 1 })).toBe(false);
    expect(isStorableJson(['\u0000'])).toBe(false);
  });
});
