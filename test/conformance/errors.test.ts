// Every error path of the OCI Distribution API, on a real registry over HTTP: each test names the
// promise it checks and asserts the error code, the status and the JSON body the spec prescribes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../../origin/auth/passwords.ts';
import { call, errorCode, OCI_INDEX, OCI_MANIFEST, pushBlob, pushImage, sha256 } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';

let registry: TestRegistry;
/** A registry with configured users: `reader` may only pull, `writer` may pull and push. */
let locked: TestRegistry;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const READER = basic('reader', 'reader-password');
const WRITER = basic('writer', 'writer-password');

beforeAll(async () => {
  const [readerHash, writerHash] = await Promise.all([
    hashPassword('reader-password'),
    hashPassword('writer-password'),
  ]);
  [registry, locked] = await Promise.all([
    startTestRegistry({ config: { auth: { login_throttle: { max_failures: 1000 } } } }),
    startTestRegistry({
      config: {
        auth: {
          login_throttle: { max_failures: 1000 },
          users: [
            { name: 'reader', password_hash: readerHash },
            { name: 'writer', password_hash: writerHash },
          ],
          access: [
            { prefix: '', users: ['reader'], actions: ['pull'] },
            { prefix: '', users: ['writer'], actions: ['pull', 'push'] },
          ],
        },
      },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([registry?.close(), locked?.close()]);
});

interface ErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** Asserts the status, the JSON content type and the `{"errors":[{code,message}]}` body. */
async function expectError(response: Response, code: string, status: number): Promise<ErrorEntry> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  const body = JSON.parse(text) as { errors: ErrorEntry[] };
  expect(Array.isArray(body.errors)).toBe(true);
  expect(body.errors).toHaveLength(1);
  const entry = body.errors[0] as ErrorEntry;
  expect(entry.code).toBe(code);
  expect(typeof entry.message).toBe('string');
  expect(entry.message.length).toBeGreaterThan(0);
  return entry;
}

/** A HEAD answer carries no body: the status and headers say it all. */
async function expectHeadError(response: Response, status: number): Promise<void> {
  expect(response.status).toBe(status);
  expect(await response.text()).toBe('');
}

/** Manifest references that are neither a tag nor a digest of an algorithm the registry supports. */
const INVALID_REFERENCES = [
  '-leading-dash',
  '.leading-dot',
  'x'.repeat(129),
  'bad:colon',
  'bad!tag',
  'sha256:short',
  `sha256:${'A'.repeat(64)}`,
];

let counter = 0;
/** A repository name no other test uses. */
const fresh = (prefix = 'errors') => `${prefix}/repo-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
const randomDigest = () => sha256(`nothing ${Math.random()}`);

/** Starts an upload session; returns its Location. */
async function startUpload(r: TestRegistry, name: string): Promise<string> {
  const response = await call(r, 'POST', `/v2/${name}/blobs/uploads/`);
  expect(response.status).toBe(202);
  const location = response.headers.get('location');
  expect(location).toBeTruthy();
  return location as string;
}

const withQuery = (location: string, query: string) =>
  `${location}${location.includes('?') ? '&' : '?'}${query}`;

function imageManifest(config: string, configSize: number, layers: { digest: string; size: number }[]) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configSize },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
  });
}

async function putManifest(name: string, reference: string, body: string, contentType = OCI_MANIFEST) {
  return call(registry, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body,
    headers: { 'Content-Type': contentType },
  });
}

/** A config blob pushed to `name`, for manifests that should be valid but for one thing. */
async function pushConfig(name: string): Promise<{ digest: string; size: number }> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() });
  return { digest: await pushBlob(registry, name, config), size: config.length };
}

describe('NAME_INVALID: repository names outside the grammar are refused on every route', () => {
  const badNames: [string, string][] = [
    ['uppercase letters', 'Errors/App'],
    ['an empty path component (a//b)', 'a//b'],
    ['a trailing separator (-)', 'errors/app-'],
    ['a leading separator (.)', '.errors/app'],
    ['more than 255 characters', `${'a'.repeat(200)}/${'b'.repeat(55)}`],
  ];
  const routes: [string, string, (name: string) => string][] = [
    ['GET manifest', 'GET', (name) => `/v2/${name}/manifests/latest`],
    ['PUT manifest', 'PUT', (name) => `/v2/${name}/manifests/latest`],
    ['GET blob', 'GET', (name) => `/v2/${name}/blobs/${sha256('x')}`],
    ['DELETE blob', 'DELETE', (name) => `/v2/${name}/blobs/${sha256('x')}`],
    ['GET tags list', 'GET', (name) => `/v2/${name}/tags/list`],
    ['POST upload', 'POST', (name) => `/v2/${name}/blobs/uploads/`],
    ['PATCH upload', 'PATCH', (name) => `/v2/${name}/blobs/uploads/${crypto.randomUUID()}`],
    ['GET referrers', 'GET', (name) => `/v2/${name}/referrers/${sha256('x')}`],
  ];
  for (const [why, name] of badNames) {
    test(`a name with ${why} is NAME_INVALID (400) on every route`, async () => {
      for (const [, method, path] of routes) {
        const response = await call(registry, method, path(name), {
          ...(method === 'PUT' || method === 'PATCH' ? { body: '{}' } : {}),
        });
        const entry = await expectError(response, 'NAME_INVALID', 400);
        expect(entry.detail).toEqual({ name });
      }
    });
  }

  test('the 256-character name is refused but a 255-character one is a valid (unknown) name', async () => {
    const longest = `${'a'.repeat(200)}/${'b'.repeat(54)}`;
    expect(longest).toHaveLength(255);
    await expectError(await call(registry, 'GET', `/v2/${longest}/tags/list`), 'NAME_UNKNOWN', 404);
    await expectError(await call(registry, 'GET', `/v2/${longest}b/tags/list`), 'NAME_INVALID', 400);
  });

  test('a name is checked before credentials: an anonymous request with a bad name is NAME_INVALID', async () => {
    const response = await call(registry, 'GET', '/v2/UPPER/manifests/latest', { auth: null });
    await expectError(response, 'NAME_INVALID', 400);
  });
});

describe('NAME_UNKNOWN: repositories that do not exist', () => {
  test('the tags list of a repository never pushed to is NAME_UNKNOWN (404)', async () => {
    const name = fresh();
    const entry = await expectError(
      await call(registry, 'GET', `/v2/${name}/tags/list`),
      'NAME_UNKNOWN',
      404,
    );
    expect(entry.detail).toEqual({ name });
  });
});

describe('BLOB_UNKNOWN: blobs the repository does not hold', () => {
  test('GET of a blob never pushed is BLOB_UNKNOWN (404)', async () => {
    const name = fresh();
    await pushBlob(registry, name, 'something else');
    const digest = randomDigest();
    const entry = await expectError(
      await call(registry, 'GET', `/v2/${name}/blobs/${digest}`),
      'BLOB_UNKNOWN',
      404,
    );
    expect(entry.detail).toEqual({ digest });
  });

  test('HEAD of a blob never pushed is 404 with no body', async () => {
    await expectHeadError(await call(registry, 'HEAD', `/v2/${fresh()}/blobs/${randomDigest()}`), 404);
  });

  test('DELETE of a blob never pushed is BLOB_UNKNOWN (404)', async () => {
    await expectError(
      await call(registry, 'DELETE', `/v2/${fresh()}/blobs/${randomDigest()}`),
      'BLOB_UNKNOWN',
      404,
    );
  });

  test('a blob pushed to another repository is BLOB_UNKNOWN here: repositories do not leak', async () => {
    const owner = fresh('owner');
    const other = fresh('other');
    const digest = await pushBlob(registry, owner, `private layer ${Math.random()}`);
    await pushBlob(registry, other, `unrelated ${Math.random()}`);
    expect((await call(registry, 'GET', `/v2/${owner}/blobs/${digest}`)).status).toBe(200);
    await expectError(await call(registry, 'GET', `/v2/${other}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
    await expectHeadError(await call(registry, 'HEAD', `/v2/${other}/blobs/${digest}`), 404);
    await expectError(await call(registry, 'DELETE', `/v2/${other}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
    // ...and the failed DELETE elsewhere did not touch the owner's copy.
    expect((await call(registry, 'GET', `/v2/${owner}/blobs/${digest}`)).status).toBe(200);
  });

  test('a deleted blob is BLOB_UNKNOWN afterwards, and deleting it again too', async () => {
    const name = fresh();
    const digest = await pushBlob(registry, name, `to delete ${Math.random()}`);
    expect((await call(registry, 'DELETE', `/v2/${name}/blobs/${digest}`)).status).toBe(202);
    await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
    await expectError(await call(registry, 'DELETE', `/v2/${name}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
  });
});

describe('BLOB_UPLOAD_UNKNOWN: upload sessions that do not exist', () => {
  const methods = ['GET', 'PATCH', 'PUT', 'DELETE'] as const;

  test('GET, PATCH, PUT and DELETE of an unknown upload id are BLOB_UPLOAD_UNKNOWN (404)', async () => {
    const name = fresh();
    for (const method of methods) {
      const id = crypto.randomUUID();
      const path = `/v2/${name}/blobs/uploads/${id}${method === 'PUT' ? `?digest=${sha256('x')}` : ''}`;
      const response = await call(registry, method, path, method === 'PATCH' ? { body: 'x' } : {});
      const entry = await expectError(response, 'BLOB_UPLOAD_UNKNOWN', 404);
      expect(entry.detail).toEqual({ uuid: id });
    }
  });

  test('a malformed upload id is BLOB_UPLOAD_UNKNOWN (404), not a server error', async () => {
    const name = fresh();
    for (const id of ['not-a-uuid', '...', 'x'.repeat(300), "1'; DROP TABLE uploads; --"]) {
      for (const method of methods) {
        const path = `/v2/${name}/blobs/uploads/${encodeURIComponent(id)}`;
        const response = await call(registry, method, path, method === 'PATCH' ? { body: 'x' } : {});
        await expectError(response, 'BLOB_UPLOAD_UNKNOWN', 404);
      }
    }
  });

  test('an upload started in one repository is BLOB_UPLOAD_UNKNOWN under another', async () => {
    const location = await startUpload(registry, fresh());
    const id = location.split('/').pop() as string;
    const response = await call(registry, 'PATCH', `/v2/${fresh()}/blobs/uploads/${id}`, { body: 'x' });
    await expectError(response, 'BLOB_UPLOAD_UNKNOWN', 404);
    // The session itself is intact.
    expect((await call(registry, 'GET', location)).status).toBe(204);
  });

  test('a cancelled upload is BLOB_UPLOAD_UNKNOWN afterwards', async () => {
    const location = await startUpload(registry, fresh());
    expect((await call(registry, 'DELETE', location)).status).toBe(204);
    await expectError(await call(registry, 'GET', location), 'BLOB_UPLOAD_UNKNOWN', 404);
    await expectError(await call(registry, 'DELETE', location), 'BLOB_UPLOAD_UNKNOWN', 404);
  });

  test('a completed upload is BLOB_UPLOAD_UNKNOWN afterwards: it cannot be finished twice', async () => {
    const location = await startUpload(registry, fresh());
    const bytes = `once ${Math.random()}`;
    const put = () =>
      call(registry, 'PUT', withQuery(location, `digest=${sha256(bytes)}`), {
        body: bytes,
        headers: { 'Content-Type': 'application/octet-stream' },
      });
    expect((await put()).status).toBe(201);
    await expectError(await put(), 'BLOB_UPLOAD_UNKNOWN', 404);
  });
});

describe('BLOB_UPLOAD_INVALID: chunks must arrive in order', () => {
  const patch = (location: string, body: string, range: string) =>
    call(registry, 'PATCH', location, {
      body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': range },
    });

  test('an out-of-order chunk is 416 with the Range the upload really holds, and the upload goes on', async () => {
    const location = await startUpload(registry, fresh());
    expect((await patch(location, 'hello', '0-4')).status).toBe(202);
    const skipped = await patch(location, 'world', '10-14');
    await expectError(skipped, 'BLOB_UPLOAD_INVALID', 416);
    expect(skipped.headers.get('range')).toBe('0-4');
    expect(skipped.headers.get('location')).toBe(location);
    // The refused chunk left nothing behind: the next in-order chunk fits.
    const next = await patch(location, 'world', '5-9');
    expect(next.status).toBe(202);
    expect(next.headers.get('range')).toBe('0-9');
    const done = await call(registry, 'PUT', withQuery(location, `digest=${sha256('helloworld')}`));
    expect(done.status).toBe(201);
  });

  test('a retried (already received) chunk is 416 and does not duplicate bytes', async () => {
    const name = fresh();
    const location = await startUpload(registry, name);
    expect((await patch(location, 'hello', '0-4')).status).toBe(202);
    const again = await patch(location, 'hello', '0-4');
    await expectError(again, 'BLOB_UPLOAD_INVALID', 416);
    expect(again.headers.get('range')).toBe('0-4');
    const status = await call(registry, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-4');
    const done = await call(registry, 'PUT', withQuery(location, `digest=${sha256('hello')}`));
    expect(done.status).toBe(201);
  });

  test('a final PUT whose Content-Range does not start at the upload size is 416', async () => {
    const location = await startUpload(registry, fresh());
    expect((await patch(location, 'hello', '0-4')).status).toBe(202);
    const response = await call(registry, 'PUT', withQuery(location, `digest=${sha256('hellohello')}`), {
      body: 'hello',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-4' },
    });
    await expectError(response, 'BLOB_UPLOAD_INVALID', 416);
    expect(response.headers.get('range')).toBe('0-4');
  });

  test('a Content-Range whose end is not within its total is 416 BLOB_UPLOAD_INVALID', async () => {
    const location = await startUpload(registry, fresh());
    for (const range of ['0-9/5', '0-4/4', 'bytes 0-4/0']) {
      await expectError(await patch(location, 'hello', range), 'BLOB_UPLOAD_INVALID', 416);
    }
    const status = await call(registry, 'GET', location);
    expect(status.headers.get('range')).toBe('0-0');
    // A total the range fits in is accepted.
    expect((await patch(location, 'hello', '0-4/5')).status).toBe(202);
  });

  test('a malformed or backwards Content-Range is 416 BLOB_UPLOAD_INVALID', async () => {
    const location = await startUpload(registry, fresh());
    for (const range of ['garbage', '5-1', '-4', 'bytes 0-']) {
      await expectError(await patch(location, 'hello', range), 'BLOB_UPLOAD_INVALID', 416);
    }
    // Still empty and usable.
    expect((await patch(location, 'hello', '0-4')).status).toBe(202);
  });
});

describe('DIGEST_INVALID: content must match its digest', () => {
  test('PUT ?digest= that does not match the bytes is 400, and the blob is then not fetchable', async () => {
    const name = fresh();
    const location = await startUpload(registry, name);
    const bytes = `real bytes ${Math.random()}`;
    const claimed = sha256('other bytes');
    const response = await call(registry, 'PUT', withQuery(location, `digest=${claimed}`), {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    const entry = await expectError(response, 'DIGEST_INVALID', 400);
    expect(entry.detail).toEqual({ expected: claimed, actual: sha256(bytes) });
    await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${sha256(bytes)}`), 'BLOB_UNKNOWN', 404);
    await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${claimed}`), 'BLOB_UNKNOWN', 404);
    await expectHeadError(await call(registry, 'HEAD', `/v2/${name}/blobs/${sha256(bytes)}`), 404);
    // The session is gone with its bytes.
    await expectError(await call(registry, 'GET', location), 'BLOB_UPLOAD_UNKNOWN', 404);
  });

  test('a monolithic POST ?digest= that does not match is 400 and stores nothing', async () => {
    const name = fresh();
    const bytes = `monolithic ${Math.random()}`;
    const claimed = sha256('not these');
    const response = await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${claimed}`, {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    await expectError(response, 'DIGEST_INVALID', 400);
    await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${sha256(bytes)}`), 'BLOB_UNKNOWN', 404);
    await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${claimed}`), 'BLOB_UNKNOWN', 404);
  });

  test('a malformed digest is DIGEST_INVALID (400) wherever a digest is expected', async () => {
    const name = fresh();
    await pushBlob(registry, name, 'exists');
    const malformed = [
      'sha256:xyz',
      `sha256:${'A'.repeat(64)}`,
      `sha256:${'a'.repeat(63)}`,
      'nocolon',
      'sha256:',
    ];
    for (const digest of malformed) {
      const location = await startUpload(registry, name);
      const encoded = encodeURIComponent(digest);
      await expectError(
        await call(registry, 'PUT', withQuery(location, `digest=${encoded}`)),
        'DIGEST_INVALID',
        400,
      );
      await expectError(
        await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${encoded}`, { body: 'x' }),
        'DIGEST_INVALID',
        400,
      );
      await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${encoded}`), 'DIGEST_INVALID', 400);
      await expectError(
        await call(registry, 'DELETE', `/v2/${name}/blobs/${encoded}`),
        'DIGEST_INVALID',
        400,
      );
    }
  });

  test('finishing an upload without ?digest= is DIGEST_INVALID (400)', async () => {
    const location = await startUpload(registry, fresh());
    await expectError(await call(registry, 'PUT', location, { body: 'abc' }), 'DIGEST_INVALID', 400);
  });

  test('a manifest pushed by a digest that does not match its bytes is 400 and not stored', async () => {
    const name = fresh();
    const config = await pushConfig(name);
    const manifest = imageManifest(config.digest, config.size, []);
    const wrong = sha256(`${manifest} `);
    const entry = await expectError(await putManifest(name, wrong, manifest), 'DIGEST_INVALID', 400);
    expect(entry.detail).toEqual({ expected: wrong, actual: sha256(manifest) });
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/${wrong}`), 'MANIFEST_UNKNOWN', 404);
    await expectError(
      await call(registry, 'GET', `/v2/${name}/manifests/${sha256(manifest)}`),
      'MANIFEST_UNKNOWN',
      404,
    );
  });

  test('a manifest descriptor with a malformed digest is DIGEST_INVALID (400)', async () => {
    const name = fresh();
    const config = await pushConfig(name);
    const manifest = imageManifest(config.digest, config.size, [{ digest: 'sha256:nothex', size: 3 }]);
    await expectError(await putManifest(name, 'latest', manifest), 'DIGEST_INVALID', 400);
  });
});

describe('UNSUPPORTED: algorithms and methods the registry does not implement', () => {
  const sha1 = `sha1:${'a'.repeat(40)}`;
  const md5 = `md5:${'b'.repeat(32)}`;

  test('an upload finished with a sha1 or md5 digest is UNSUPPORTED (400), and the upload stays usable', async () => {
    const name = fresh();
    const location = await startUpload(registry, name);
    for (const digest of [sha1, md5]) {
      await expectError(
        await call(registry, 'PUT', withQuery(location, `digest=${digest}`)),
        'UNSUPPORTED',
        400,
      );
    }
    const bytes = `after the refusals ${Math.random()}`;
    const done = await call(registry, 'PUT', withQuery(location, `digest=${sha256(bytes)}`), {
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(done.status).toBe(201);
  });

  test('a monolithic push with a sha1 or md5 digest is UNSUPPORTED (400)', async () => {
    const name = fresh();
    for (const digest of [sha1, md5]) {
      await expectError(
        await call(registry, 'POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: 'x' }),
        'UNSUPPORTED',
        400,
      );
    }
  });

  test('a manifest pushed by a sha1 or md5 digest is UNSUPPORTED (400): its bytes cannot be checked', async () => {
    const name = fresh();
    const config = await pushConfig(name);
    for (const digest of [sha1, md5]) {
      await expectError(
        await putManifest(name, digest, imageManifest(config.digest, config.size, [])),
        'UNSUPPORTED',
        400,
      );
    }
  });

  test('a blob or manifest asked for by a sha1 or md5 digest is unknown (404), as any content not here', async () => {
    const name = fresh();
    await pushImage(registry, name, 'present');
    for (const digest of [sha1, md5]) {
      await expectError(await call(registry, 'GET', `/v2/${name}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
      await expectHeadError(await call(registry, 'HEAD', `/v2/${name}/blobs/${digest}`), 404);
      await expectError(await call(registry, 'DELETE', `/v2/${name}/blobs/${digest}`), 'BLOB_UNKNOWN', 404);
      const manifest = `/v2/${name}/manifests/${digest}`;
      await expectError(await call(registry, 'GET', manifest), 'MANIFEST_UNKNOWN', 404);
      await expectHeadError(await call(registry, 'HEAD', manifest), 404);
      await expectError(await call(registry, 'DELETE', manifest), 'MANIFEST_UNKNOWN', 404);
    }
  });

  test('a URL holding a NUL anywhere is refused with 400, not a server error', async () => {
    const name = fresh();
    for (const path of [
      `/v2/${name}/tags/list?last=%00`,
      `/v2/a%00b/tags/list`,
      `/v2/${name}/referrers/${randomDigest()}?artifactType=%00`,
    ]) {
      expect((await call(registry, 'GET', path)).status).toBe(400);
    }
  });

  test('a method an endpoint does not implement is UNSUPPORTED (405)', async () => {
    const name = fresh();
    const cases: [string, string][] = [
      ['PATCH', `/v2/${name}/manifests/latest`],
      ['POST', `/v2/${name}/manifests/latest`],
      ['PUT', `/v2/${name}/blobs/${sha256('x')}`],
      ['PATCH', `/v2/${name}/blobs/${sha256('x')}`],
      ['POST', `/v2/${name}/tags/list`],
      ['DELETE', `/v2/${name}/tags/list`],
      ['GET', `/v2/${name}/blobs/uploads/`],
      ['POST', `/v2/${name}/blobs/uploads/${crypto.randomUUID()}`],
      ['DELETE', '/v2/_catalog'],
      ['PUT', '/v2/'],
      ['POST', `/v2/${name}/referrers/${sha256('x')}`],
    ];
    for (const [method, path] of cases) {
      const response = await call(
        registry,
        method,
        path,
        method === 'GET' || method === 'DELETE' ? {} : { body: 'x' },
      );
      const entry = await expectError(response, 'UNSUPPORTED', 405);
      expect(entry.message).toContain(method);
    }
  });
});

describe('MANIFEST_INVALID: manifests the registry cannot accept', () => {
  let name: string;
  let config: { digest: string; size: number };
  let layer: { digest: string; size: number };
  let child: { digest: string; size: number };
  beforeAll(async () => {
    name = fresh('invalid');
    config = await pushConfig(name);
    const layerBytes = `a layer ${Math.random()}`;
    layer = { digest: await pushBlob(registry, name, layerBytes), size: Buffer.byteLength(layerBytes) };
    const image = await pushImage(registry, name, 'child');
    child = { digest: image.digest, size: Buffer.byteLength(image.manifest) };
  });

  type Case = () => { body: string | Uint8Array; contentType: string };
  const cases: [string, Case][] = [
    ['a body that is not JSON', () => ({ body: '{"schemaVersion": 2,', contentType: OCI_MANIFEST })],
    [
      'a body that is not UTF-8',
      () => ({ body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), contentType: OCI_MANIFEST }),
    ],
    ['a JSON array', () => ({ body: '[]', contentType: OCI_MANIFEST })],
    [
      'a Docker schema 1 manifest (schemaVersion 1)',
      () => ({
        body: JSON.stringify({ schemaVersion: 1, name, tag: 'latest', fsLayers: [], history: [] }),
        contentType: 'application/vnd.docker.distribution.manifest.v1+json',
      }),
    ],
    [
      'schemaVersion 1 under an OCI Content-Type',
      () => ({ body: JSON.stringify({ schemaVersion: 1, config, layers: [] }), contentType: OCI_MANIFEST }),
    ],
    [
      'schemaVersion missing',
      () => ({
        body: JSON.stringify({ mediaType: OCI_MANIFEST, config, layers: [] }),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'a media type that is not a manifest',
      () => ({
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.example+json',
          config,
          layers: [],
        }),
        contentType: 'application/vnd.example+json',
      }),
    ],
    [
      'a Content-Type that is not a manifest type (and no mediaType)',
      () => ({ body: JSON.stringify({ schemaVersion: 2, config, layers: [] }), contentType: 'text/plain' }),
    ],
    [
      'a mediaType that differs from the Content-Type',
      () => ({ body: imageManifest(config.digest, config.size, []), contentType: OCI_INDEX }),
    ],
    [
      'no config',
      () => ({
        body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'no layers array',
      () => ({
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        }),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'a descriptor without a mediaType',
      () => ({
        body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [] }),
        contentType: OCI_MANIFEST,
      }),
    ],
    ...(['-1', '"12"', '1.5', 'null'] as const).map((size): [string, Case] => [
      `a descriptor size of ${size}`,
      () => ({
        body: imageManifest(config.digest, config.size, []).replace(
          `"size":${config.size}`,
          `"size":${size}`,
        ),
        contentType: OCI_MANIFEST,
      }),
    ]),
    [
      'an index whose manifests is not an array',
      () => ({
        body: JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: {} }),
        contentType: OCI_INDEX,
      }),
    ],
    [
      'a UTF-8 byte order mark before the JSON',
      () => ({
        body: new Uint8Array([
          0xef,
          0xbb,
          0xbf,
          ...Buffer.from(imageManifest(config.digest, config.size, [])),
        ]),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'the key "layers" twice (parsers keeping the first and the last would see different layers)',
      () => ({
        body: imageManifest(config.digest, config.size, [layer]).replace(
          '"layers":[',
          '"layers":[],"layers":[',
        ),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'a key twice inside a descriptor, once spelt with an escape',
      () => ({
        body: imageManifest(config.digest, config.size, [layer]).replace(
          `"size":${layer.size}`,
          `"size":${layer.size},"\\u0073ize":1`,
        ),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'a config descriptor whose size is not the size of the config blob',
      () => ({ body: imageManifest(config.digest, config.size + 1, []), contentType: OCI_MANIFEST }),
    ],
    [
      'a layer descriptor whose size is not the size of the layer blob',
      () => ({
        body: imageManifest(config.digest, config.size, [{ digest: layer.digest, size: layer.size - 1 }]),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      'an index entry whose size is not the size of the child manifest',
      () => ({
        body: JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.size + 7 }],
        }),
        contentType: OCI_INDEX,
      }),
    ],
    [
      'annotations that are not strings',
      () => ({
        body: JSON.stringify({
          ...JSON.parse(imageManifest(config.digest, config.size, [])),
          annotations: { a: 1 },
        }),
        contentType: OCI_MANIFEST,
      }),
    ],
    [
      // Found by test/fuzz/http.test.ts: the database cannot store a NUL, and this answered 500.
      'an annotation holding a NUL character',
      () => ({
        body: JSON.stringify({
          ...JSON.parse(imageManifest(config.digest, config.size, [])),
          annotations: { '': '\u0000' },
        }),
        contentType: OCI_MANIFEST,
      }),
    ],
  ];

  for (const [why, make] of cases) {
    test(`${why} is MANIFEST_INVALID (400) and leaves no tag behind`, async () => {
      const { body, contentType } = make();
      const tag = `t${++counter}`;
      const response = await call(registry, 'PUT', `/v2/${name}/manifests/${tag}`, {
        body,
        headers: { 'Content-Type': contentType },
      });
      await expectError(response, 'MANIFEST_INVALID', 400);
      await expectError(await call(registry, 'GET', `/v2/${name}/manifests/${tag}`), 'MANIFEST_UNKNOWN', 404);
    });
  }

  test('a descriptor size mismatch names the digest, the size declared and the size held', async () => {
    const response = await putManifest(
      name,
      'sizes',
      imageManifest(config.digest, config.size, [{ digest: layer.digest, size: 5 }]),
    );
    const entry = await expectError(response, 'MANIFEST_INVALID', 400);
    expect(entry.detail).toEqual({ digest: layer.digest, declared: 5, size: layer.size });
  });

  test('a manifest pushed under a reference that is neither a tag nor a digest is TAG_INVALID (400)', async () => {
    const manifest = imageManifest(config.digest, config.size, []);
    for (const reference of INVALID_REFERENCES) {
      const entry = await expectError(await putManifest(name, reference, manifest), 'TAG_INVALID', 400);
      expect(entry.detail).toEqual({ reference });
    }
  });
});

describe('MANIFEST_BLOB_UNKNOWN: manifests must only reference content the repository holds', () => {
  test('a layer never pushed is MANIFEST_BLOB_UNKNOWN (400) naming it, and the tag is not created', async () => {
    const name = fresh();
    const config = await pushConfig(name);
    const missing = randomDigest();
    const manifest = imageManifest(config.digest, config.size, [{ digest: missing, size: 10 }]);
    const entry = await expectError(
      await putManifest(name, 'latest', manifest),
      'MANIFEST_BLOB_UNKNOWN',
      400,
    );
    expect(entry.detail).toEqual({ digests: [missing] });
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/latest`), 'MANIFEST_UNKNOWN', 404);
    await expectError(
      await call(registry, 'GET', `/v2/${name}/manifests/${sha256(manifest)}`),
      'MANIFEST_UNKNOWN',
      404,
    );
    // The repository holds no manifest, so it is not known yet.
    await expectError(await call(registry, 'GET', `/v2/${name}/tags/list`), 'NAME_UNKNOWN', 404);
  });

  test('a rejected manifest in a new repository does not create the repository', async () => {
    const name = fresh();
    const manifest = imageManifest(randomDigest(), 10, []);
    await expectError(await putManifest(name, 'latest', manifest), 'MANIFEST_BLOB_UNKNOWN', 400);
    await expectError(await call(registry, 'GET', `/v2/${name}/tags/list`), 'NAME_UNKNOWN', 404);
  });

  test('a rejected manifest does not move an existing tag', async () => {
    const name = fresh();
    const first = await pushImage(registry, name, 'stable');
    const config = await pushConfig(name);
    const manifest = imageManifest(config.digest, config.size, [{ digest: randomDigest(), size: 1 }]);
    await expectError(await putManifest(name, 'stable', manifest), 'MANIFEST_BLOB_UNKNOWN', 400);
    const current = await call(registry, 'HEAD', `/v2/${name}/manifests/stable`, {
      headers: { Accept: OCI_MANIFEST },
    });
    expect(current.headers.get('docker-content-digest')).toBe(first.digest);
  });

  test('a config blob held only by another repository is MANIFEST_BLOB_UNKNOWN here', async () => {
    const owner = fresh('owner');
    const name = fresh();
    const config = await pushConfig(owner);
    const manifest = imageManifest(config.digest, config.size, []);
    await expectError(await putManifest(name, 'latest', manifest), 'MANIFEST_BLOB_UNKNOWN', 400);
  });

  test('an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN (400), and the tag is not created', async () => {
    const name = fresh();
    const present = await pushImage(registry, name, 'child');
    const missing = randomDigest();
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: present.digest, size: present.manifest.length },
        {
          mediaType: OCI_MANIFEST,
          digest: missing,
          size: 100,
          platform: { os: 'linux', architecture: 'arm64' },
        },
      ],
    });
    const entry = await expectError(
      await putManifest(name, 'multi', index, OCI_INDEX),
      'MANIFEST_BLOB_UNKNOWN',
      400,
    );
    expect(entry.detail).toEqual({ digests: [missing] });
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/multi`), 'MANIFEST_UNKNOWN', 404);
    const tags = await call(registry, 'GET', `/v2/${name}/tags/list`);
    expect(await tags.json()).toEqual({ name, tags: ['child'] });
  });
});

describe('MANIFEST_UNKNOWN: manifests the repository does not hold', () => {
  test('an unknown tag is MANIFEST_UNKNOWN (404), on GET, HEAD and DELETE', async () => {
    const name = fresh();
    await pushImage(registry, name, 'present');
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/absent`), 'MANIFEST_UNKNOWN', 404);
    await expectHeadError(await call(registry, 'HEAD', `/v2/${name}/manifests/absent`), 404);
    await expectError(
      await call(registry, 'DELETE', `/v2/${name}/manifests/absent`),
      'MANIFEST_UNKNOWN',
      404,
    );
  });

  test('an unknown digest is MANIFEST_UNKNOWN (404), on GET, HEAD and DELETE', async () => {
    const name = fresh();
    const digest = randomDigest();
    await expectError(
      await call(registry, 'GET', `/v2/${name}/manifests/${digest}`),
      'MANIFEST_UNKNOWN',
      404,
    );
    await expectHeadError(await call(registry, 'HEAD', `/v2/${name}/manifests/${digest}`), 404);
    await expectError(
      await call(registry, 'DELETE', `/v2/${name}/manifests/${digest}`),
      'MANIFEST_UNKNOWN',
      404,
    );
  });

  test('a reference that is neither a tag nor a digest is MANIFEST_UNKNOWN (404) on GET, HEAD and DELETE', async () => {
    const name = fresh();
    await pushImage(registry, name, 'present');
    for (const reference of INVALID_REFERENCES) {
      const path = `/v2/${name}/manifests/${reference}`;
      const entry = await expectError(await call(registry, 'GET', path), 'MANIFEST_UNKNOWN', 404);
      expect(entry.detail).toEqual({ name, reference });
      await expectHeadError(await call(registry, 'HEAD', path), 404);
      await expectError(await call(registry, 'DELETE', path), 'MANIFEST_UNKNOWN', 404);
    }
  });

  test('a manifest of another repository is MANIFEST_UNKNOWN here', async () => {
    const image = await pushImage(registry, fresh('owner'), 'latest');
    const name = fresh();
    await expectError(
      await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`),
      'MANIFEST_UNKNOWN',
      404,
    );
  });

  test('a deleted manifest is MANIFEST_UNKNOWN by digest and by its former tag', async () => {
    const name = fresh();
    const image = await pushImage(registry, name, 'gone');
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/${image.digest}`)).status).toBe(202);
    await expectError(
      await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`),
      'MANIFEST_UNKNOWN',
      404,
    );
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/gone`), 'MANIFEST_UNKNOWN', 404);
    await expectError(
      await call(registry, 'DELETE', `/v2/${name}/manifests/${image.digest}`),
      'MANIFEST_UNKNOWN',
      404,
    );
  });

  test('a deleted tag is MANIFEST_UNKNOWN while the manifest stays reachable by digest', async () => {
    const name = fresh();
    const image = await pushImage(registry, name, 'untag-me');
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/untag-me`)).status).toBe(202);
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/untag-me`), 'MANIFEST_UNKNOWN', 404);
    expect((await call(registry, 'GET', `/v2/${name}/manifests/${image.digest}`)).status).toBe(200);
  });
});

describe('SIZE_INVALID: declared sizes must hold', () => {
  test('a manifest over 4 MiB is 413 SIZE_INVALID', async () => {
    const name = fresh();
    const config = await pushConfig(name);
    const base = JSON.parse(imageManifest(config.digest, config.size, [])) as Record<string, unknown>;
    const body = JSON.stringify({ ...base, annotations: { padding: 'x'.repeat(4 * 1024 * 1024) } });
    const entry = await expectError(await putManifest(name, 'huge', body), 'SIZE_INVALID', 413);
    expect(entry.detail).toEqual({ limit: 4 * 1024 * 1024 });
    await expectError(await call(registry, 'GET', `/v2/${name}/manifests/huge`), 'MANIFEST_UNKNOWN', 404);
  });

  test('a manifest over 4 MiB sent chunked is 413 SIZE_INVALID, and the connection stays usable', async () => {
    const name = fresh();
    const piece = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 5 * 1024 * 1024) return controller.close();
        sent += piece.byteLength;
        controller.enqueue(piece);
      },
    });
    const response = await fetch(`${registry.url}/v2/${name}/manifests/huge`, {
      method: 'PUT',
      body: stream,
      headers: { Authorization: registry.adminAuth, 'Content-Type': OCI_MANIFEST },
      duplex: 'half',
    } as RequestInit);
    await expectError(response, 'SIZE_INVALID', 413);
    // The rest of the body was left unread: the registry closes that connection rather than
    // leave the client's next request waiting on it.
    expect(response.headers.get('connection')).toBe('close');
    const next = await call(registry, 'GET', '/v2/', {});
    expect(next.status).toBe(200);
  });

  test('a chunk whose Content-Length differs from its Content-Range is SIZE_INVALID (400)', async () => {
    const location = await startUpload(registry, fresh());
    const response = await call(registry, 'PATCH', location, {
      body: 'hello',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-9' },
    });
    await expectError(response, 'SIZE_INVALID', 400);
    // Nothing of the refused chunk was kept.
    const status = await call(registry, 'GET', location);
    expect(status.headers.get('range')).toBe('0-0');
  });

  /** A PATCH or PUT whose body is streamed (chunked, no Content-Length) with a Content-Range. */
  const streamed = (method: string, at: string, body: string, range: string) =>
    fetch(`${registry.url}${at}`, {
      method,
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(body));
          controller.close();
        },
      }),
      headers: {
        Authorization: registry.adminAuth,
        'Content-Type': 'application/octet-stream',
        'Content-Range': range,
      },
      duplex: 'half',
    } as RequestInit);

  test('a refused chunk leaves the upload as it was: a body shorter or longer than its Content-Range is SIZE_INVALID', async () => {
    const name = fresh();
    const location = await startUpload(registry, name);
    const first = await call(registry, 'PATCH', location, {
      body: 'hello',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': '0-4' },
    });
    expect(first.status).toBe(202);
    await expectError(await streamed('PATCH', location, 'short', '5-104'), 'SIZE_INVALID', 400);
    await expectError(
      await streamed('PATCH', location, 'far longer than announced', '5-9'),
      'SIZE_INVALID',
      400,
    );
    const finalShort = await streamed(
      'PUT',
      withQuery(location, `digest=${sha256('helloshort')}`),
      'short',
      '5-104',
    );
    await expectError(finalShort, 'SIZE_INVALID', 400);
    // Its size, its bytes and its running digest are those of 'hello': the next chunk and the digest fit.
    const status = await call(registry, 'GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-4');
    const next = await streamed('PATCH', location, 'world', '5-9');
    expect(next.status).toBe(202);
    expect(next.headers.get('range')).toBe('0-9');
    const done = await call(registry, 'PUT', withQuery(location, `digest=${sha256('helloworld')}`));
    expect(done.status).toBe(201);
    const blob = await call(registry, 'GET', `/v2/${name}/blobs/${sha256('helloworld')}`);
    expect(await blob.text()).toBe('helloworld');
  });

  test('a blob Range beyond the blob size is 416 with Content-Range: bytes */SIZE', async () => {
    const name = fresh();
    const digest = await pushBlob(registry, name, '12345');
    for (const range of ['bytes=5-10', 'bytes=100-', 'bytes=-0', 'bytes=3-1', 'lines=0-1']) {
      const response = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`, {
        headers: { Range: range },
      });
      await expectError(response, 'SIZE_INVALID', 416);
      expect(response.headers.get('content-range')).toBe('bytes */5');
    }
    // A satisfiable range still works.
    const partial = await call(registry, 'GET', `/v2/${name}/blobs/${digest}`, {
      headers: { Range: 'bytes=1-2' },
    });
    expect(partial.status).toBe(206);
    expect(await partial.text()).toBe('23');
  });
});

describe('UNAUTHORIZED: requests without valid credentials', () => {
  test('no credentials is 401 with a Bearer challenge naming realm, service and the pull scope', async () => {
    const name = fresh();
    const response = await call(registry, 'GET', `/v2/${name}/manifests/latest`, { auth: null });
    await expectError(response, 'UNAUTHORIZED', 401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="${registry.url}/token",service="${registry.host}",scope="repository:${name}:pull"`,
    );
  });

  test('an anonymous push is challenged for pull,push; a delete for delete', async () => {
    const name = fresh();
    const push = await call(registry, 'POST', `/v2/${name}/blobs/uploads/`, { auth: null });
    await expectError(push, 'UNAUTHORIZED', 401);
    expect(push.headers.get('www-authenticate')).toBe(
      `Bearer realm="${registry.url}/token",service="${registry.host}",scope="repository:${name}:pull,push"`,
    );
    const del = await call(registry, 'DELETE', `/v2/${name}/manifests/${randomDigest()}`, { auth: null });
    await expectError(del, 'UNAUTHORIZED', 401);
    expect(del.headers.get('www-authenticate')).toContain(`scope="repository:${name}:delete"`);
  });

  test('the /v2/ ping without credentials is 401 with a challenge and no scope', async () => {
    const response = await call(registry, 'GET', '/v2/', { auth: null });
    await expectError(response, 'UNAUTHORIZED', 401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer realm="${registry.url}/token",service="${registry.host}"`,
    );
  });

  test('a wrong password is 401, never a pass-through', async () => {
    const name = fresh();
    for (const auth of [basic('admin', 'wrong'), basic('nobody', 'secret'), basic('admin', '')]) {
      const response = await call(registry, 'GET', `/v2/${name}/tags/list`, { auth });
      await expectError(response, 'UNAUTHORIZED', 401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    }
  });

  test('malformed credentials and unknown schemes are 401', async () => {
    for (const auth of [
      'Basic',
      'Basic !!!',
      `Basic ${btoa('nocolon')}`,
      'Bearer not.a.jwt',
      'Digest x=1',
      'x',
    ]) {
      await expectError(await call(registry, 'GET', '/v2/', { auth }), 'UNAUTHORIZED', 401);
    }
  });
});

describe('DENIED: authenticated users acting beyond their permissions', () => {
  test('a Basic user without push permission is 403 DENIED on push', async () => {
    const name = fresh();
    const response = await call(locked, 'POST', `/v2/${name}/blobs/uploads/`, { auth: READER });
    const entry = await expectError(response, 'DENIED', 403);
    expect(entry.message).toContain('push');
    const manifest = await call(locked, 'PUT', `/v2/${name}/manifests/latest`, {
      auth: READER,
      body: '{}',
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    await expectError(manifest, 'DENIED', 403);
  });

  test('a Basic user without delete permission is 403 DENIED on delete, whether the blob exists or not', async () => {
    const name = fresh();
    const digest = await pushBlob({ ...locked, adminAuth: WRITER }, name, `kept ${Math.random()}`);
    for (const target of [digest, randomDigest()]) {
      const response = await call(locked, 'DELETE', `/v2/${name}/blobs/${target}`, { auth: WRITER });
      await expectError(response, 'DENIED', 403);
    }
    expect((await call(locked, 'GET', `/v2/${name}/blobs/${digest}`, { auth: READER })).status).toBe(200);
  });

  test('the pulls a user is allowed still work for that user', async () => {
    const response = await call(locked, 'GET', `/v2/${fresh()}/tags/list`, { auth: READER });
    await expectError(response, 'NAME_UNKNOWN', 404);
  });

  test('the default admin/secret is refused once users are configured', async () => {
    await expectError(await call(locked, 'GET', '/v2/'), 'UNAUTHORIZED', 401);
  });
});

describe('no client mistake yields a server error', () => {
  const name = 'garbage/app';
  const paths = [
    '/v2/%',
    '/v2/%ff/manifests/x',
    '/v2/%00/tags/list',
    `/v2/${name}/manifests/`,
    `/v2/${name}/manifests/%00`,
    `/v2/${name}/manifests/${'x'.repeat(5000)}`,
    `/v2/${name}/manifests/sha256:..%2F..%2Fetc`,
    `/v2/${name}/manifests/a:b:c`,
    `/v2/${name}/blobs/`,
    `/v2/${name}/blobs/sha256:`,
    `/v2/${name}/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd`,
    `/v2/${name}/blobs/uploads/..%2F..`,
    `/v2/${name}/blobs/uploads/?mount=garbage&from=B@d`,
    `/v2/${name}/blobs/uploads/?mount=${sha256('x')}&from=`,
    `/v2/${name}/blobs/uploads/?digest=`,
    `/v2/${name}/tags/list?n=abc`,
    `/v2/${name}/tags/list?n=-1&last=%ff`,
    `/v2/${name}/tags/list?n=99999999999999999999999`,
    '/v2/_catalog?n=1e3',
    '/v2/_catalog?n=0&last=%00',
    `/v2/${name}/referrers/not-a-digest`,
    `/v2/${name}/referrers/${sha256('x')}?artifactType=%`,
    `/v2/${name}/referrers/${sha256('x')}?artifactType=%00`,
    `/v2/${name}/tags/list?last=%00`,
    '/v2/_catalog?last=%00',
    `/v2/${name}/nonsense`,
    '/v2/../../etc/passwd',
    '/token?scope=garbage',
    '/token?scope=repository::&scope=repository:a:*&scope=:::',
    '/token?service=x&scope=registry:catalog:*',
    '/nowhere',
  ];
  const methods = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE', 'OPTIONS'];
  beforeAll(async () => {
    await pushImage(registry, name, 'latest');
  });

  test('garbage paths under every method answer below 500', async () => {
    const failures: string[] = [];
    for (const path of paths) {
      const results = await Promise.all(
        methods.map(async (method) => {
          const hasBody = method === 'PUT' || method === 'POST' || method === 'PATCH';
          const response = await call(registry, method, path, hasBody ? { body: '\u0000garbage{' } : {});
          await response.arrayBuffer();
          return `${method} ${path} -> ${response.status}`;
        }),
      );
      failures.push(...results.filter((r) => Number(r.slice(-3)) >= 500));
    }
    expect(failures).toEqual([]);
  });

  test('no such endpoint, or no such method on one, is 404 with an OCI error body', async () => {
    // Found by an outside review: these answered a plain-text "404 page not found".
    for (const [method, path] of [
      ['GET', '/v2/conformance/app/bogus'],
      ['GET', '/admin/nope'],
      ['POST', '/admin/audit'],
      ['PATCH', '/admin/immutable-tags'],
    ] as const) {
      const response = await call(registry, method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await errorCode(response)).toBe('UNSUPPORTED');
    }
  });

  test('garbage headers answer below 500', async () => {
    const blobName = fresh();
    const digest = await pushBlob(registry, blobName, 'header garbage');
    const location = await startUpload(registry, blobName);
    const variants: [string, string, Record<string, string>, string?][] = [
      ['GET', `/v2/${blobName}/blobs/${digest}`, { Range: 'bytes=99999999999999999999-' }],
      ['GET', `/v2/${blobName}/blobs/${digest}`, { Range: 'bytes=0-1,3-4' }],
      ['GET', `/v2/${blobName}/blobs/${digest}`, { Range: 'bytes=-99999999999999999999' }],
      ['GET', `/v2/${blobName}/blobs/${digest}`, { 'If-None-Match': '\u00ff' }],
      ['GET', `/v2/${blobName}/manifests/latest`, { Accept: ';;;,,,*/*;q=abc' }],
      ['PATCH', location, { 'Content-Range': '99999999999999999999-99999999999999999999' }, 'x'],
      ['PATCH', location, { 'Content-Range': 'bytes=0-0/abc' }, 'x'],
      ['PATCH', location, { 'Content-Type': 'multipart/form-data; boundary=' }, 'x'],
      ['PUT', `/v2/${blobName}/manifests/latest`, { 'Content-Type': ';' }, '{}'],
      [
        'PUT',
        `/v2/${blobName}/manifests/latest`,
        { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json; charset=\u00ff' },
        '{"schemaVersion":2}',
      ],
      [
        'POST',
        '/token',
        { 'Content-Type': 'application/x-www-form-urlencoded' },
        'grant_type=password&username=%ff',
      ],
      ['POST', '/token', { 'Content-Type': 'application/json' }, '{"grant_type":"password"'],
      ['POST', '/token', { 'Content-Type': 'multipart/form-data; boundary=x' }, '--x\r\nbroken'],
      ['GET', '/token', { Authorization: 'Basic !!!' }],
      ['GET', '/token', { Authorization: 'Bearer x' }],
      ['GET', `/v2/${blobName}/tags/list`, { Authorization: `Bearer ${'a'.repeat(10_000)}` }],
      ['GET', `/v2/${blobName}/tags/list`, { Authorization: `Basic ${btoa(':')}` }],
      ['GET', `/v2/${blobName}/tags/list`, { Authorization: `Basic ${btoa('\u00ff:\u00ff')}` }],
      ['GET', `/v2/${blobName}/tags/list`, { Authorization: `Basic ${btoa('ad\u0000min:secret')}` }],
      ['GET', `/v2/${blobName}/tags/list?last=%00`, {}],
      ['GET', '/token?scope=repository:a/b:pull', { Authorization: `Basic ${btoa('ad\u0000min:secret')}` }],
      [
        'POST',
        '/token',
        { 'Content-Type': 'application/x-www-form-urlencoded' },
        'grant_type=password&username=a%00&password=x',
      ],
    ];
    const failures: string[] = [];
    for (const [method, path, headers, body] of variants) {
      const response = await call(registry, method, path, {
        headers,
        ...(body === undefined ? {} : { body }),
        ...(headers.Authorization ? { auth: headers.Authorization } : {}),
      });
      await response.arrayBuffer();
      if (response.status >= 500)
        failures.push(`${method} ${path} ${JSON.stringify(headers)} -> ${response.status}`);
    }
    expect(failures).toEqual([]);
  });
});
