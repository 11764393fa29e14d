// The scan queue is durable: a job queued by one origin process is run by another, after a restart.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { call } from '../harness/client.ts';
import { buildImage, pushImage } from '../harness/oci-image.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  testDatabase,
  testStorage,
} from '../harness/registry.ts';
import { startS3Server } from '../harness/s3.ts';

const FIXTURES = path.resolve('test/fixtures');

test('a scan queued before a restart is run by the next origin process; until then a block-unscanned policy refuses the pull', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'scan-queue-'));
  const databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
  const s3 = testStorage() === 's3' ? await startS3Server() : undefined;
  const shared = { dataDir, ...(databaseUrl ? { databaseUrl } : {}), ...(s3 ? { s3 } : {}) };
  try {
    // No scan worker in the first process: the job waits in the database.
    const first = await startTestRegistry({ ...shared, config: { scan: { concurrency: 0 } } });
    const image = buildImage({
      layers: [
        {
          'etc/os-release': 'ID=alpine\nVERSION_ID=3.14.0\n',
          'lib/apk/db/installed': 'P:zlib\nV:1.2.11-r3\no:zlib\n\n',
        },
      ],
    });
    try {
      await pushImage(first, 'queue/image', image, 'v1');
      const pending = (await (await call(first, 'GET', '/v2/queue/image/manifests/v1/scan')).json()) as {
        status: string;
      };
      expect(pending.status).toBe('pending');
      // A policy that blocks unscanned images refuses it until the scan completes.
      const policy = await call(first, 'PUT', '/admin/policies', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ prefix: 'queue/', unscanned: 'block' }),
      });
      expect(policy.status).toBe(200);
      const blocked = await call(first, 'GET', '/v2/queue/image/manifests/v1');
      expect(blocked.status).toBe(403);
      expect(((await blocked.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
        'image blocked: scan pending (the policy for this repository requires a completed scan)',
      );
    } finally {
      await first.close();
    }
    const second = await startTestRegistry({
      ...shared,
      config: { scan: { concurrency: 1, poll_interval: '100ms', vulndb_dir: FIXTURES } },
    });
    try {
      // Alpine's data (none of it on zlib): without any, the policy would treat the image, its
      // ecosystem unmatched, as unscanned.
      const imported = await call(second, 'POST', '/admin/vulndb/import', {
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ path: 'osv' }),
      });
      expect(imported.status).toBe(200);
      const deadline = Date.now() + 30_000;
      let report: { status: string; packages?: { name: string }[] };
      do {
        await new Promise((resolve) => setTimeout(resolve, 100));
        report = (await (
          await call(second, 'GET', '/v2/queue/image/manifests/v1/scan?packages=true')
        ).json()) as typeof report;
      } while (report.status !== 'completed' && Date.now() < deadline);
      expect(report.status).toBe('completed');
      expect(report.packages?.map((p) => p.name)).toEqual(['zlib']);
      expect((await call(second, 'GET', '/v2/queue/image/manifests/v1')).status).toBe(200);
    } finally {
      await second.close();
    }
  } finally {
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
