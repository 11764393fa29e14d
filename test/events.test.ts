// Domain events: push, tag and delete are recorded by the registry's domain when the write commits,
// whoever writes — an HTTP client, the admin GC endpoint, or `registry gc` run from the command
// line against a stopped registry (its events wait in the outbox and go out once one serves).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './harness/cli.ts';
import { call, OCI_MANIFEST, pushImage } from './harness/client.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  type TestRegistry,
  testDatabase,
  testStorage,
} from './harness/registry.ts';
import { type S3Server, startS3Server } from './harness/s3.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const SECRET = 'a-webhook-secret-of-some-length';

async function subscribe(registry: TestRegistry, url: string, prefix: string): Promise<void> {
  const added = await call(registry, 'POST', '/admin/webhooks', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prefix, url, secret: SECRET, events: ['push', 'tag', 'delete'] }),
  });
  expect(added.status).toBe(201);
}

/** Waits (polling) until `count` deliveries of `event` about `repository` arrived. */
async function delivered(
  hook: WebhookReceiver,
  event: string,
  repository: string,
  count = 1,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = hook.payloads(event).filter((p) => p.repository === repository);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let hook: WebhookReceiver;
beforeAll(async () => {
  hook = await startWebhookReceiver();
});
afterAll(async () => hook?.close());

describe('events from HTTP writes', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry({ config: { webhooks: { poll_interval: '50ms' } } });
    await subscribe(registry, hook.url, 'events/http/');
  });
  afterAll(async () => registry?.close());

  test('a push by tag sends push and tag; moving the tag sends tag with the digest it named before', async () => {
    const first = await pushImage(registry, 'events/http/app', 'v1');
    const [push] = await delivered(hook, 'push', 'events/http/app');
    expect(push).toMatchObject({ digest: first.digest, tag: 'v1', actor: 'admin' });
    const [created] = await delivered(hook, 'tag', 'events/http/app');
    expect(created).toMatchObject({ tag: 'v1', digest: first.digest, previous_digest: null });

    const second = await pushImage(registry, 'events/http/app', 'v1', { layers: ['another layer'] });
    const moves = await delivered(hook, 'tag', 'events/http/app', 2);
    expect(moves[1]).toMatchObject({ tag: 'v1', digest: second.digest, previous_digest: first.digest });

    // The same digest again: a push, but the tag did not move.
    await pushImage(registry, 'events/http/app', 'v1', { layers: ['another layer'] });
    expect(await delivered(hook, 'push', 'events/http/app', 3)).toHaveLength(3);
    expect(await delivered(hook, 'tag', 'events/http/app', 2)).toHaveLength(2);
  });

  test('deleting a tag, then a manifest by digest, sends delete for each', async () => {
    const image = await pushImage(registry, 'events/http/delete', 'a');
    const tagged = await call(registry, 'PUT', '/v2/events/http/delete/manifests/b', {
      body: image.manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(tagged.status).toBe(201);
    expect((await call(registry, 'DELETE', '/v2/events/http/delete/manifests/a')).status).toBe(202);
    const [byTag] = await delivered(hook, 'delete', 'events/http/delete');
    expect(byTag).toMatchObject({ tag: 'a', digest: null, reason: 'tag deleted' });
    expect((await call(registry, 'DELETE', `/v2/events/http/delete/manifests/${image.digest}`)).status).toBe(
      202,
    );
    const deletes = await delivered(hook, 'delete', 'events/http/delete', 2);
    expect(deletes[1]).toMatchObject({ digest: image.digest, tag: null, tags: ['b'] });
  });

  test('a refused push sends nothing', async () => {
    const before = hook.received.length;
    const refused = await call(registry, 'PUT', '/v2/events/http/app/manifests/v2', {
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${'0'.repeat(64)}`,
          size: 2,
        },
        layers: [],
      }),
      headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(refused.status).toBe(400);
    // A later event about this repository arrives after anything the refused push could have sent.
    await pushImage(registry, 'events/http/app', 'later', { layers: ['later layer'] });
    const pushes = await delivered(hook, 'push', 'events/http/app', 4);
    expect(pushes.map((p) => p.tag)).toEqual(['v1', 'v1', 'v1', 'later']);
    expect(hook.received.slice(before).some((r) => r.body.includes('"v2"'))).toBe(false);
  });
});

describe('events from garbage collection', () => {
  test('POST /admin/gc with untagged=true sends delete for each manifest it removes', async () => {
    const registry = await startTestRegistry({
      config: { webhooks: { poll_interval: '50ms' }, gc: { grace_period: '1h' } },
    });
    try {
      await subscribe(registry, hook.url, 'events/admin-gc');
      const image = await pushImage(registry, 'events/admin-gc', 'v1');
      expect((await call(registry, 'DELETE', '/v2/events/admin-gc/manifests/v1')).status).toBe(202);
      const run = await call(registry, 'POST', '/admin/gc?mode=delete&untagged=true');
      expect(run.status).toBe(200);
      const deletes = await delivered(hook, 'delete', 'events/admin-gc', 2);
      expect(deletes[1]).toMatchObject({
        digest: image.digest,
        tag: null,
        actor: 'gc',
        reason: 'untagged manifest removed by garbage collection',
      });
    } finally {
      await registry.close();
    }
  });

  test('`registry gc --delete --untagged` on a stopped registry: the delete is sent once one serves again', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'registry-events-'));
    const databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
    const s3: S3Server | undefined = testStorage() === 's3' ? await startS3Server() : undefined;
    const start = () =>
      startTestRegistry({
        dataDir,
        databaseUrl,
        ...(s3 ? { s3 } : {}),
        config: { webhooks: { poll_interval: '50ms' } },
      });
    try {
      let registry = await start();
      await subscribe(registry, hook.url, 'events/cli-gc');
      const image = await pushImage(registry, 'events/cli-gc', 'v1');
      expect((await call(registry, 'DELETE', '/v2/events/cli-gc/manifests/v1')).status).toBe(202);
      await delivered(hook, 'delete', 'events/cli-gc');
      await registry.close();

      const gc = await runCli([
        'gc',
        '--delete',
        '--untagged',
        '--config',
        path.join(dataDir, 'config.yaml'),
      ]);
      expect(gc.stderr).toBe('');
      expect(gc.stdout).toContain(`deleted untagged manifest events/cli-gc@${image.digest}`);

      registry = await start();
      try {
        const deletes = await delivered(hook, 'delete', 'events/cli-gc', 2);
        expect(deletes[1]).toMatchObject({ digest: image.digest, actor: 'gc' });
        expect((await call(registry, 'GET', `/v2/events/cli-gc/manifests/${image.digest}`)).status).toBe(404);
      } finally {
        await registry.close();
      }
    } finally {
      if (databaseUrl) await dropPostgresDatabase(databaseUrl);
      await s3?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
