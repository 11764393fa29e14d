// Large blobs: generated once to a file (or as a repeated random pattern), pushed the way Docker
// pushes a layer (POST, one streamed PATCH, PUT ?digest=), and pulled with a streamed GET (timed,
// first byte and last). Nothing holds a large blob in memory.
import { spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';

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
 * POST /v2/<name>/blobs/uploads/, PATCH with the file streamed by curl as a chunked body (no
 * Content-Length, as Docker sends it), PUT ?digest=. Returns seconds from the POST to the 201.
 * The PATCH goes through curl, not Node: the client shares the 2 cores with the registry, and a
 * Node client streaming a file costs about a core at these rates (Docker's own client is Go).
 */
export async function pushBlob(
  base: string,
  repository: string,
  file: string,
  digest: string,
  auth: Record<string, string>,
): Promise<number> {
  const times = await push(base, repository, digest, auth, async (url) => {
    const headers = Object.entries({
      ...auth,
      'Content-Type': 'application/octet-stream',
      'Transfer-Encoding': 'chunked',
    });
    const curl = await run('curl', [
      '-sS',
      '-X',
      'PATCH',
      '-T',
      file,
      '-D',
      '-',
      '-o',
      '/dev/null',
      ...headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      url.toString(),
    ]);
    if (curl.status !== 0) throw new Error(`curl PATCH failed (${curl.status}): ${curl.stderr}`);
    const status = Number(
      /^HTTP\/[\d.]+ (\d+)/m.exec(
        curl.stdout
          .split('\r\n\r\n')
          .filter((b) => !/^HTTP\/[\d.]+ 100/.test(b))
          .join('\r\n\r\n'),
      )?.[1],
    );
    const next = /^location: (.+)$/im.exec(curl.stdout)?.[1]?.trim();
    if (status !== 202 || !next) throw new Error(`PATCH blob upload answered ${status}: ${curl.stdout}`);
    return new URL(next, base);
  });
  return times.seconds;
}

export interface PushTimes {
  /** POST to the 201 of the PUT. */
  readonly seconds: number;
  /** POST to the 202 of the PATCH: the bytes sent and stored. */
  readonly patchSeconds: number;
  /** The PUT ?digest= alone: verification and commit. */
  readonly commitSeconds: number;
}

/** As pushBlob, with the PATCH body taken from a stream (sent by this process). */
export function pushBlobStream(
  base: string,
  repository: string,
  body: NodeJS.ReadableStream,
  digest: string,
  auth: Record<string, string>,
): Promise<PushTimes> {
  return push(base, repository, digest, auth, async (url) => {
    const patch = await request('PATCH', url, { ...auth, 'Content-Type': 'application/octet-stream' }, body);
    expect(patch, 202, 'PATCH blob upload');
    return location(patch, base, 'PATCH blob upload');
  });
}

/** POST, then `patch` (given the upload URL, answering the next one), then PUT ?digest=; timed. */
async function push(
  base: string,
  repository: string,
  digest: string,
  auth: Record<string, string>,
  patch: (url: URL) => Promise<URL>,
): Promise<PushTimes> {
  const started = performance.now();
  const post = await request('POST', new URL(`/v2/${repository}/blobs/uploads/`, base), {
    ...auth,
    'Content-Length': '0',
  });
  expect(post, 202, 'POST blob upload');
  const put = await patch(location(post, base, 'POST blob upload'));
  const patched = performance.now();
  put.searchParams.set('digest', digest);
  const done = await request('PUT', put, { ...auth, 'Content-Length': '0' });
  expect(done, 201, 'PUT blob upload');
  const ended = performance.now();
  return {
    seconds: (ended - started) / 1000,
    patchSeconds: (patched - started) / 1000,
    commitSeconds: (ended - patched) / 1000,
  };
}

/**
 * `size` bytes made of `pattern` repeated (a random buffer: nothing on the way compresses or
 * deduplicates it), as a stream that hands out the same buffer again and again, so that the client
 * costs next to no CPU or memory however large the blob.
 */
export function patternStream(pattern: Buffer, size: number): Readable {
  let sent = 0;
  return new Readable({
    highWaterMark: pattern.length,
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const n = Math.min(pattern.length, size - sent);
      sent += n;
      this.push(n === pattern.length ? pattern : pattern.subarray(0, n));
    },
  });
}

/** The sha256 digest of patternStream(pattern, size). */
export function patternDigest(pattern: Buffer, size: number): string {
  const hash = createHash('sha256');
  for (let done = 0; done < size; done += pattern.length)
    hash.update(pattern.subarray(0, Math.min(pattern.length, size - done)));
  return `sha256:${hash.digest('hex')}`;
}

export interface TimedGet {
  readonly status: number;
  /** The response head (status line and headers) as text. */
  readonly head: string;
  /** Seconds from the connect to the end of the response head. */
  readonly firstByteSeconds: number;
  /** Seconds from the connect to the last body byte. */
  readonly seconds: number;
  readonly bytes: number;
  /** sha256 of the body (`sha256:…`), when asked for. */
  readonly digest?: string;
  /** The body, when asked to keep it (small answers only). */
  readonly body?: Buffer;
}

/**
 * One GET on a fresh connection, body streamed and counted (hashed with `verify`, kept with
 * `keep`). A raw socket reading into one reused buffer (net's `onread`) rather than node:http,
 * whose per-chunk buffers cap a Node client near 500 MiB/s here, below what both registries send.
 * Needs a Content-Length (every blob and manifest answer has one). The status is returned, not
 * checked.
 */
export function timedGet(
  url: URL,
  headers: Record<string, string>,
  options: { verify?: boolean; keep?: boolean; timeoutMs?: number } = {},
): Promise<TimedGet> {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const hash = options.verify ? createHash('sha256') : null;
  const kept: Buffer[] = [];
  const started = performance.now();
  return new Promise<TimedGet>((resolve, reject) => {
    let head = Buffer.alloc(0);
    let headText = '';
    let status = 0;
    let firstByte = 0;
    let length = -1;
    let received = 0;
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) {
        reject(error);
        return;
      }
      resolve({
        status,
        head: headText,
        firstByteSeconds: (firstByte - started) / 1000,
        seconds: (performance.now() - started) / 1000,
        bytes: received,
        ...(hash ? { digest: `sha256:${hash.digest('hex')}` } : {}),
        ...(options.keep ? { body: Buffer.concat(kept) } : {}),
      });
    };
    const body = (chunk: Uint8Array) => {
      received += chunk.byteLength;
      hash?.update(chunk);
      if (options.keep) kept.push(Buffer.from(chunk));
      if (received >= length) finish(null);
    };
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
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
          firstByte = performance.now();
          headText = head.subarray(0, end).toString('latin1');
          status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
          const declared = /\r\ncontent-length:\s*(\d+)/i.exec(headText)?.[1];
          if (declared === undefined)
            finish(new Error(`GET ${url.pathname}: no Content-Length: ${headText}`));
          else {
            length = Number(declared);
            if (length === 0) finish(null);
            else if (head.length > end + 4) body(head.subarray(end + 4));
          }
          return true;
        },
      },
    });
    const timer = setTimeout(
      () => finish(new Error(`GET ${url.pathname}: no complete answer within ${options.timeoutMs} ms`)),
      options.timeoutMs ?? 3_600_000,
    );
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    socket.on('error', (error) => finish(error));
    socket.on('close', () =>
      finish(new Error(`GET ${url.pathname}: connection closed after ${received} of ${length} bytes`)),
    );
  });
}

/** A blob GET (see timedGet) that must answer 200 with `size` bytes (and `digest` when `verify`). */
export async function getBlob(
  base: string,
  repository: string,
  digest: string,
  size: number,
  auth: Record<string, string>,
  verify: boolean,
  timeoutMs?: number,
): Promise<TimedGet> {
  const url = new URL(`/v2/${repository}/blobs/${digest}`, base);
  const answer = await timedGet(url, auth, { verify, ...(timeoutMs ? { timeoutMs } : {}) });
  if (answer.status !== 200)
    throw new Error(`GET blob: status ${answer.status}: ${answer.head.slice(0, 200)}`);
  if (answer.bytes !== size) throw new Error(`GET blob: received ${answer.bytes} bytes, expected ${size}`);
  if (verify && answer.digest !== digest)
    throw new Error(`GET blob: digest ${answer.digest}, expected ${digest}`);
  return answer;
}

/** GET of the blob, streamed and discarded (sha256 checked when `verify`). Returns seconds. */
export async function pullBlob(
  base: string,
  repository: string,
  digest: string,
  size: number,
  auth: Record<string, string>,
  verify: boolean,
): Promise<number> {
  return (await getBlob(base, repository, digest, size, auth, verify)).seconds;
}

/** Runs a command to its end (without blocking the event loop, so RSS sampling goes on). */
function run(
  command: string,
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}
