// Password checks run on threads of their own, with a bounded queue: a flood of wrong passwords
// neither starves other clients' blob and manifest reads (file I/O shares libuv's thread pool
// with crypto) nor queues without end.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, errorCode, pushBlob, pushImage } from './harness/client.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const READER = basic('reader', 'reader-password');
// High enough that the throttle lets every guess through to a check: this is about hashing.
const THROTTLE_OFF = { max_failures: 100_000 };

async function users() {
  const [reader, flood] = await Promise.all([
    hashPassword('reader-password'),
    hashPassword('flood-password'),
  ]);
  return [
    { name: 'reader', password_hash: reader },
    { name: 'flood', password_hash: flood },
  ];
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

describe('password checks under a flood of wrong passwords', () => {
  let registry: TestRegistry;
  let blob: string;
  let manifest: string;

  beforeAll(async () => {
    registry = await startTestRegistry({
      config: { auth: { login_throttle: THROTTLE_OFF, users: await users() } },
    });
    const client = { ...registry, adminAuth: READER };
    blob = await pushBlob(client, 'flood/app', randomBytes(4096));
    manifest = (await pushImage(client, 'flood/app', 'v1')).digest;
  });
  afterAll(async () => registry?.close());

  test("another client's blob and manifest GETs stay fast while 200 wrong passwords are in flight", async () => {
    // The reader's credentials are verified once, before the flood, and remembered.
    expect((await call(registry, 'GET', '/v2/', { auth: READER })).status).toBe(200);
    let inFlight = 200;
    const flood = Array.from({ length: 200 }, (_, i) =>
      call(registry, 'GET', '/v2/', { auth: basic('flood', `guess-${i}`) }).then(async (r) => {
        inFlight--;
        await r.body?.cancel();
        return r.status;
      }),
    );
    // Let the flood reach the server before the first read.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const latencies: number[] = [];
    const deadline = performance.now() + 30_000;
    while ((inFlight > 0 || latencies.length < 20) && performance.now() < deadline) {
      for (const path of [`/v2/flood/app/blobs/${blob}`, `/v2/flood/app/manifests/${manifest}`]) {
        const started = performance.now();
        const response = await call(registry, 'GET', path, { auth: READER });
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        expect(response.status).toBe(200);
      }
    }
    const statuses = await Promise.all(flood);
    // The flood was real: wrong passwords were checked (401), the rest refused at once (503).
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
    const p99 = percentile(latencies, 99);
    expect(p99, `p99 of ${latencies.length} reads: ${p99.toFixed(1)} ms`).toBeLessThan(1000);
  }, 120_000);
});

describe('the password check queue', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({
      config: {
        auth: {
          login_throttle: THROTTLE_OFF,
          users: await users(),
          password_checks: { threads: 1, queue: 2 },
        },
      },
    });
  });
  afterAll(async () => registry?.close());

  test('when full, logins answer 503 UNAVAILABLE with Retry-After at once; remembered credentials still work', async () => {
    expect((await call(registry, 'GET', '/v2/', { auth: READER })).status).toBe(200);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(registry, 'GET', '/v2/', { auth: basic('flood', `guess-${i}`) }).then(async (r) => ({
          status: r.status,
          retryAfter: r.headers.get('retry-after'),
          code: await errorCode(r),
        })),
      ),
    );
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((a) => a.code === 'UNAVAILABLE' && Number(a.retryAfter) > 0)).toBe(true);
    expect(answers.every((a) => a.status === 503 || a.status === 401)).toBe(true);
    expect((await call(registry, 'GET', '/v2/', { auth: READER })).status).toBe(200);
  });

  test('the same credentials sent at once are checked once: a burst of right logins is not refused', async () => {
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        call(registry, 'GET', '/v2/', { auth: basic('flood', 'flood-password') }).then((r) => r.status),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 30 }, () => 200));
  });
});
