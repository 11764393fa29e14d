// Open upload sessions are bounded per user (anonymous pushers per client address): beyond
// uploads.max_sessions_per_user a POST answers 429 TOOMANYREQUESTS. The count is kept in the
// database, so it holds across origin processes and under parallel POSTs.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, errorCode, pushBlob } from './harness/client.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  type TestRegistry,
} from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const LIMIT = 5;
const ALICE = basic('alice', 'alice-password');
const BOB = basic('bob', 'bob-password');

async function authConfig() {
  const [alice, bob] = await Promise.all([hashPassword('alice-password'), hashPassword('bob-password')]);
  return {
    login_throttle: { max_failures: 10_000 },
    users: [
      { name: 'alice', password_hash: alice },
      { name: 'bob', password_hash: bob },
    ],
    access: [
      { prefix: 'anon/', anonymous: true, actions: ['pull', 'push'] },
      { prefix: '', users: ['alice', 'bob'], actions: ['pull', 'push', 'delete'] },
    ],
  };
}

const start = (registry: TestRegistry, name: string, auth: string | null) =>
  call(registry, 'POST', `/v2/${name}/blobs/uploads/`, { auth });

async function openSessions(registry: TestRegistry): Promise<number> {
  const text = await (await call(registry, 'GET', '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith('registry_upload_sessions '));
  return Number(line?.split(' ').at(-1));
}

describe('upload sessions per user', () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({
      config: { auth: await authConfig(), uploads: { max_sessions_per_user: LIMIT } },
    });
  });
  afterAll(async () => registry?.close());

  test('beyond max_sessions_per_user a POST answers 429 TOOMANYREQUESTS; other users are not affected', async () => {
    const locations: string[] = [];
    for (let i = 0; i < LIMIT; i++) {
      const response = await start(registry, `alice/repo${i % 2}`, ALICE);
      expect(response.status).toBe(202);
      locations.push(response.headers.get('location') as string);
    }
    const refused = await start(registry, 'alice/other', ALICE);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('TOOMANYREQUESTS');
    // A monolithic push opens a session too.
    await expect(pushBlob({ ...registry, adminAuth: ALICE }, 'alice/repo0', 'blob')).rejects.toThrow(/429/);
    expect((await start(registry, 'alice/repo0', BOB)).status).toBe(202);
    expect(await openSessions(registry)).toBe(LIMIT + 1);

    // A cancelled or finished session frees its place.
    expect((await call(registry, 'DELETE', locations[0] as string, { auth: ALICE })).status).toBe(204);
    expect(await openSessions(registry)).toBe(LIMIT);
    expect((await start(registry, 'alice/repo0', ALICE)).status).toBe(202);
    expect((await start(registry, 'alice/repo0', ALICE)).status).toBe(429);
    const digest = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const finished = await call(registry, 'PUT', `${locations[1]}?digest=${digest}`, { auth: ALICE });
    expect(finished.status).toBe(201);
    expect((await start(registry, 'alice/repo0', ALICE)).status).toBe(202);
    expect(await openSessions(registry)).toBe(LIMIT + 1);
  });

  test('anonymous pushers are counted per client address', async () => {
    for (let i = 0; i < LIMIT; i++) expect((await start(registry, 'anon/app', null)).status).toBe(202);
    const refused = await start(registry, 'anon/app', null);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe('TOOMANYREQUESTS');
  });

  test('parallel POSTs get no more sessions than sequential ones', async () => {
    const hash = await hashPassword('carol-password');
    const parallel = await startTestRegistry({
      config: {
        auth: { ...(await authConfig()), users: [{ name: 'carol', password_hash: hash }], access: undefined },
        uploads: { max_sessions_per_user: LIMIT },
      },
    });
    try {
      const carol = basic('carol', 'carol-password');
      expect((await call(parallel, 'GET', '/v2/', { auth: carol })).status).toBe(200);
      const statuses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          start(parallel, `carol/app${i % 3}`, carol).then((r) => r.status),
        ),
      );
      expect(statuses.filter((s) => s === 202).length).toBe(LIMIT);
      expect(statuses.filter((s) => s === 429).length).toBe(30 - LIMIT);
      expect(await openSessions(parallel)).toBe(LIMIT);
    } finally {
      await parallel.close();
    }
  });
});

describe('upload sessions per user across origin processes', () => {
  // Two processes on one database: PostgreSQL (PGlite is one process's database), in every project.
  let databaseUrl: string;
  let first: TestRegistry;
  let second: TestRegistry;

  beforeAll(async () => {
    databaseUrl = await createPostgresDatabase();
    const config = { auth: await authConfig(), uploads: { max_sessions_per_user: LIMIT } };
    first = await startTestRegistry({ database: 'postgres', databaseUrl, config });
    second = await startTestRegistry({ database: 'postgres', databaseUrl, config });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  });

  test('sessions opened on one process count on the other', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        start(i % 2 === 0 ? first : second, 'alice/shared', ALICE).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 202).length).toBe(LIMIT);
    expect((await start(first, 'alice/shared', ALICE)).status).toBe(429);
    expect((await start(second, 'alice/shared', ALICE)).status).toBe(429);
  });
});
