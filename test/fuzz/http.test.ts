// Fuzzing the registry over HTTP: random names, references, digests, Range and Content-Range
// headers, `n`/`last` values, Authorization headers and manifest bodies, sent to a real registry.
// Whatever arrives, the answer is never a 5xx, and a 4xx on an API endpoint carries the OCI error
// body (`{"errors":[{"code",...}]}`) with a code of the spec's table. Runs once, on the default
// setup: what is fuzzed is the HTTP layer's reading of requests, the same on every backend.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OCI_ERROR_STATUS } from '../../shared/errors.ts';
import { matchRoute } from '../../shared/route.ts';
import { call, OCI_MANIFEST, type PushedImage, pushImage } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { anyText, fuzz, fuzzTimeout, mutated, mutatedBytes } from './fuzz-settings.ts';
import { digest, repositoryName, tag } from './oci-arbitraries.ts';

let registry: TestRegistry;
let image: PushedImage;
const REPO = 'fuzz/http';

beforeAll(async () => {
  registry = await startTestRegistry();
  image = await pushImage(registry, REPO, 'latest', {
    layers: ['a layer of a few bytes, to take ranges of'],
  });
});
afterAll(async () => registry?.close());

const encoder = new TextEncoder();
// Characters a path segment may hold unescaped (RFC 3986 pchar), and "/".
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;

/**
 * `text` as a URL path piece: UTF-8, percent-encoded where it must be. With `rawPercent`, "%" is
 * sent as is, so that malformed escapes ("%zz", "%") reach the server too.
 */
function inPath(text: string, rawPercent: boolean): string {
  let out = '';
  for (const byte of encoder.encode(text)) {
    const c = String.fromCharCode(byte);
    out += PATH_SAFE.test(c) || (rawPercent && c === '%') ? c : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** A header value fetch will send (RFC 9110 field-value): tab, visible ASCII, space and Latin-1. */
const headerValue = (text: string) => [...text].filter((c) => /^[\t\x20-\x7e\x80-\xff]$/.test(c)).join('');

const nameLike = fc.oneof(repositoryName, mutated(repositoryName), anyText, fc.constant(REPO));
const referenceLike = fc.oneof(tag, digest, mutated(tag), mutated(digest), anyText);

/** Asserts what every answer promises: no 5xx, and the OCI error body on an API endpoint's 4xx. */
async function expectAnswered(response: Response, method: string, path: string): Promise<void> {
  const body = await response.text();
  expect(response.status, `${method} ${path} answered ${response.status} ${body}`).toBeLessThan(500);
  if (response.status < 400 || method === 'HEAD') return;
  if (matchRoute(new URL(path, registry.url).pathname) === null) return;
  let errors: unknown;
  try {
    errors = (JSON.parse(body) as { errors?: unknown }).errors;
  } catch {
    throw new Error(`${method} ${path} answered ${response.status} without a JSON body: ${body}`);
  }
  expect(Array.isArray(errors) && errors.length > 0, `${method} ${path}: ${body}`).toBe(true);
  for (const error of errors as { code?: unknown; message?: unknown }[]) {
    expect(Object.keys(OCI_ERROR_STATUS), `${method} ${path}: ${body}`).toContain(error.code);
    expect(typeof error.message).toBe('string');
  }
}

async function send(method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<void> {
  await expectAnswered(await call(registry, method, path, options), method, path);
}

const TIMEOUT = fuzzTimeout(60_000);

describe('random requests get a 4xx with an OCI error body, never a 5xx', () => {
  test(
    'manifests, blobs, tags, referrers and uploads under any name and reference, by any method',
    async () => {
      const endpoint = fc.constantFrom(
        'manifests/REF',
        'blobs/REF',
        'tags/list',
        'referrers/REF',
        'blobs/uploads/',
        'blobs/uploads/REF',
        'manifests/REF/scan',
        'scan/summary',
      );
      await fc.assert(
        fc.asyncProperty(
          nameLike,
          referenceLike,
          endpoint,
          fc.constantFrom('GET', 'HEAD', 'DELETE', 'PUT', 'PATCH', 'POST'),
          fc.boolean(),
          async (name, reference, ending, method, rawPercent) => {
            const path = `/v2/${inPath(name, rawPercent)}/${ending.replace('REF', inPath(reference, rawPercent))}`;
            await send(
              method,
              path,
              method === 'PUT' || method === 'PATCH' || method === 'POST' ? { body: 'x' } : {},
            );
          },
        ),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );

  test(
    'a blob read with any Range header',
    async () => {
      const range = fc.oneof(
        fc
          .tuple(fc.option(fc.nat({ max: 100 }), { nil: '' }), fc.option(fc.nat({ max: 100 }), { nil: '' }))
          .map(([a, b]) => `bytes=${a}-${b}`),
        mutated(fc.constantFrom('bytes=0-10', 'bytes=-5', 'bytes=3-')),
        anyText,
      );
      await fc.assert(
        fc.asyncProperty(range, fc.constantFrom('GET', 'HEAD'), async (value, method) => {
          const layer = image.layers[0]!;
          const response = await call(registry, method, `/v2/${REPO}/blobs/${layer}`, {
            headers: { Range: headerValue(value) },
          });
          expect([200, 206, 416]).toContain(response.status);
          await expectAnswered(response, method, `/v2/${REPO}/blobs/${layer}`);
        }),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );

  test(
    'tags and catalog pages with any n and last',
    async () => {
      const n = fc.oneof(
        fc.nat({ max: 20 }).map(String),
        fc.constantFrom('', '-1', '1e3', '99999999999999999999', '0x10'),
        anyText,
      );
      const last = fc.oneof(tag, mutated(fc.constant(REPO)), anyText);
      await fc.assert(
        fc.asyncProperty(n, last, fc.boolean(), async (nValue, lastValue, catalog) => {
          const query = new URLSearchParams({ n: nValue, last: lastValue }).toString();
          await send('GET', `${catalog ? '/v2/_catalog' : `/v2/${REPO}/tags/list`}?${query}`);
          const filter = new URLSearchParams({ artifactType: lastValue }).toString();
          await send('GET', `/v2/${REPO}/referrers/${image.digest}?${filter}`);
        }),
        // A NUL is text JavaScript holds and PostgreSQL refuses: the cursor reaches SQL.
        {
          ...fuzz(0.5),
          examples: [
            ['1', '\u0000', false],
            ['1', 'a\u0000', true],
            ['', '\ud800', false],
          ],
        },
      );
    },
    TIMEOUT,
  );

  test(
    'upload chunks with any Content-Range, and any digest to close them with',
    async () => {
      const contentRange = fc.oneof(
        fc.tuple(fc.nat({ max: 20 }), fc.nat({ max: 20 })).map(([a, b]) => `${a}-${b}`),
        mutated(fc.constantFrom('0-3', 'bytes 0-3/4', 'bytes=0-3', 'bytes 0-3/*')),
        fc.bigInt({ min: 0n, max: 10n ** 30n }).map((big) => `0-${big}`),
        anyText,
      );
      await fc.assert(
        fc.asyncProperty(contentRange, fc.oneof(digest, mutated(digest), anyText), async (range, closing) => {
          const started = await call(registry, 'POST', `/v2/${REPO}/blobs/uploads/`);
          expect(started.status).toBe(202);
          const location = started.headers.get('location')!;
          const patch = await call(registry, 'PATCH', location, {
            body: 'abcd',
            headers: { 'Content-Range': headerValue(range), 'Content-Type': 'application/octet-stream' },
          });
          await expectAnswered(patch, 'PATCH', new URL(location, registry.url).pathname);
          const url = new URL(location, registry.url);
          url.searchParams.set('digest', closing);
          const put = await call(registry, 'PUT', url.toString());
          await expectAnswered(put, 'PUT', url.pathname);
          // A cross-repository mount, and a monolithic push, with any digest and source.
          const mount = new URLSearchParams({ mount: closing, from: range }).toString();
          await send('POST', `/v2/${REPO}/blobs/uploads/?${mount}`);
          await send('POST', `/v2/${REPO}/blobs/uploads/?${new URLSearchParams({ digest: closing })}`, {
            body: 'abcd',
          });
        }),
        fuzz(0.25),
      );
    },
    TIMEOUT,
  );

  test(
    'manifest pushes of any body under any Content-Type',
    async () => {
      const valid = JSON.parse(image.manifest) as Record<string, unknown>;
      const body = fc.oneof(
        mutatedBytes(fc.constant(encoder.encode(image.manifest))),
        fc.jsonValue({ maxDepth: 3 }).map((v) => encoder.encode(JSON.stringify({ ...valid, layers: v }))),
        fc.jsonValue({ maxDepth: 3 }).map((v) => encoder.encode(JSON.stringify({ ...valid, config: v }))),
        fc.jsonValue({ maxDepth: 3 }).map((v) => encoder.encode(JSON.stringify({ ...valid, subject: v }))),
        // Valid manifests whose free text (what the registry stores in columns of its own: media
        // and artifact types, annotations) holds NULs, lone surrogates and the like.
        fc
          .record({ artifactType: anyText, mediaType: anyText, key: anyText, value: anyText, url: anyText })
          .map(({ artifactType, mediaType, key, value, url }) => {
            const config = valid.config as Record<string, unknown>;
            const layers = valid.layers as Record<string, unknown>[];
            return encoder.encode(
              JSON.stringify({
                ...valid,
                artifactType,
                annotations: { [key]: value },
                config: { ...config, mediaType: mediaType || 'x' },
                layers: layers.map((l) => ({
                  ...l,
                  annotations: { [key]: value },
                  urls: [url],
                  mediaType: mediaType || 'x',
                })),
                subject: {
                  mediaType: OCI_MANIFEST,
                  digest: image.digest,
                  size: image.manifest.length,
                  artifactType,
                },
              }),
            );
          }),
        fc.uint8Array({ maxLength: 300 }),
      );
      const type = fc.oneof(
        fc.constantFrom(OCI_MANIFEST, 'application/vnd.oci.image.index.v1+json', 'application/json'),
        anyText.map(headerValue),
      );
      await fc.assert(
        fc.asyncProperty(body, type, fc.oneof(tag, referenceLike), async (bytes, contentType, reference) => {
          const path = `/v2/${REPO}/manifests/${inPath(reference, false)}`;
          await send('PUT', path, { body: bytes, headers: { 'Content-Type': contentType } });
        }),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );

  test(
    'token requests with any scope, credentials and form body; the token then used anywhere',
    async () => {
      const scope = fc.oneof(
        fc
          .tuple(nameLike, fc.constantFrom('pull', 'push', 'pull,push', '*', 'delete', ''))
          .map(([n, a]) => `repository:${n}:${a}`),
        mutated(fc.constantFrom('registry:catalog:*', `repository:${REPO}:pull`, 'registry:admin:*')),
        anyText,
      );
      const form = fc.oneof(
        fc.tuple(fc.constantFrom('password', 'client_credentials', ''), scope).map(([grant, sc]) =>
          new URLSearchParams({
            grant_type: grant,
            username: 'admin',
            password: 'secret',
            scope: sc,
          }).toString(),
        ),
        anyText,
      );
      const formType = fc.constantFrom(
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'text/plain',
        'multipart/form-data',
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(scope, { maxLength: 3 }),
          form,
          formType,
          fc.boolean(),
          async (scopes, body, type, anonymous) => {
            const query = new URLSearchParams(scopes.map((sc) => ['scope', sc]));
            query.set('service', 'registry');
            const got = await call(registry, 'GET', `/token?${query}`, anonymous ? { auth: null } : {});
            expect(got.status, await got.clone().text()).toBeLessThan(500);
            const posted = await call(registry, 'POST', '/token', {
              body,
              headers: { 'Content-Type': type },
              auth: null,
            });
            expect(posted.status, await posted.clone().text()).toBeLessThan(500);
            if (got.status !== 200) return;
            const { token } = (await got.json()) as { token: string };
            await send('GET', `/v2/${REPO}/tags/list`, { auth: `Bearer ${token}` });
            await send('PUT', `/v2/${REPO}/manifests/fuzzed`, {
              auth: `Bearer ${token}`,
              body: image.manifest,
              headers: { 'Content-Type': OCI_MANIFEST },
            });
          },
        ),
        fuzz(0.25),
      );
    },
    TIMEOUT,
  );

  test(
    'admin bodies (policies, allowlist, webhooks, robots) with any text in their fields',
    async () => {
      const text = fc.oneof(anyText, fc.constantFrom('', 'a/b', 'CVE-2024-1234', 'x'.repeat(20)));
      const value = fc.oneof(
        text,
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(text, { maxLength: 2 }),
      );
      const request = fc.oneof(
        fc
          .record(
            {
              prefix: text,
              threshold: fc.constantFrom('critical', 'low', 'none'),
              only_fixable: fc.boolean(),
              unscanned: fc.constantFrom('allow', 'block'),
            },
            { requiredKeys: [] },
          )
          .map((b) => ['PUT', '/admin/policies', b] as const),
        fc
          .record(
            {
              prefix: text,
              vulnerability: text,
              reason: text,
              expires_at: fc.constantFrom('2099-01-01T00:00:00Z', '2099-02-30T00:00:00Z', 'soon'),
            },
            { requiredKeys: ['vulnerability'] },
          )
          .map((b) => ['PUT', '/admin/allowlist', b] as const),
        fc
          .record(
            {
              prefix: text,
              url: fc.oneof(fc.constant('https://hooks.example/x'), text),
              secret: text.map((t) => `${t}0123456789abcdef`),
              events: fc.array(text, { maxLength: 2 }),
            },
            { requiredKeys: ['url', 'secret'] },
          )
          .map((b) => ['POST', '/admin/webhooks', b] as const),
        fc
          .record(
            {
              name: text,
              description: text,
              scopes: fc.array(
                fc.record({
                  prefix: text,
                  actions: fc.array(fc.constantFrom('pull', 'push', 'delete', 'x'), { maxLength: 2 }),
                }),
                { maxLength: 2 },
              ),
              expires_in: value,
            },
            { requiredKeys: ['name'] },
          )
          .map((b) => ['POST', '/admin/robots', b] as const),
        fc
          .record({ prefix: text, tags: fc.array(text, { maxLength: 3 }) }, { requiredKeys: [] })
          .map((b) => ['PUT', '/admin/immutable-tags', b] as const),
        fc
          .tuple(
            fc.constantFrom(
              '/admin/policies',
              '/admin/allowlist',
              '/admin/webhooks',
              '/admin/robots',
              '/admin/immutable-tags',
            ),
            fc.dictionary(text, value, { maxKeys: 3 }),
          )
          .map(
            ([path, b]) =>
              [
                path.endsWith('s') && !path.endsWith('policies') && !path.endsWith('tags') ? 'POST' : 'PUT',
                path,
                b,
              ] as const,
          ),
      );
      await fc.assert(
        fc.asyncProperty(request, async ([method, path, b]) => {
          const response = await call(registry, method, path, {
            body: JSON.stringify(b),
            headers: { 'Content-Type': 'application/json' },
          });
          const answer = await response.text();
          expect(response.status, `${method} ${path} ${JSON.stringify(b)} answered ${answer}`).toBeLessThan(
            500,
          );
          if (response.status >= 400) expect(JSON.parse(answer)).toHaveProperty('errors');
        }),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );

  test(
    'admin paths with any webhook id, robot name and page size',
    async () => {
      const id = fc.oneof(
        fc.nat().map(String),
        fc.constantFrom('-1', '1.5', '1e3', '9007199254740993', '0x10', ''),
        anyText,
      );
      const n = fc.oneof(
        fc.integer({ min: -5, max: 2000 }).map(String),
        fc.constantFrom('1.5', '-0.5', 'NaN', 'Infinity', '1e9'),
        anyText,
      );
      await fc.assert(
        fc.asyncProperty(id, n, anyText, fc.boolean(), async (webhook, size, robot, rawPercent) => {
          const query = new URLSearchParams({ n: size }).toString();
          await send('GET', `/admin/webhooks/${inPath(webhook, rawPercent)}/deliveries?${query}`);
          await send('DELETE', `/admin/webhooks/${inPath(webhook, rawPercent)}`);
          await send('DELETE', `/admin/robots/${inPath(robot, rawPercent)}`);
          const prefix = new URLSearchParams({ prefix: robot, vulnerability: webhook }).toString();
          await send('DELETE', `/admin/policies?${prefix}`);
          await send('DELETE', `/admin/allowlist?${prefix}`);
          await send('DELETE', `/admin/immutable-tags?${prefix}`);
          const gc = new URLSearchParams({ mode: webhook, untagged: size }).toString();
          await send('POST', `/admin/gc?${gc}`);
          const audit = new URLSearchParams({ repository: robot, user: webhook, since: robot, limit: size });
          await send('GET', `/admin/audit?${audit}`);
          await send('GET', `/admin/audit?${new URLSearchParams({ since: webhook, last: size })}`);
          await send('GET', `/admin/repositories?${new URLSearchParams({ limit: size, last: robot })}`);
          const tags = new URLSearchParams({ sort: webhook, limit: size, last: robot });
          await send('GET', `/admin/repositories/${inPath(robot, rawPercent)}/tags?${tags}`);
          await send('GET', `/admin/repositories/${REPO}/tags?${new URLSearchParams({ last: webhook })}`);
          await send(
            'GET',
            `/admin/repositories/${REPO}/tags?${new URLSearchParams({ sort: 'name', last: robot })}`,
          );
        }),
        {
          ...fuzz(0.5),
          examples: [
            ['1', '-5', 'x', false],
            ['1', '1.5', '\u0000', false],
          ],
        },
      );
    },
    TIMEOUT,
  );

  test(
    'any Authorization header',
    async () => {
      const auth = fc.oneof(
        mutated(fc.constant(`Basic ${Buffer.from('admin:secret').toString('base64')}`)),
        fc.tuple(anyText, anyText).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
        mutated(fc.constant('Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln')),
        anyText,
      );
      await fc.assert(
        fc.asyncProperty(
          auth,
          fc.constantFrom(`/v2/${REPO}/tags/list`, '/v2/', '/v2/_catalog'),
          async (value, path) => {
            await send('GET', path, { auth: headerValue(value) });
          },
        ),
        fuzz(0.5),
      );
    },
    TIMEOUT,
  );
});
