// Operations: the registry run as its users run it (`registry serve`), observed from outside.
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { runCli } from './harness/cli.ts';
import { sha256 } from './harness/client.ts';
import { buildImage } from './harness/oci-image.ts';
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

  it('logs at startup who may call the /admin/ endpoints', () => {
    expect(served.lines.find((l) => String(l.msg).startsWith('administrators'))).toMatchObject({
      level: 30,
      admins: ['admin'],
      msg: 'administrators (the /admin/ endpoints): admin',
    });
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

  it('logs a scan that could not read everything as a warning, naming what it missed', async () => {
    // An image whose one package database is of a kind the scanner cannot read.
    const image = buildImage({ layers: [{ 'var/lib/rpm/Packages': 'BerkeleyDB' }] });
    for (const blob of image.blobs) {
      const pushed = await fetch(`${served.url}/v2/ops/scanned/blobs/uploads/?digest=${blob.digest}`, {
        method: 'POST',
        headers: { Authorization: AUTH },
        body: new Uint8Array(blob.bytes),
      });
      expect(pushed.status).toBe(201);
    }
    const put = await fetch(`${served.url}/v2/ops/scanned/manifests/v1`, {
      method: 'PUT',
      headers: { Authorization: AUTH, 'Content-Type': image.manifest.mediaType },
      body: new Uint8Array(image.manifest.bytes),
    });
    expect(put.status).toBe(201);
    const ofImage = (msg: string) =>
      served.lines.find((l) => l.msg === msg && l.digest === image.manifest.digest);
    const deadline = Date.now() + 60_000;
    while (ofImage('scan completed with warnings') === undefined) {
      if (Date.now() > deadline) throw new Error('no scan warning logged');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ofImage('scan completed')).toMatchObject({ level: 30, warnings: 1, repository: 'ops/scanned' });
    expect(ofImage('scan completed with warnings')).toMatchObject({
      level: 40,
      total: 1,
      warnings: [
        `layer ${image.layers[0]?.digest}: var/lib/rpm/Packages: rpm BerkeleyDB databases are not supported (only rpmdb.sqlite); its packages are not listed`,
      ],
    });
  });

  it('/readyz answers 503 (storage: false) while the blob root cannot be written, and says why in the log', async () => {
    const root = path.join(dataDir, 'blobs');
    // As root, permissions do not stop writes: a file where the blob root was does.
    await rename(root, `${root}.aside`);
    await writeFile(root, 'not the blob root');
    try {
      const notReady = await fetch(`${served.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not ready', database: true, storage: false });
      await vi.waitFor(
        () =>
          expect(served.lines).toContainEqual(
            expect.objectContaining({
              level: 40,
              msg: `not ready: storage ${root} is not a directory (a file is in the way)`,
            }),
          ),
        { timeout: 5_000, interval: 20 },
      );
    } finally {
      await rm(root);
      await rename(`${root}.aside`, root);
    }
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
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

/** Runs the CLI on this file's data directory and database. */
const cliHere = (args: string[], input?: string) =>
  runCli(args, {
    env: { REGISTRY_DATA_DIR: dataDir, ...(databaseUrl ? { REGISTRY_DATABASE_URL: databaseUrl } : {}) },
    ...(input === undefined ? {} : { input }),
  });

describe('another process on the data directory', () => {
  it('`registry gc` and `registry user add` while `registry serve` runs: on PGlite refused, naming the server; on PostgreSQL gc runs online', async () => {
    const [gc, userAdd] = await Promise.all([
      cliHere(['gc', '--dry-run']),
      cliHere(['user', 'add', 'eve'], 'eve-password\n'),
    ]);
    if (databaseUrl) {
      expect(gc.code, gc.stderr).toBe(0);
      expect(gc.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Would delete \d+ unreferenced blobs? \(/);
      expect(userAdd.code, userAdd.stderr).toBe(0);
      return;
    }
    const holder =
      `registry: the PGlite database in ${dataDir} is in use by registry serve on 127.0.0.1:${served.port} ` +
      `(pid ${served.process.pid} on ${hostname()}, since `;
    for (const run of [gc, userAdd]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.slice(0, holder.length)).toBe(holder);
      expect(run.stderr).toContain(
        'PGlite serves one process at a time: stop it first, or use the running registry',
      );
    }
    // The server was not disturbed, and nobody was added.
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
    const eve = await fetch(`${served.url}/v2/`, {
      headers: { Authorization: `Basic ${Buffer.from('eve:eve-password').toString('base64')}` },
    });
    expect(eve.status).toBe(401);
  });

  it('a server killed without shutting down leaves no lock in the way of the next process', async () => {
    await killRegistry(served);
    const gc = await cliHere(['gc', '--dry-run']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Would delete \d+ unreferenced blobs? \(/);
    // Its own lock is removed when it ends.
    expect(existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
  });
});

describe('startup on a data directory or blob root that cannot be used', () => {
  const serveWith = (env: Record<string, string>) =>
    runCli(['serve'], {
      env: {
        REGISTRY_HTTP_ADDR: '127.0.0.1:0',
        ...(databaseUrl ? { REGISTRY_DATABASE_URL: databaseUrl } : {}),
        ...env,
      },
    });

  it('a data_dir that is a file stops `registry serve` with a message naming it (not "EEXIST")', async () => {
    const file = path.join(dataDir, 'a-file');
    await writeFile(file, 'not a directory');
    const run = await serveWith({ REGISTRY_DATA_DIR: file });
    expect(run.code).toBe(2);
    // With PostgreSQL, data_dir holds only the default blob root.
    expect(run.stderr).toBe(
      databaseUrl
        ? `registry: storage.filesystem.root: ${file}/blobs is not a directory (a file is in the way)\n`
        : `registry: data_dir ${file} is not a directory (a file is in the way)\n`,
    );
  });

  it('a blob root under a file stops `registry serve` with a message naming storage.filesystem.root', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'registry-ops-root-'));
    try {
      const file = path.join(own, 'a-file');
      await writeFile(file, 'not a directory');
      const run = await serveWith({
        REGISTRY_DATA_DIR: path.join(own, 'data'),
        REGISTRY_STORAGE_FILESYSTEM_ROOT: path.join(file, 'blobs'),
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(
        `registry: storage.filesystem.root: ${file}/blobs is not a directory (a file is in the way)\n`,
      );
      // What it had opened is closed again: no lock is left on the data directory.
      expect(existsSync(path.join(own, 'data', 'pglite.lock'))).toBe(false);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('auth.admins', () => {
  it('naming no user that exists (the first user added, admin not among them): a warning at startup', async () => {
    const own = await mkdtemp(path.join(tmpdir(), 'registry-ops-admins-'));
    let alone: ServedRegistry | undefined;
    try {
      alone = await serveRegistry({
        REGISTRY_DATA_DIR: own,
        REGISTRY_AUTH_USERS: JSON.stringify([
          { name: 'alice', password_hash: await hashPassword('alice-pass') },
        ]),
        ...(databaseUrl ? { REGISTRY_DATABASE_URL: databaseUrl } : {}),
      });
      expect(alone.lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          admins: [],
          missing: ['admin'],
          msg:
            'auth.admins names no user that exists (admin): the /admin/ endpoints accept nobody; ' +
            'add one of them, or name an existing user in auth.admins',
        }),
      );
      // The default account is gone with it: no warning about admin/secret.
      expect(alone.lines.some((l) => String(l.msg).includes('admin/secret'))).toBe(false);
    } finally {
      await killRegistry(alone);
      await rm(own, { recursive: true, force: true });
    }
  });
});
