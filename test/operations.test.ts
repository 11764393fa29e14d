// Operations: the registry run as its users run it (`registry serve`), observed from outside.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256 } from './harness/client.ts';
import { createPostgresDatabase, dropPostgresDatabase, testDatabase } from './harness/registry.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from './harness/served-registry.ts';

const AUTH = `Basic ${Buffer.from('admin:secret').toString('base64')}`;

let dataDir: string;
let databaseUrl: string | undefined;

const serve = () =>
  serveRegistry({
    REGISTRY_DATA_DIR: dataDir,
    REGISTRY_HTTP_SHUTDOWN_TIMEOUT: '20s',
    ...(databaseUrl ? { REGISTRY_DATABASE_URL: databaseUrl } : {}),
  });

let served: ServedRegistry;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'registry-ops-'));
  databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
  served = await serve();
});

afterAll(async () => {
  await killRegistry(served);
  if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  await rm(dataDir, { recursive: true, force: true });
});

describe('operations', () => {
  it('warns at startup while the default admin/secret credentials are in use', () => {
    const warning = served.lines.find((l) => l.level === 40);
    expect(String(warning?.msg)).toContain('admin/secret');
  });

  it('/healthz and /readyz answer 200 when the database and storage are reachable', async () => {
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${served.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: true, storage: true });
  });

  it('writes one JSON log line per request with its request id, route, status and bytes', async () => {
    const response = await fetch(`${served.url}/v2/ops/app/tags/list`, {
      headers: { Authorization: AUTH, 'X-Request-Id': 'req-ops-1' },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBe('req-ops-1');
    // The line is written once the answer is sent: wait for it to come through the pipe.
    await vi.waitFor(() => expect(served.lines.some((l) => l.request_id === 'req-ops-1')).toBe(true), {
      timeout: 5_000,
      interval: 20,
    });
    const logged = served.lines.filter((l) => l.request_id === 'req-ops-1');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ method: 'GET', route: 'tags', status: 404, user: 'admin' });
    expect(logged[0]?.bytes_out as number).toBeGreaterThan(0);
  });

  it('/metrics exposes requests by route and status, bytes and upload sessions', async () => {
    const text = await (await fetch(`${served.url}/metrics`)).text();
    expect(text).toMatch(/registry_http_requests_total\{route="tags",method="GET",status="404"\} [1-9]/);
    expect(text).toMatch(
      /registry_http_request_duration_seconds_bucket\{le="[^"]+",route="tags",method="GET"\}/,
    );
    expect(text).toMatch(/registry_http_response_bytes_total [1-9]/);
    expect(text).toMatch(/registry_upload_sessions \d+/);
  });

  it('on SIGTERM it refuses new connections but lets an upload in flight finish', async () => {
    const post = await fetch(`${served.url}/v2/ops/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: AUTH },
    });
    const location = post.headers.get('location') as string;
    const half = Buffer.alloc(512 * 1024, 'a');
    const patch = http.request(`${served.url}${location}`, {
      method: 'PATCH',
      headers: { Authorization: AUTH, 'Content-Type': 'application/octet-stream' },
    });
    const answered = new Promise<number>((resolve, reject) => {
      patch.once('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      patch.once('error', reject);
    });
    patch.write(half);
    // In flight: the first half has reached the upload's staged data (the filesystem store's layout).
    const staged = path.join(dataDir, 'blobs', 'uploads', location.split('/').pop() as string, 'data');
    await vi.waitFor(async () => expect((await stat(staged)).size).toBe(half.length), {
      timeout: 10_000,
      interval: 20,
    });
    served.process.kill('SIGTERM');
    await vi.waitFor(() => expect(fetch(`${served.url}/healthz`)).rejects.toThrow(), {
      timeout: 10_000,
      interval: 50,
    });
    patch.end(half);
    expect(await answered).toBe(202);
    expect(await served.exited).toBe(0);

    // The bytes sent across the shutdown are all there when the upload is finished elsewhere.
    served = await serve();
    const put = await fetch(`${served.url}${location}?digest=${sha256(Buffer.concat([half, half]))}`, {
      method: 'PUT',
      headers: { Authorization: AUTH },
    });
    expect(put.status).toBe(201);
  });
});
