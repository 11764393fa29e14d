// HTTPS in the origin (http.tls), seen from outside `registry serve`: HTTP/1.1 and HTTP/2 on one
// port as ALPN agrees, TLS 1.2 and later only, blobs pushed and pulled over either (streamed
// bodies, ranges), and a renewed certificate served without a restart, whether a SIGHUP or the
// files' change says so, while a replacement that cannot be used leaves the previous one served.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ConnectionOptions, type SecureVersion, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import {
  type CertificateAuthority,
  type IssuedCertificate,
  issueServerCertificate,
  makeCertificateAuthority,
} from './harness/certificates.ts';
import { runCli } from './harness/cli.ts';
import { sha256 } from './harness/client.ts';
import { seedPgliteDatabase } from './harness/pglite-template.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from './harness/served-registry.ts';
import { fileSetup } from './harness/tools.ts';

const AUTH = `Basic ${Buffer.from('admin:secret').toString('base64')}`;

interface Setup {
  readonly dir: string;
  readonly dataDir: string;
  readonly ca: CertificateAuthority;
  /** Where the registry's config says the pair is. */
  readonly files: { certificate: string; key: string };
  readonly first: IssuedCertificate;
  readonly served: ServedRegistry;
}

const env = fileSetup<Setup>(async (defer) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'registry-tls-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCertificateAuthority(dir);
  const first = await issueServerCertificate(ca, ['127.0.0.1'], 0x1001);
  const tlsDir = path.join(dir, 'tls');
  await mkdir(tlsDir);
  const files = { certificate: path.join(tlsDir, 'server.crt'), key: path.join(tlsDir, 'server.key') };
  await copyFile(first.certificate, files.certificate);
  await copyFile(first.key, files.key);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir);
  await seedPgliteDatabase(dataDir);
  const served = await serveRegistry({
    REGISTRY_DATA_DIR: dataDir,
    REGISTRY_HTTP_TLS_CERTIFICATE: files.certificate,
    REGISTRY_HTTP_TLS_KEY: files.key,
  });
  defer(() => killRegistry(served));
  return { dir, dataDir, ca, files, first, served };
});

beforeAll(() => env.settle());
afterAll(() => env.teardown());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

type Body = Buffer | Buffer[];

/** Request headers; an authorization of null sends none (the admin's credentials by default). */
type Headers = Record<string, string | null>;

function withAuth(headers: Headers): Record<string, string> {
  const all: Headers = { authorization: AUTH, ...headers };
  return Object.fromEntries(
    Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== null),
  );
}

/**
 * One request over HTTP/1.1 (ALPN http/1.1, a connection of its own). A list of chunks is sent
 * with no Content-Length: chunked, as docker sends a layer.
 */
async function h1(method: string, pathname: string, body?: Body, headers: Headers = {}) {
  const { served, ca } = await env.get();
  return new Promise<Answer & { alpn: string | false | null; httpVersion: string }>((resolve, reject) => {
    // The options reach tls.connect: ALPN offers HTTP/1.1 alone.
    const options: RequestOptions & Pick<ConnectionOptions, 'ALPNProtocols'> = {
      method,
      ca: ca.pem,
      ALPNProtocols: ['http/1.1'],
      agent: false,
      headers: withAuth({
        ...(Buffer.isBuffer(body) ? { 'content-length': String(body.length) } : {}),
        ...headers,
      }),
    };
    const req = httpsRequest(`${served.url}${pathname}`, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          alpn: (res.socket as TLSSocket).alpnProtocol,
          httpVersion: res.httpVersion,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of Buffer.isBuffer(body) ? [body] : (body ?? [])) req.write(chunk);
    req.end();
  });
}

async function h2Session(): Promise<ClientHttp2Session> {
  const { served, ca } = await env.get();
  const session = http2Connect(served.url, { ca: ca.pem });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** One request on an HTTP/2 session; a list of chunks is sent as DATA frames with no Content-Length. */
function h2(
  session: ClientHttp2Session,
  method: string,
  pathname: string,
  body?: Body,
  headers: Headers = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ':method': method,
        ':path': pathname,
        ...withAuth({
          ...(Buffer.isBuffer(body) ? { 'content-length': String(body.length) } : {}),
          ...headers,
        }),
      },
      { endStream: body === undefined },
    );
    let status = 0;
    let answerHeaders: Answer['headers'] = {};
    stream.on('response', (received) => {
      status = Number(received[':status']);
      answerHeaders = received;
    });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, headers: answerHeaders, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) {
      for (const chunk of Buffer.isBuffer(body) ? [body] : body) stream.write(chunk);
      stream.end();
    }
  });
}

/** The serial of the certificate a new connection is given, and the TLS version agreed. */
async function handshake(
  versions: { min?: SecureVersion; max?: SecureVersion; ciphers?: string } = {},
): Promise<{ serial: string; protocol: string | null }> {
  const { served, ca } = await env.get();
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: served.port,
      ca: ca.pem,
      ...(versions.min ? { minVersion: versions.min } : {}),
      ...(versions.max ? { maxVersion: versions.max } : {}),
      ...(versions.ciphers ? { ciphers: versions.ciphers } : {}),
    });
    socket.once('secureConnect', () => {
      const serial = socket.getPeerCertificate().serialNumber;
      const protocol = socket.getProtocol();
      socket.end();
      resolve({ serial, protocol });
    });
    socket.once('error', reject);
  });
}

/** The log lines of certificate loads and refusals so far. */
const certificateLines = (served: ServedRegistry) =>
  served.lines.filter((line) => String(line.msg).startsWith('TLS certificate'));

/** Puts `next` in place of the pair's files (the key first, as a renewal might). */
async function replacePair(next: { certificate: string; key: string }, how: 'overwrite' | 'rename') {
  const { files, dir } = await env.get();
  for (const which of ['key', 'certificate'] as const) {
    if (how === 'overwrite') {
      await copyFile(next[which], files[which]);
    } else {
      const staged = path.join(dir, 'tls', `.${which}-${randomBytes(4).toString('hex')}`);
      await copyFile(next[which], staged);
      await rename(staged, files[which]);
    }
  }
}

describe('HTTPS (http.tls)', () => {
  test('one port serves HTTP/1.1 and HTTP/2, as ALPN agrees; the registry says https://', async () => {
    const { served, first } = await env.get();
    expect(served.url).toBe(`https://127.0.0.1:${served.port}`);
    expect(served.lines.find((line) => line.msg === 'registry listening')).toMatchObject({
      addr: served.url,
      tls: { serial: first.serial, subject: 'CN=127.0.0.1' },
    });

    const overH1 = await h1('GET', '/v2/');
    expect(overH1).toMatchObject({ status: 200, alpn: 'http/1.1', httpVersion: '1.1' });

    const session = await h2Session();
    try {
      expect(session.alpnProtocol).toBe('h2');
      expect((await h2(session, 'GET', '/v2/')).status).toBe(200);
      // The token realm and the challenge name the HTTPS address.
      const challenge = await h2(session, 'GET', '/v2/', undefined, { authorization: null });
      expect(challenge.status).toBe(401);
      expect(String(challenge.headers['www-authenticate'])).toContain(`realm="${served.url}/`);
    } finally {
      session.close();
    }
  });

  test('TLS 1.1 is refused by the server; TLS 1.2 and 1.3 are accepted', async () => {
    await env.get();
    // The client allows TLS 1.1 (its own defaults would not offer it): the refusal is the server's alert.
    await expect(
      handshake({ min: 'TLSv1.1', max: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    ).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    expect((await handshake({ max: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await handshake({ min: 'TLSv1.3' })).protocol).toBe('TLSv1.3');
  });

  test('blobs go up in streamed chunks and come down whole and in ranges, over HTTP/2 and HTTP/1.1', async () => {
    const { served } = await env.get();
    const session = await h2Session();
    try {
      const viaH2 = (method: string, pathname: string, body?: Body, headers?: Record<string, string>) =>
        h2(session, method, pathname, body, headers);
      const protocols = [
        ['h2', viaH2],
        ['h1', h1],
      ] as const;
      for (const [pushedOver, push] of protocols) {
        const blob = randomBytes(3 * 1024 * 1024 + 17);
        const digest = sha256(blob);
        const name = `tls/${pushedOver}`;
        const started = await push('POST', `/v2/${name}/blobs/uploads/`, Buffer.alloc(0));
        expect(started.status).toBe(202);
        const location = String(started.headers.location);
        // Bodies of no stated length (chunked encoding over HTTP/1.1, DATA frames over HTTP/2):
        // a PATCH, then a PUT that carries the last chunks.
        const chunks = Array.from({ length: 13 }, (_, i) => blob.subarray(i * 250_000, (i + 1) * 250_000));
        expect(Buffer.concat(chunks).equals(blob)).toBe(true);
        const patched = await push('PATCH', location, chunks.slice(0, 11), {
          'content-type': 'application/octet-stream',
        });
        expect(patched.status).toBe(202);
        expect(patched.headers.range).toBe(`0-${11 * 250_000 - 1}`);
        const next = String(patched.headers.location);
        const separator = next.includes('?') ? '&' : '?';
        const put = await push('PUT', `${next}${separator}digest=${digest}`, chunks.slice(11), {
          'content-type': 'application/octet-stream',
        });
        expect(put.status).toBe(201);

        for (const [pulledOver, pull] of protocols) {
          const whole = await pull('GET', `/v2/${name}/blobs/${digest}`);
          expect(whole.status, `pushed over ${pushedOver}, pulled over ${pulledOver}`).toBe(200);
          expect(whole.headers['docker-content-digest']).toBe(digest);
          expect(whole.body.equals(blob)).toBe(true);
          const part = await pull('GET', `/v2/${name}/blobs/${digest}`, undefined, {
            range: 'bytes=1000000-2000001',
          });
          expect(part.status).toBe(206);
          expect(part.headers['content-range']).toBe(`bytes 1000000-2000001/${blob.length}`);
          expect(part.body.equals(blob.subarray(1_000_000, 2_000_002))).toBe(true);
          const head = await pull('HEAD', `/v2/${name}/blobs/${digest}`);
          expect(head).toMatchObject({ status: 200, body: Buffer.alloc(0) });
          expect(head.headers['content-length']).toBe(String(blob.length));
        }
        // The request log counts an HTTP/2 answer's own bytes, not its connection's.
        await vi.waitFor(() => {
          const pulls = served.lines.filter(
            (line) =>
              line.msg === 'request' && line.method === 'GET' && line.path === `/v2/${name}/blobs/${digest}`,
          );
          expect(pulls.map((line) => line.bytes_out)).toEqual([
            blob.length,
            1_000_002,
            expect.any(Number),
            expect.any(Number),
          ]);
        });
      }
    } finally {
      session.close();
    }
  });
});

describe('certificate renewal without a restart', () => {
  test('SIGHUP: the files are read again, and new connections get the new certificate', async () => {
    const { served, ca, first } = await env.get();
    expect((await handshake()).serial).toBe(first.serial);
    const renewed = await issueServerCertificate(ca, ['127.0.0.1'], 0x1002);
    await replacePair(renewed, 'overwrite');
    served.process.kill('SIGHUP');
    // The watch may see the write too; the SIGHUP loads what it finds either way.
    await vi.waitFor(
      () =>
        expect(certificateLines(served)).toContainEqual(
          expect.objectContaining({
            msg: 'TLS certificate loaded',
            trigger: 'SIGHUP',
            serial: renewed.serial,
          }),
        ),
      { timeout: 10_000, interval: 50 },
    );
    expect((await handshake()).serial).toBe(renewed.serial);
    expect((await h1('GET', '/v2/')).status).toBe(200);
    // The new context keeps the server's TLS versions.
    await expect(
      handshake({ min: 'TLSv1.1', max: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    ).rejects.toMatchObject({ code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
  });

  test('a change of the files (replaced by rename, as renewals do) is seen without a signal', async () => {
    const { served, ca } = await env.get();
    const renewed = await issueServerCertificate(ca, ['127.0.0.1'], 0x1003);
    await replacePair(renewed, 'rename');
    await vi.waitFor(async () => expect((await handshake()).serial).toBe(renewed.serial), {
      timeout: 10_000,
      interval: 100,
    });
    expect(certificateLines(served)).toContainEqual(
      expect.objectContaining({
        msg: 'TLS certificate loaded',
        trigger: 'file change',
        serial: renewed.serial,
      }),
    );
    const session = await h2Session();
    try {
      expect((await h2(session, 'GET', '/v2/')).status).toBe(200);
    } finally {
      session.close();
    }
  });

  test('a replacement that cannot be used is logged, and the previous certificate stays served', async () => {
    const { served, ca, files } = await env.get();
    const current = (await handshake()).serial;
    expect(current).toBe('1003');

    // A certificate whose key is not the one in the key file, found on SIGHUP.
    const stranger = await issueServerCertificate(ca, ['127.0.0.1'], 0x1004);
    await copyFile(stranger.certificate, files.certificate);
    served.process.kill('SIGHUP');
    await vi.waitFor(
      () =>
        expect(certificateLines(served)).toContainEqual(
          expect.objectContaining({
            msg: 'TLS certificate not reloaded: still serving the previous one',
            trigger: 'SIGHUP',
            level: 50,
            err: expect.stringContaining(`is not the key of the certificate ${files.certificate}`),
            kept: expect.objectContaining({ serial: current }),
          }),
        ),
      { timeout: 10_000, interval: 50 },
    );
    expect((await handshake()).serial).toBe(current);

    // Not PEM at all, found by the watch.
    await writeFile(files.certificate, 'not a certificate\n');
    await vi.waitFor(
      () =>
        expect(certificateLines(served)).toContainEqual(
          expect.objectContaining({
            trigger: 'file change',
            level: 50,
            err: expect.stringContaining(`${files.certificate} holds no PEM certificate`),
            kept: expect.objectContaining({ serial: current }),
          }),
        ),
      { timeout: 10_000, interval: 50 },
    );
    expect((await handshake()).serial).toBe(current);
    expect((await h1('GET', '/v2/')).status).toBe(200);

    // The pair put right again is taken up.
    const fixed = await issueServerCertificate(ca, ['127.0.0.1'], 0x1005);
    await replacePair(fixed, 'overwrite');
    await vi.waitFor(async () => expect((await handshake()).serial).toBe(fixed.serial), {
      timeout: 10_000,
      interval: 100,
    });
  });

  test('a pair that cannot be used at start stops the start, saying why', async () => {
    const { ca, dir } = await env.get();
    const one = await issueServerCertificate(ca, ['127.0.0.1'], 0x1006);
    const other = await issueServerCertificate(ca, ['127.0.0.1'], 0x1007);
    const dataDir = await mkdtemp(path.join(dir, 'data-'));
    const result = await runCli(['serve'], {
      env: {
        REGISTRY_DATA_DIR: dataDir,
        REGISTRY_HTTP_ADDR: '127.0.0.1:0',
        REGISTRY_HTTP_TLS_CERTIFICATE: one.certificate,
        REGISTRY_HTTP_TLS_KEY: other.key,
      },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `registry: http.tls: the key ${other.key} is not the key of the certificate ${one.certificate}\n`,
    );
    const missing = await runCli(['serve'], {
      env: {
        REGISTRY_DATA_DIR: dataDir,
        REGISTRY_HTTP_ADDR: '127.0.0.1:0',
        REGISTRY_HTTP_TLS_CERTIFICATE: path.join(dir, 'absent.crt'),
        REGISTRY_HTTP_TLS_KEY: other.key,
      },
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^registry: http\.tls\.certificate: cannot read .*absent\.crt: ENOENT/);
  });
});

describe('shutdown over HTTPS', () => {
  test('on SIGTERM, HTTP/2 clients are told to open no new streams, and an upload in flight finishes', async () => {
    const { served, dataDir } = await env.get();
    const session = await h2Session();
    try {
      const started = await h2(session, 'POST', '/v2/tls/shutdown/blobs/uploads/', Buffer.alloc(0));
      const location = String(started.headers.location);
      const half = Buffer.alloc(512 * 1024, 'a');
      const patch = session.request(
        {
          ':method': 'PATCH',
          ':path': location,
          ...withAuth({ 'content-type': 'application/octet-stream' }),
        },
        { endStream: false },
      );
      const answered = new Promise<number>((resolve, reject) => {
        patch.once('response', (headers) => resolve(Number(headers[':status'])));
        patch.once('error', reject);
      });
      patch.resume();
      const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
      patch.write(half);
      // In flight: the first half has reached the upload's staged data (the filesystem store's layout).
      const staged = path.join(dataDir, 'blobs', 'uploads', location.split('/').pop() as string, 'data');
      await vi.waitFor(async () => expect((await stat(staged)).size).toBe(half.length), {
        timeout: 10_000,
        interval: 20,
      });
      served.process.kill('SIGTERM');
      await goaway;
      await expect(handshake()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      patch.end(half);
      expect(await answered).toBe(202);
      expect(await served.exited).toBe(0);
    } finally {
      session.destroy();
    }
  });
});
