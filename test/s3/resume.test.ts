// An origin killed in the middle of an upload, and another one finishing it: the upload's
// state lives in PostgreSQL and its bytes in S3, not in the process. Also the cache log lines.

import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../harness/client.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../harness/registry.ts';
import { S3_BUCKET, S3_CREDENTIALS, type S3Server, startS3Server } from '../harness/s3.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from '../harness/served-registry.ts';

const MiB = 1024 * 1024;
const AUTH = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
const name = 's3/resume';

let s3: S3Server;
let databaseUrl: string;
let dataDir: string;
const served: ServedRegistry[] = [];

function env(): Record<string, string> {
  return {
    REGISTRY_DATA_DIR: dataDir,
    REGISTRY_DATABASE_URL: databaseUrl,
    REGISTRY_STORAGE_BACKEND: 's3',
    REGISTRY_STORAGE_S3_BUCKET: S3_BUCKET,
    REGISTRY_STORAGE_S3_PREFIX: 'registry/',
    REGISTRY_STORAGE_S3_ENDPOINT: s3.endpoint,
    REGISTRY_STORAGE_S3_ACCESS_KEY_ID: S3_CREDENTIALS.access_key_id,
    REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secret_access_key,
    REGISTRY_STORAGE_S3_PART_SIZE: '5MiB',
    REGISTRY_STORAGE_CACHE_DISK_PATH: path.join(dataDir, 'cache'),
    REGISTRY_STORAGE_CACHE_DISK_SIZE_MB: '64',
  };
}

async function start(): Promise<ServedRegistry> {
  const registry = await serveRegistry(env());
  served.push(registry);
  return registry;
}

const content = new Uint8Array(14 * MiB).map((_, i) => (i * 7 + (i >> 16)) & 0xff);
const firstChunk = content.subarray(0, 6 * MiB);
const secondChunk = content.subarray(6 * MiB);

beforeAll(async () => {
  s3 = await startS3Server();
  databaseUrl = await createPostgresDatabase();
  dataDir = await mkdtemp(path.join(tmpdir(), 'registry-resume-'));
});

afterAll(async () => {
  for (const registry of served) await killRegistry(registry);
  await dropPostgresDatabase(databaseUrl);
  await s3?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('an upload outlives the origin process that started it', () => {
  it('killed mid-chunk, the upload resumes on a new origin at the last complete chunk', async () => {
    const first = await start();
    const post = await fetch(`${first.url}/v2/${name}/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: AUTH },
    });
    const location = post.headers.get('location') as string;
    const patch = await fetch(`${first.url}${location}`, {
      method: 'PATCH',
      headers: { Authorization: AUTH, 'Content-Range': `0-${firstChunk.length - 1}` },
      body: firstChunk,
    });
    expect(patch.status).toBe(202);

    // Half of the second chunk is sent, then the origin dies.
    const dying = http.request(`${first.url}${location}`, {
      method: 'PATCH',
      headers: { Authorization: AUTH, 'Content-Range': `${6 * MiB}-${content.length - 1}` },
    });
    dying.on('error', () => {});
    // Handed to the socket (3 MiB: the origin has been reading it), and a moment to take the rest in.
    await new Promise((resolve) => dying.write(secondChunk.subarray(0, 3 * MiB), resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await killRegistry(first);

    const second = await start();
    const status = await fetch(`${second.url}${location}`, { headers: { Authorization: AUTH } });
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${firstChunk.length - 1}`);
    const rest = await fetch(`${second.url}${location}`, {
      method: 'PATCH',
      headers: { Authorization: AUTH, 'Content-Range': `${6 * MiB}-${content.length - 1}` },
      body: secondChunk,
    });
    expect(rest.status).toBe(202);
    const digest = sha256(content);
    const put = await fetch(`${second.url}${location}?digest=${digest}`, {
      method: 'PUT',
      headers: { Authorization: AUTH },
    });
    expect(put.status).toBe(201);

    for (let i = 0; i < 2; i++) {
      const pulled = await fetch(`${second.url}/v2/${name}/blobs/${digest}`, {
        headers: { Authorization: AUTH },
      });
      expect(sha256(new Uint8Array(await pulled.arrayBuffer()))).toBe(digest);
    }
    // The lines are written once the answers are sent: wait for them to come through the pipe.
    await vi.waitFor(
      () => {
        const messages = second.lines.map((l) => String(l.msg));
        expect(messages).toContain(`cache MISS for layer ${digest} (fetched from S3, cached)`);
        expect(messages).toContain(`cache HIT for layer ${digest} (served from disk)`);
      },
      { timeout: 5_000, interval: 20 },
    );
  });
});
