// The 1 GiB blob: generated once to a file, pushed the way Docker pushes a layer (POST, one
// streamed PATCH, PUT ?digest=), and pulled with a streamed GET. Nothing holds the blob in memory.
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';

const CHUNK = 4 * 1024 * 1024;

/** Writes `size` bytes of random data to `file`; returns the sha256 digest. */
export async function generateBlob(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(CHUNK, size - written);
      const chunk = buffer.subarray(0, n);
      randomFillSync(chunk);
      hash.update(chunk);
      await handle.write(chunk, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return `sha256:${hash.digest('hex')}`;
}

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request; `body` is piped from a stream when given. The answer's body is read as text. */
function request(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body?: NodeJS.ReadableStream,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) {
      body.on('error', (error) => req.destroy(error as Error));
      body.pipe(req);
    } else {
      req.end();
    }
  });
}

function expect(answer: Answer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${answer.status} ${answer.body.slice(0, 300)}`);
  }
}

function location(answer: Answer, base: string, what: string): URL {
  const value = answer.headers.location;
  if (!value) throw new Error(`${what}: no Location header`);
  return new URL(value, base);
}

/**
 * POST /v2/<name>/blobs/uploads/, PATCH with the file streamed as the chunked body (no
 * Content-Length, as Docker sends it), PUT ?digest=. Returns seconds from the POST to the 201.
 */
export async function pushBlob(
  base: string,
  repository: string,
  file: string,
  digest: string,
  auth: Record<string, string>,
): Promise<number> {
  const started = performance.now();
  const post = await request('POST', new URL(`/v2/${repository}/blobs/uploads/`, base), {
    ...auth,
    'Content-Length': '0',
  });
  expect(post, 202, 'POST blob upload');
  const patch = await request(
    'PATCH',
    location(post, base, 'POST blob upload'),
    { ...auth, 'Content-Type': 'application/octet-stream' },
    createReadStream(file, { highWaterMark: 1024 * 1024 }),
  );
  expect(patch, 202, 'PATCH blob upload');
  const put = location(patch, base, 'PATCH blob upload');
  put.searchParams.set('digest', digest);
  const done = await request('PUT', put, { ...auth, 'Content-Length': '0' });
  expect(done, 201, 'PUT blob upload');
  return (performance.now() - started) / 1000;
}

/**
 * GET of the blob, streamed and discarded: bytes counted (and hashed when `verify`). Returns
 * seconds. A raw socket reading into one reused buffer (net's `onread`) rather than node:http,
 * whose per-chunk buffers cap a Node client near 500 MiB/s here, below what both registries send.
 */
export async function pullBlob(
  base: string,
  repository: string,
  digest: string,
  size: number,
  auth: Record<string, string>,
  verify: boolean,
): Promise<number> {
  const url = new URL(`/v2/${repository}/blobs/${digest}`, base);
  const lines = [`GET ${url.pathname} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(auth)) lines.push(`${name}: ${value}`);
  const hash = verify ? createHash('sha256') : null;
  const started = performance.now();
  const bytes = await new Promise<number>((resolve, reject) => {
    let head = Buffer.alloc(0);
    let length = -1;
    let received = 0;
    let settled = false;
    const finish = (error: Error | null, value = 0) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    const body = (chunk: Uint8Array) => {
      received += chunk.byteLength;
      hash?.update(chunk);
      if (received >= length) finish(null, received);
    };
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port),
      onread: {
        buffer: Buffer.allocUnsafe(1024 * 1024),
        callback(n: number, buffer: Uint8Array) {
          if (length >= 0) {
            body(buffer.subarray(0, n));
            return true;
          }
          head = Buffer.concat([head, buffer.subarray(0, n)]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return true;
          const text = head.subarray(0, end).toString('latin1');
          const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
          const declared = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
          if (status !== '200') finish(new Error(`GET blob: status ${status}: ${text.slice(0, 200)}`));
          else if (declared === undefined) finish(new Error('GET blob: no Content-Length'));
          else {
            length = Number(declared);
            if (length === 0) finish(null, 0);
            else if (head.length > end + 4) body(head.subarray(end + 4));
          }
          return true;
        },
      },
    });
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(new Error(`GET blob: connection closed after ${received} of ${length} bytes`)),
    );
  });
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== size) throw new Error(`GET blob: received ${bytes} bytes, expected ${size}`);
  if (hash) {
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) throw new Error(`GET blob: digest ${actual}, expected ${digest}`);
  }
  return seconds;
}
