// An origin on the filesystem store SIGKILLed in the middle of large PATCHes: what the dying
// requests wrote beyond the confirmed size is no part of the upload, neither when it resumes nor
// in the blob the upload becomes. (test/s3/resume.test.ts kills one on S3.)
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './harness/client.ts';
import { createPostgresDatabase, dropPostgresDatabase, testDatabase } from './harness/registry.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from './harness/served-registry.ts';

const MiB = 1024 * 1024;
const AUTH = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
const name = 'crash/fs';

let dataDir: string;
let databaseUrl: string | undefined;
const served: ServedRegistry[] = [];

async function serve(): Promise<ServedRegistry> {
  const registry = await serveRegistry({
    REGISTRY_DATA_DIR: dataDir,
    REGISTRY_STORAGE_BACKEND: 'filesystem',
    ...(databaseUrl ? { REGISTRY_DATABASE_URL: databaseUrl } : {}),
  });
  served.push(registry);
  return registry;
}

// The filesystem store's layout under the default root (data_dir/blobs).
const stagedFile = (id: string) => path.join(dataDir, 'blobs', 'uploads', id, 'data');
const blobFile = (digest: string) => path.join(dataDir, 'blobs', 'blobs', 'sha256', digest.slice(7));

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'registry-crash-'));
  databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
});

afterAll(async () => {
  for (const registry of served) await killRegistry(registry);
  if (databaseUrl) await dropPostgresDatabase(databaseUrl);
  await rm(dataDir, { recursive: true, force: true });
});

const request = (registry: ServedRegistry, method: string, at: string, init: RequestInit = {}) =>
  fetch(`${registry.url}${at}`, { ...init, method, headers: { Authorization: AUTH, ...init.headers } });

async function startUpload(registry: ServedRegistry): Promise<{ location: string; id: string }> {
  const post = await request(registry, 'POST', `/v2/${name}/blobs/uploads/`);
  expect(post.status).toBe(202);
  return {
    location: post.headers.get('location') as string,
    id: post.headers.get('docker-upload-uuid') as string,
  };
}

/** Starts a 200 MB PATCH from `offset` and keeps sending until its staged file has grown by `atLeast`. */
async function dyingPatch(
  registry: ServedRegistry,
  location: string,
  id: string,
  offset: number,
  atLeast: number,
) {
  const total = 200 * 1000 * 1000;
  const patch = http.request(`${registry.url}${location}`, {
    method: 'PATCH',
    headers: {
      Authorization: AUTH,
      'Content-Range': `${offset}-${offset + total - 1}`,
      'Content-Length': total,
    },
  });
  patch.on('error', () => {});
  const piece = Buffer.alloc(MiB, 0x78);
  for (let sent = 0; sent < total; sent += piece.length) {
    if (!patch.write(piece)) await new Promise((resolve) => patch.once('drain', resolve));
    const size = await stat(stagedFile(id)).then((s) => s.size);
    if (size >= offset + atLeast) return;
  }
  throw new Error('the whole PATCH was sent before the staged file grew');
}

const fileSha256 = async (file: string) =>
  `sha256:${createHash('sha256')
    .update(await readFile(file))
    .digest('hex')}`;

describe('an origin killed mid-PATCH on the filesystem store', () => {
  it('leaves no byte of the dying PATCHes in the upload it resumes, nor in the blob it becomes', async () => {
    const first = await serve();
    const chunkA = new Uint8Array(MiB).map((_, i) => (i * 31) & 0xff);
    const chunkB = new Uint8Array(MiB).map((_, i) => (i * 17 + 5) & 0xff);

    // Upload A confirmed nothing; upload B confirmed one chunk. Both are in a large PATCH when the origin dies.
    const a = await startUpload(first);
    const b = await startUpload(first);
    const confirmed = await request(first, 'PATCH', b.location, {
      headers: { 'Content-Range': `0-${MiB - 1}` },
      body: chunkB,
    });
    expect(confirmed.status).toBe(202);
    await dyingPatch(first, a.location, a.id, 0, 32 * MiB);
    await dyingPatch(first, b.location, b.id, MiB, 32 * MiB);
    await killRegistry(first);
    expect((await stat(stagedFile(a.id))).size).toBeGreaterThanOrEqual(32 * MiB);

    const second = await serve();
    const status = await request(second, 'GET', b.location);
    expect(status.headers.get('range')).toBe(`0-${MiB - 1}`);

    // A resumes: its first chunk again, and the staged file holds that chunk and nothing more.
    const resumed = await request(second, 'PATCH', a.location, {
      headers: { 'Content-Range': `0-${MiB - 1}` },
      body: chunkA,
    });
    expect(resumed.status).toBe(202);
    expect((await stat(stagedFile(a.id))).size).toBe(MiB);
    const digestA = sha256(chunkA);
    const putA = await request(second, 'PUT', `${a.location}?digest=${digestA}`);
    expect(putA.status).toBe(201);
    expect((await stat(blobFile(digestA))).size).toBe(MiB);
    expect(await fileSha256(blobFile(digestA))).toBe(digestA);

    // B is finished without a body: the blob is the confirmed chunk, not what the dying PATCH left.
    const digestB = sha256(chunkB);
    const putB = await request(second, 'PUT', `${b.location}?digest=${digestB}`);
    expect(putB.status).toBe(201);
    expect((await stat(blobFile(digestB))).size).toBe(MiB);
    expect(await fileSha256(blobFile(digestB))).toBe(digestB);
    const pulled = await request(second, 'GET', `/v2/${name}/blobs/${digestB}`);
    expect(sha256(new Uint8Array(await pulled.arrayBuffer()))).toBe(digestB);
  });
});
