// Conformance: content discovery (tags list, catalog, referrers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, OCI_INDEX, OCI_MANIFEST, type PushedImage, pushImage } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';

let registry: TestRegistry;
let subject: PushedImage;
const name = 'conformance/discovery';
const tags = ['v1.0', 'latest', 'A-upper', 'v1.1', 'b', '_under', 'v10'];
// Byte order, as distribution lists them.
const sorted = [...tags].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

beforeAll(async () => {
  registry = await startTestRegistry();
  for (const tag of tags) await pushImage(registry, name, tag);
  subject = await pushImage(registry, 'conformance/referred', 'subject');
  for (const [i, type] of [
    'application/vnd.example.sbom',
    'application/vnd.example.signature',
    'application/vnd.example.sbom',
  ].entries()) {
    await pushImage(registry, 'conformance/referred', `ref${i}`, {
      extra: {
        artifactType: type,
        annotations: { 'org.example.n': String(i) },
        subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
      },
    });
  }
  for (const repo of ['conformance/c1', 'conformance/c2', 'conformance/c3'])
    await pushImage(registry, repo, 'x');
});
afterAll(async () => registry?.close());

describe('content discovery: tags', () => {
  it('tags list returns every tag in lexical order', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/tags/list`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name, tags: sorted });
  });

  it('tags list with n returns the first n tags and a Link to the next page', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/tags/list?n=3`);
    const body = (await response.json()) as { tags: string[] };
    expect(body.tags).toEqual(sorted.slice(0, 3));
    expect(response.headers.get('link')).toBe(
      `</v2/${name}/tags/list?n=3&last=${encodeURIComponent(sorted[2] as string)}>; rel="next"`,
    );
  });

  it('following Link pages through all tags exactly once, and the last page has no Link', async () => {
    const seen: string[] = [];
    let next: string | null = `/v2/${name}/tags/list?n=2`;
    let pages = 0;
    while (next && pages < 10) {
      const response: Response = await call(registry, 'GET', next);
      seen.push(...((await response.json()) as { tags: string[] }).tags);
      next = /<([^>]+)>/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
      pages++;
    }
    expect(seen).toEqual(sorted);
    expect(pages).toBe(Math.ceil(sorted.length / 2));
  });

  it('tags list with last returns the tags after it', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/tags/list?last=v1.0`);
    expect(((await response.json()) as { tags: string[] }).tags).toEqual(sorted.filter((t) => t > 'v1.0'));
  });

  it('tags list with n=0 returns an empty list', async () => {
    const response = await call(registry, 'GET', `/v2/${name}/tags/list?n=0`);
    expect(((await response.json()) as { tags: string[] }).tags).toEqual([]);
  });
});

describe('content discovery: catalog', () => {
  it('catalog lists repositories in lexical order with pagination', async () => {
    const all = (await (await call(registry, 'GET', '/v2/_catalog')).json()) as { repositories: string[] };
    expect(all.repositories).toEqual([...all.repositories].sort());
    expect(all.repositories).toEqual(
      expect.arrayContaining(['conformance/c1', 'conformance/c2', 'conformance/c3', name]),
    );
    const first = await call(registry, 'GET', '/v2/_catalog?n=2');
    const page = (await first.json()) as { repositories: string[] };
    expect(page.repositories).toEqual(all.repositories.slice(0, 2));
    expect(first.headers.get('link')).toContain('rel="next"');
    const rest = await call(registry, 'GET', `/v2/_catalog?n=100&last=${page.repositories[1]}`);
    expect(((await rest.json()) as { repositories: string[] }).repositories).toEqual(
      all.repositories.slice(2),
    );
  });
});

describe('content discovery: referrers', () => {
  it('referrers lists the manifests whose subject is the digest, as an OCI index', async () => {
    const response = await call(registry, 'GET', `/v2/conformance/referred/referrers/${subject.digest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(OCI_INDEX);
    const index = (await response.json()) as {
      manifests: { artifactType: string; annotations: Record<string, string>; mediaType: string }[];
    };
    expect(index.manifests).toHaveLength(3);
    expect(index.manifests.map((m) => m.annotations['org.example.n']).sort()).toEqual(['0', '1', '2']);
    expect(index.manifests.every((m) => m.mediaType === OCI_MANIFEST)).toBe(true);
  });

  it('referrers filtered by artifactType answers OCI-Filters-Applied', async () => {
    const response = await call(
      registry,
      'GET',
      `/v2/conformance/referred/referrers/${subject.digest}?artifactType=application/vnd.example.sbom`,
    );
    expect(response.headers.get('oci-filters-applied')).toBe('artifactType');
    const index = (await response.json()) as { manifests: { artifactType: string }[] };
    expect(index.manifests.map((m) => m.artifactType)).toEqual([
      'application/vnd.example.sbom',
      'application/vnd.example.sbom',
    ]);
  });

  it('referrers of an unknown digest is an empty index, not 404', async () => {
    const response = await call(
      registry,
      'GET',
      `/v2/conformance/referred/referrers/sha256:${'0'.repeat(64)}`,
    );
    expect(response.status).toBe(200);
    expect(((await response.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });
});

describe('content discovery: what is not there yet', () => {
  it('a repository holding only an abandoned upload is NAME_UNKNOWN to the tags list', async () => {
    await call(registry, 'POST', '/v2/conformance/abandoned/blobs/uploads/');
    const response = await call(registry, 'GET', '/v2/conformance/abandoned/tags/list');
    expect(response.status).toBe(404);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('NAME_UNKNOWN');
  });

  it('the catalog wants a token granting registry:catalog:*; a token without it gets the scope challenge', async () => {
    const anonymous = (await (
      await call(registry, 'GET', '/token?service=x&scope=registry:catalog:*', { auth: null })
    ).json()) as {
      token: string;
    };
    const refused = await call(registry, 'GET', '/v2/_catalog', { auth: `Bearer ${anonymous.token}` });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
    const granted = (await (
      await call(registry, 'GET', '/token?service=x&scope=registry:catalog:*')
    ).json()) as { token: string };
    expect((await call(registry, 'GET', '/v2/_catalog', { auth: `Bearer ${granted.token}` })).status).toBe(
      200,
    );
  });
});
