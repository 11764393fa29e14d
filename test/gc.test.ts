// Garbage collection on real registries over HTTP: dry run, delete, grace period, --untagged,
// deleted manifests' bytes, expired uploads, the lease (one GC at a time), the admin endpoint,
// the CLI, the schedule, and GC running in a loop while clients push and pull. (What the command
// line and gc.schedule refuse before opening anything: gc-usage.test.ts.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { collectGarbage, gcDependencies } from '../origin/gc/collect.ts';
import { counted, formatBytes } from '../origin/gc/format.ts';
import { acquireGcLease } from '../origin/gc/lease.ts';
import { runCli } from './harness/cli.ts';
import {
  call,
  errorCode,
  OCI_INDEX,
  OCI_MANIFEST,
  type PushedImage,
  pushBlob,
  pushImage,
  sha256,
} from './harness/client.ts';
import { ShiftedClock } from './harness/clock.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  type TestRegistry,
  testDatabase,
  testStorage,
} from './harness/registry.ts';
import { type S3Server, startS3Server } from './harness/s3.ts';
import { runOk } from './harness/tools.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ALICE = basic('alice', 'alice-password');

interface GcAnswer {
  mode: string;
  untagged: boolean;
  summary: string;
  blobs: { count: number; bytes: number; items: { digest: string; size: number }[] };
  manifests: { count: number; items: { repository: string; digest: string }[] };
  manifestBytes: { count: number; items: { repository: string; digest: string }[] };
  uploads: { count: number };
  youngBlobs: { count: number; bytes: number; summary: string | null };
}

/** Grace period 1 h: tests age what they want collected (see age()). */
let registry: TestRegistry;

beforeAll(async () => {
  const [adminHash, aliceHash] = await Promise.all([hashPassword('secret'), hashPassword('alice-password')]);
  registry = await startTestRegistry({
    config: {
      gc: { grace_period: '1h' },
      // Expired uploads are left to GC here, not to the periodic sweep.
      uploads: { expiry: '1h', purge_interval: '1h' },
      auth: {
        users: [
          { name: 'admin', password_hash: adminHash },
          { name: 'alice', password_hash: aliceHash },
        ],
      },
    },
  });
});

afterAll(async () => {
  await registry?.close();
});

const services = () => registry.running.services;

/** Makes blobs (all, or those given) look linked two hours ago: older than the grace period. */
async function age(digests?: string[]): Promise<void> {
  await services().db.query(
    `UPDATE blobs SET linked_at = linked_at - interval '2 hours' WHERE $1::text[] IS NULL OR digest = ANY($1::text[])`,
    [digests ?? null],
  );
}

async function gc(mode: 'dry-run' | 'delete', untagged = false): Promise<GcAnswer> {
  const response = await call(registry, 'POST', `/admin/gc?mode=${mode}&untagged=${untagged}`);
  expect(response.status).toBe(200);
  return (await response.json()) as GcAnswer;
}

const inStore = async (digest: string) => (await services().store.stat(digest)) !== null;

async function blobStatus(reg: TestRegistry, name: string, digest: string): Promise<number> {
  const response = await call(reg, 'GET', `/v2/${name}/blobs/${digest}`);
  await response.arrayBuffer();
  return response.status;
}

/** Pulls a manifest and every blob it references; each must come back byte-identical. */
async function pullsWhole(
  reg: TestRegistry,
  name: string,
  reference: string,
  expected?: string,
): Promise<void> {
  const response = await call(reg, 'GET', `/v2/${name}/manifests/${reference}`, {
    headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
  });
  expect(response.status, `${name}:${reference}`).toBe(200);
  const text = await response.text();
  if (expected !== undefined) expect(text).toBe(expected);
  const manifest = JSON.parse(text) as {
    config?: { digest: string };
    layers?: { digest: string }[];
    manifests?: { digest: string }[];
  };
  for (const child of manifest.manifests ?? []) await pullsWhole(reg, name, child.digest);
  for (const blob of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) {
    const got = await call(reg, 'GET', `/v2/${name}/blobs/${blob.digest}`);
    expect(got.status, `${name} blob ${blob.digest}`).toBe(200);
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(blob.digest);
  }
}

async function putManifest(reg: TestRegistry, name: string, reference: string, body: string, type: string) {
  const response = await call(reg, 'PUT', `/v2/${name}/manifests/${reference}`, {
    body,
    headers: { 'Content-Type': type },
  });
  if (response.status !== 201) throw new Error(`manifest put: ${response.status} ${await response.text()}`);
  return sha256(body);
}

async function pushIndex(reg: TestRegistry, name: string, reference: string, children: PushedImage[]) {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c) => ({
      mediaType: OCI_MANIFEST,
      digest: c.digest,
      size: Buffer.byteLength(c.manifest),
    })),
  });
  return { digest: await putManifest(reg, name, reference, body, OCI_INDEX), body };
}

/** An untagged referrer (pushed by digest) whose subject is `subject`. */
async function pushReferrer(reg: TestRegistry, name: string, subject: PushedImage): Promise<PushedImage> {
  const config = '{}';
  const configDigest = await pushBlob(reg, name, config);
  const layer = `signature of ${subject.digest} ${Math.random()}`;
  const layerDigest = await pushBlob(reg, name, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.example.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/octet-stream', digest: layerDigest, size: layer.length }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: Buffer.byteLength(subject.manifest) },
  });
  const digest = await putManifest(reg, name, sha256(manifest), manifest, OCI_MANIFEST);
  return { digest, manifest, config: configDigest, layers: [layerDigest] };
}

const manifestStatus = async (name: string, digest: string) => {
  const response = await call(registry, 'GET', `/v2/${name}/manifests/${digest}`, {
    headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
  });
  await response.arrayBuffer();
  return response.status;
};

describe('mark and sweep', () => {
  test('a dry run lists unreferenced blobs with their sizes and deletes nothing', async () => {
    const image = await pushImage(registry, 'dry/app', 'v1');
    const small = await pushBlob(registry, 'dry/app', 'x'.repeat(1234));
    const large = await pushBlob(registry, 'dry/app', new Uint8Array(250_000).fill(7));
    await age();

    const answer = await gc('dry-run');
    const listed = new Map(answer.blobs.items.map((b) => [b.digest, b.size]));
    expect(listed.get(small)).toBe(1234);
    expect(listed.get(large)).toBe(250_000);
    for (const digest of [image.config, ...image.layers]) expect(listed.has(digest)).toBe(false);
    expect(answer.blobs.count).toBe(answer.blobs.items.length);
    expect(answer.blobs.bytes).toBe(answer.blobs.items.reduce((sum, b) => sum + b.size, 0));
    expect(answer.summary).toBe(
      `Would delete ${answer.blobs.count} unreferenced blobs (${formatBytes(answer.blobs.bytes)})`,
    );

    expect(await inStore(small)).toBe(true);
    expect(await inStore(large)).toBe(true);
    expect(await blobStatus(registry, 'dry/app', small)).toBe(200);
    expect(await blobStatus(registry, 'dry/app', large)).toBe(200);
  });

  test('delete removes unreferenced blobs (store and API) and keeps every referenced one', async () => {
    const shared = `shared layer ${Math.random()}`;
    const a = await pushImage(registry, 'keep/a', 'v1', { layers: [shared, `a only ${Math.random()}`] });
    const b = await pushImage(registry, 'keep/b', 'v1', { layers: [`b only ${Math.random()}`] });
    const amd = await pushImage(registry, 'keep/multi', 'amd');
    const arm = await pushImage(registry, 'keep/multi', 'arm');
    // The children of a tagged index, reached only through it once their own tags go.
    const index = await pushIndex(registry, 'keep/multi', 'latest', [amd, arm]);
    for (const tag of ['amd', 'arm'])
      expect((await call(registry, 'DELETE', `/v2/keep/multi/manifests/${tag}`)).status).toBe(202);
    const referrer = await pushReferrer(registry, 'keep/a', a);
    // Untagged but kept (no --untagged): its blobs stay.
    const untagged = await pushImage(registry, 'keep/c', 'v1', { layers: [`c only ${Math.random()}`] });
    expect((await call(registry, 'DELETE', '/v2/keep/c/manifests/v1')).status).toBe(202);
    // Deleted: the layer only it had goes, the one it shares with a stays.
    const gone = await pushImage(registry, 'keep/d', 'v1', { layers: [shared, `d only ${Math.random()}`] });
    expect((await call(registry, 'DELETE', `/v2/keep/d/manifests/${gone.digest}`)).status).toBe(202);
    // Unreferenced, and visible in two repositories (pushed in one, mounted in the other).
    const orphan = await pushBlob(registry, 'keep/a', `orphan ${Math.random()}`);
    const mounted = await call(registry, 'POST', `/v2/keep/b/blobs/uploads/?mount=${orphan}&from=keep/a`);
    expect(mounted.status).toBe(201);
    expect(await blobStatus(registry, 'keep/b', orphan)).toBe(200);
    await age();

    const answer = await gc('delete');
    const deleted = new Set(answer.blobs.items.map((b) => b.digest));
    expect(deleted.has(orphan)).toBe(true);
    expect(deleted.has(gone.layers[1] as string)).toBe(true);
    expect(answer.summary).toBe(
      `Deleted ${answer.blobs.count} blobs, reclaimed ${formatBytes(answer.blobs.bytes)}`,
    );

    expect(await inStore(orphan)).toBe(false);
    expect(await inStore(gone.layers[1] as string)).toBe(false);
    expect(await blobStatus(registry, 'keep/a', orphan)).toBe(404);
    expect(await blobStatus(registry, 'keep/b', orphan)).toBe(404);
    expect(await blobStatus(registry, 'keep/d', gone.layers[1] as string)).toBe(404);
    expect((await call(registry, 'HEAD', `/v2/keep/b/blobs/${orphan}`)).status).toBe(404);

    for (const digest of [a.config, ...a.layers, ...b.layers, ...untagged.layers, ...referrer.layers]) {
      expect(deleted.has(digest), digest).toBe(false);
      expect(await inStore(digest)).toBe(true);
    }
    await pullsWhole(registry, 'keep/a', 'v1', a.manifest);
    await pullsWhole(registry, 'keep/b', 'v1', b.manifest);
    await pullsWhole(registry, 'keep/multi', 'latest', index.body);
    await pullsWhole(registry, 'keep/a', referrer.digest, referrer.manifest);
    await pullsWhole(registry, 'keep/c', untagged.digest, untagged.manifest);

    // Nothing left to collect: a second run deletes nothing of what is left.
    const again = await gc('delete');
    expect(again.blobs.items.map((i) => i.digest)).not.toContain(a.config);
    await pullsWhole(registry, 'keep/a', 'v1', a.manifest);
  });

  test('the grace period keeps young blobs; a push or a mount of an old blob makes it young', async () => {
    const old = await pushBlob(registry, 'grace/app', `old ${Math.random()}`);
    const again = `pushed again ${Math.random()}`;
    const pushedAgain = await pushBlob(registry, 'grace/app', again);
    const mountedAgain = await pushBlob(registry, 'grace/app', `mounted again ${Math.random()}`);
    await age();
    const young = await pushBlob(registry, 'grace/app', `young ${Math.random()}`);
    const mounted = await call(
      registry,
      'POST',
      `/v2/grace/other/blobs/uploads/?mount=${mountedAgain}&from=grace/app`,
    );
    expect(mounted.status).toBe(201);

    const dry = await gc('dry-run');
    const listed = dry.blobs.items.map((b) => b.digest);
    expect(listed).toContain(old);
    expect(listed).toContain(pushedAgain);
    expect(listed).not.toContain(young);
    expect(listed).not.toContain(mountedAgain);
    // What the grace period kept is counted, and the answer says why (other tests' young blobs too).
    expect(dry.youngBlobs.count).toBeGreaterThanOrEqual(2);
    expect(dry.youngBlobs.summary).toBe(
      `Kept ${counted(dry.youngBlobs.count, 'unreferenced blob')} (${formatBytes(dry.youngBlobs.bytes)}): ` +
        'younger than the 1h grace period',
    );

    // The same content pushed again (here into another repository): young again.
    expect(await pushBlob(registry, 'grace/other', again)).toBe(pushedAgain);

    const answer = await gc('delete');
    const deleted = answer.blobs.items.map((b) => b.digest);
    expect(deleted).toContain(old);
    expect(deleted).not.toContain(young);
    expect(deleted).not.toContain(pushedAgain);
    expect(deleted).not.toContain(mountedAgain);
    expect(await inStore(old)).toBe(false);
    expect(await blobStatus(registry, 'grace/app', old)).toBe(404);
    for (const digest of [young, pushedAgain, mountedAgain]) {
      expect(await inStore(digest)).toBe(true);
      expect(await blobStatus(registry, 'grace/app', digest)).toBe(200);
    }
  });

  test('--untagged removes untagged manifests but keeps those an index or a subject reaches', async () => {
    const name = 'untagged/app';
    const tagged = await pushImage(registry, name, 'v1');
    const loose = await pushImage(registry, name, 'tmp', { layers: [`loose ${Math.random()}`] });
    await call(registry, 'DELETE', `/v2/${name}/manifests/tmp`);
    const child1 = await pushImage(registry, name, 'c1');
    const child2 = await pushImage(registry, name, 'c2');
    await pushIndex(registry, name, 'multi', [child1, child2]);
    await call(registry, 'DELETE', `/v2/${name}/manifests/c1`);
    await call(registry, 'DELETE', `/v2/${name}/manifests/c2`);
    const signature = await pushReferrer(registry, name, tagged);
    const signatureOfSignature = await pushReferrer(registry, name, signature);
    const orphanSignature = await pushReferrer(registry, name, loose);
    // An untagged index and its child: both unreachable.
    const looseChild = await pushImage(registry, name, 'lc', { layers: [`loose child ${Math.random()}`] });
    const looseIndex = await pushIndex(registry, name, 'li', [looseChild]);
    await call(registry, 'DELETE', `/v2/${name}/manifests/li`);
    await call(registry, 'DELETE', `/v2/${name}/manifests/lc`);
    await age();

    const unreachable = [loose.digest, orphanSignature.digest, looseChild.digest, looseIndex.digest].sort();
    const kept = [tagged, child1, child2, signature, signatureOfSignature];

    const plain = await gc('dry-run', false);
    expect(plain.manifests.items.filter((m) => m.repository === name)).toEqual([]);
    const dry = await gc('dry-run', true);
    const listed = dry.manifests.items.filter((m) => m.repository === name).map((m) => m.digest);
    expect([...listed].sort()).toEqual(unreachable);
    // An index goes before its child, so that no index is ever left pointing at nothing.
    expect(listed.indexOf(looseIndex.digest)).toBeLessThan(listed.indexOf(looseChild.digest));
    expect(dry.blobs.items.map((b) => b.digest)).toContain(loose.layers[0]);
    for (const digest of unreachable) expect(await manifestStatus(name, digest)).toBe(200);

    const answer = await gc('delete', true);
    expect(
      answer.manifests.items
        .filter((m) => m.repository === name)
        .map((m) => m.digest)
        .sort(),
    ).toEqual(unreachable);
    for (const digest of unreachable) {
      expect(await manifestStatus(name, digest)).toBe(404);
      // Their bytes went in the same run.
      expect(await services().store.getManifest(name, digest)).toBeNull();
    }
    expect(await inStore(loose.layers[0] as string)).toBe(false);
    expect(await inStore(looseChild.layers[0] as string)).toBe(false);
    expect(await inStore(orphanSignature.layers[0] as string)).toBe(false);
    for (const image of kept) await pullsWhole(registry, name, image.digest, image.manifest);
    await pullsWhole(registry, name, 'multi');
    const referrers = (await (
      await call(registry, 'GET', `/v2/${name}/referrers/${tagged.digest}`)
    ).json()) as {
      manifests: { digest: string }[];
    };
    expect(referrers.manifests.map((m) => m.digest)).toEqual([signature.digest]);
  });

  test("deleted manifests' bytes are removed, unless the manifest was pushed again", async () => {
    const name = 'tombstone/app';
    const deleted = await pushImage(registry, name, 'one');
    const back = await pushImage(registry, name, 'two');
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/${deleted.digest}`)).status).toBe(202);
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/${back.digest}`)).status).toBe(202);
    // The API delete leaves the bytes to GC.
    expect(await services().store.getManifest(name, deleted.digest)).not.toBeNull();
    await putManifest(registry, name, 'again', back.manifest, OCI_MANIFEST);
    await age();

    const dry = await gc('dry-run');
    const pending = dry.manifestBytes.items.filter((m) => m.repository === name).map((m) => m.digest);
    expect(pending).toEqual([deleted.digest]);
    expect(await services().store.getManifest(name, deleted.digest)).not.toBeNull();

    const answer = await gc('delete');
    expect(answer.manifestBytes.items).toContainEqual({ repository: name, digest: deleted.digest });
    expect(await services().store.getManifest(name, deleted.digest)).toBeNull();
    expect(await services().store.getManifest(name, back.digest)).not.toBeNull();
    await pullsWhole(registry, name, 'again', back.manifest);
    // deleted's blobs are shared with back (same config) or gone with it.
    expect(await inStore(deleted.layers[0] as string)).toBe(false);
    expect(await inStore(deleted.config)).toBe(true);
  });

  test('expired uploads are cleaned in the same pass', async () => {
    const started = await call(registry, 'POST', '/v2/uploads/app/blobs/uploads/');
    expect(started.status).toBe(202);
    const location = started.headers.get('location') as string;
    const patched = await call(registry, 'PATCH', location, {
      body: 'half of a layer',
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(patched.status).toBe(202);
    const fresh = await call(registry, 'POST', '/v2/uploads/app/blobs/uploads/');
    const freshLocation = fresh.headers.get('location') as string;
    const id = location.split('/').pop() as string;
    await services().db.query(
      "UPDATE upload_sessions SET updated_at = now() - interval '2 hours' WHERE id = $1",
      [id],
    );

    const dry = await gc('dry-run');
    expect(dry.uploads.count).toBe(1);
    expect((await call(registry, 'GET', location)).status).toBe(204);

    const answer = await gc('delete');
    expect(answer.uploads.count).toBe(1);
    const after = await call(registry, 'GET', location);
    expect(after.status).toBe(404);
    expect(await errorCode(after)).toBe('BLOB_UPLOAD_UNKNOWN');
    expect((await call(registry, 'GET', freshLocation)).status).toBe(204);
  });
});

describe('one GC at a time, admin only', () => {
  test('a run while another holds the lease reports it; an expired lease is taken over', async () => {
    const other = await acquireGcLease(services().db, { holder: 'other-origin:1234' });
    try {
      const busy = await call(registry, 'POST', '/admin/gc?mode=dry-run');
      expect(busy.status).toBe(409);
      const body = (await busy.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('GC_RUNNING');
      expect(body.errors[0]?.message).toContain('already running (other-origin:1234');
      await expect(
        collectGarbage(gcDependencies(services()), { mode: 'dry-run', untagged: false, gracePeriodMs: 0 }),
      ).rejects.toThrow(/already running/);
    } finally {
      await other.release();
    }
    expect((await call(registry, 'POST', '/admin/gc?mode=dry-run')).status).toBe(200);

    // A holder that died: its lease expires, and the next run takes it.
    await services().db.query(
      "INSERT INTO gc_lease (name, holder, started_at, expires_at) VALUES ('gc', 'dead', now() - interval '1 hour', now() - interval '1 second')",
    );
    expect((await call(registry, 'POST', '/admin/gc?mode=dry-run')).status).toBe(200);
  });

  test('POST /admin/gc: anonymous 401, a user who is no admin 403 DENIED (401 by token), an admin by Basic or a registry:admin:* token', async () => {
    const anonymous = await call(registry, 'POST', '/admin/gc?mode=dry-run', { auth: null });
    expect(anonymous.status).toBe(401);
    expect(await errorCode(anonymous)).toBe('UNAUTHORIZED');
    expect(anonymous.headers.get('www-authenticate')).toContain('realm=');
    const wrong = await call(registry, 'POST', '/admin/gc?mode=dry-run', { auth: basic('admin', 'nope') });
    expect(wrong.status).toBe(401);
    const alice = await call(registry, 'POST', '/admin/gc?mode=delete', { auth: ALICE });
    expect(alice.status).toBe(403);
    expect(await errorCode(alice)).toBe('DENIED');
    const aliceToken = (await (await call(registry, 'GET', '/token', { auth: ALICE })).json()) as {
      token: string;
    };
    const aliceBearer = await call(registry, 'POST', '/admin/gc', { auth: `Bearer ${aliceToken.token}` });
    expect(aliceBearer.status).toBe(401);

    // An admin's token opens /admin only with the scope asked for.
    const plain = (await (await call(registry, 'GET', '/token')).json()) as { token: string };
    const unscoped = await call(registry, 'POST', '/admin/gc?mode=dry-run', {
      auth: `Bearer ${plain.token}`,
    });
    expect(unscoped.status).toBe(401);
    const token = (await (await call(registry, 'GET', '/token?scope=registry:admin:*')).json()) as {
      token: string;
    };
    const bearer = await call(registry, 'POST', '/admin/gc?mode=dry-run', { auth: `Bearer ${token.token}` });
    expect(bearer.status).toBe(200);
    expect(((await bearer.json()) as GcAnswer).mode).toBe('dry-run');
    const byBasic = await call(registry, 'POST', '/admin/gc?mode=dry-run&untagged=true');
    expect(byBasic.status).toBe(200);
    expect(((await byBasic.json()) as GcAnswer).untagged).toBe(true);

    const badMode = await call(registry, 'POST', '/admin/gc?mode=everything');
    expect(badMode.status).toBe(400);
    expect(await errorCode(badMode)).toBe('UNSUPPORTED');
  });
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('registry gc (CLI)', () => {
  let dataDir: string;
  let databaseUrl: string | undefined;
  let configFile: string;
  // The registry is restarted over the same state: data dir, database and (on s3) S3 server.
  let s3: S3Server | undefined;
  const start = () =>
    startTestRegistry({
      dataDir,
      databaseUrl,
      ...(s3 ? { s3 } : {}),
      config: { gc: { grace_period: '0s' } },
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'registry-gc-cli-'));
    databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
    s3 = testStorage() === 's3' ? await startS3Server() : undefined;
    configFile = path.join(dataDir, 'config.yaml');
  });

  afterAll(async () => {
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('prints what it would delete, then what it deleted, against a stopped registry', async () => {
    let reg = await start();
    const image = await pushImage(reg, 'cli/app', 'v1');
    const first = await pushBlob(reg, 'cli/app', new Uint8Array(1_500_000).fill(1));
    const second = await pushBlob(reg, 'cli/app', new Uint8Array(800_000).fill(2));
    await reg.close();

    const dry = await cli(['gc', '--dry-run', '--config', configFile]);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const dryLines = dry.stdout.trimEnd().split('\n');
    expect(dryLines).toContain(`would delete blob ${first} (1.5 MB)`);
    expect(dryLines).toContain(`would delete blob ${second} (800.0 kB)`);
    expect(dryLines.at(-2)).toBe(
      'Would also delete 0 expired uploads and the stored bytes of 0 deleted manifests',
    );
    expect(dryLines.at(-1)).toBe('Would delete 2 unreferenced blobs (2.3 MB)');
    expect(dry.stdout).not.toContain('\r');

    // Another GC holds the lease: this one says so and deletes nothing.
    reg = await start();
    await reg.running.services.db.query(
      "INSERT INTO gc_lease (name, holder, started_at, expires_at) VALUES ('gc', 'elsewhere:1', now(), now() + interval '1 hour')",
    );
    await reg.close();
    const busy = await cli(['gc', '--delete', '--config', configFile]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/^registry: a garbage collection is already running \(elsewhere:1, since /);
    reg = await start();
    expect(await blobStatus(reg, 'cli/app', first)).toBe(200);
    await reg.running.services.db.query('DELETE FROM gc_lease');
    await reg.close();

    const deleted = await cli(['gc', '--delete', '--config', configFile]);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    const lines = deleted.stdout.trimEnd().split('\n');
    expect(lines).toContain(`deleted blob ${first} (1.5 MB)`);
    expect(lines.at(-1)).toBe('Deleted 2 blobs, reclaimed 2.3 MB');

    reg = await start();
    try {
      expect(await blobStatus(reg, 'cli/app', first)).toBe(404);
      expect(await blobStatus(reg, 'cli/app', second)).toBe(404);
      await pullsWhole(reg, 'cli/app', 'v1', image.manifest);
    } finally {
      await reg.close();
    }
    const nothing = await cli(['gc', '--dry-run', '--untagged', '--config', configFile]);
    expect(nothing.stdout.trimEnd().split('\n').at(-1)).toBe('Would delete 0 unreferenced blobs (0 B)');
  });

  test('a run within the grace period says what it kept and why, in the singular for one; --grace-period overrides gc.grace_period', async () => {
    const reg = await start();
    const layer = `young layer ${Math.random()}`;
    const image = await pushImage(reg, 'cli/young', 'v1', { layers: [layer] });
    // Deleted with its tag: its layer is referenced by nothing now, but was pushed just now.
    expect((await call(reg, 'DELETE', `/v2/cli/young/manifests/${image.digest}`)).status).toBe(202);
    await reg.close();
    const size = formatBytes(Buffer.byteLength(layer));

    const kept = await cli(['gc', '--dry-run', '--grace-period', '1h', '--config', configFile]);
    expect(kept.stderr).toBe('');
    expect(kept.code).toBe(0);
    expect(kept.stdout.trimEnd().split('\n')).toEqual([
      `would delete stored bytes of deleted manifest cli/young@${image.digest}`,
      'Would also delete 0 expired uploads and the stored bytes of 1 deleted manifest',
      `Kept 1 unreferenced blob (${size}): younger than the 1h grace period`,
      'Would delete 0 unreferenced blobs (0 B)',
    ]);

    // gc.grace_period of this config is 0s: the layer goes.
    const collected = await cli(['gc', '--delete', '--config', configFile]);
    expect(collected.stderr).toBe('');
    const lines = collected.stdout.trimEnd().split('\n');
    expect(lines).toContain(`deleted blob ${image.layers[0]} (${size})`);
    expect(lines).not.toContainEqual(expect.stringMatching(/^Kept /));
    expect(lines.at(-1)).toBe(`Deleted 1 blob, reclaimed ${size}`);

    const bad = await cli(['gc', '--dry-run', '--grace-period', 'soon', '--config', configFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('registry: --grace-period: "soon" is not a duration (examples: 90s, 30m, 1h)\n');
  });

  test('on a terminal it shows its progress, then clears it before the report', async () => {
    const reg = await start();
    const blob = await pushBlob(reg, 'cli/progress', new Uint8Array(300_000).fill(3));
    await reg.close();
    // script(1) gives the command a pseudo-terminal, as a user's shell would.
    const command = [
      path.resolve('node_modules/.bin/node'),
      'origin/cli.ts',
      'gc',
      '--delete',
      '--config',
      configFile,
    ]
      .map((arg) => `'${arg}'`)
      .join(' ');
    const run = await runOk('script', ['-qec', command, '/dev/null'], { timeoutMs: 60_000 });
    expect(run.stdout).toContain('\r\x1b[Kgc: marking what is reachable…');
    expect(run.stdout).toContain('\r\x1b[Kgc: sweeping blobs 1/1 (100%)');
    // Cleared before the report, whose lines stand alone.
    expect(run.stdout).toContain(`\r\x1b[Kdeleted blob ${blob} (300.0 kB)`);
    expect(run.stdout).toContain('Deleted 1 blob, reclaimed 300.0 kB');
  });
});

describe('gc.schedule', () => {
  test('runs GC inside serve on its schedule', async () => {
    // Every second; the grace period keeps the blobs of a push in progress, until the test moves
    // the registry's clock past it.
    const clock = new ShiftedClock();
    const reg = await startTestRegistry({
      config: { gc: { schedule: '* * * * * *', grace_period: '1h' } },
      clock,
    });
    try {
      const image = await pushImage(reg, 'scheduled/app', 'v1');
      const orphan = await pushBlob(reg, 'scheduled/app', `orphan ${Math.random()}`);
      clock.advance(3_600_000);
      const until = Date.now() + 15_000;
      while ((await reg.running.services.store.stat(orphan)) !== null && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await reg.running.services.store.stat(orphan)).toBeNull();
      expect(await blobStatus(reg, 'scheduled/app', orphan)).toBe(404);
      await pullsWhole(reg, 'scheduled/app', 'v1', image.manifest);
    } finally {
      await reg.close();
    }
  });
});

describe('GC racing pushes and pulls', () => {
  // The race runs until it has done enough to mean something (pushes, GC runs, at least
  // RACE_MIN_MS), so that a busy machine makes it longer rather than emptier; RACE_MAX_MS caps it.
  const RACE_MIN_MS = 10_000;
  const RACE_MAX_MS = 90_000;
  const CLIENTS = 4;

  test('no manifest ever ends up with a blob that is gone', async () => {
    const reg = await startTestRegistry({
      config: { gc: { grace_period: '0s' }, uploads: { purge_interval: '1h' } },
    });
    const s = reg.running.services;
    const problems: string[] = [];
    const stats = {
      pushes: 0,
      refused: 0,
      mounts: 0,
      pulls: 0,
      gcRuns: 0,
      blobsRemoved: 0,
      manifestsRemoved: 0,
    };
    // Few shared layers and configs: each is referenced, then not, then pushed again, all the time.
    const pool = Array.from({ length: 8 }, (_, i) => `shared layer ${i} `.repeat(40 + i));
    const configs = Array.from({ length: 3 }, (_, i) =>
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        variant: `v${i}`,
        rootfs: { type: 'layers', diff_ids: [] },
      }),
    );
    const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T;
    const started = Date.now();
    const racing = () =>
      Date.now() - started < RACE_MAX_MS &&
      (Date.now() - started < RACE_MIN_MS || stats.pushes < 20 || stats.gcRuns < 8);

    async function pushOrMount(repo: string, from: string, content: string): Promise<void> {
      const digest = sha256(content);
      if (Math.random() < 0.4) {
        const mount = await call(reg, 'POST', `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`);
        if (mount.status === 201) {
          stats.mounts += 1;
          return;
        }
        // Not mountable (not there, or just collected): the upload the registry started instead.
        const location = mount.headers.get('location');
        const put = await call(reg, 'PUT', `${location}?digest=${digest}`, {
          body: content,
          headers: { 'Content-Type': 'application/octet-stream' },
        });
        if (put.status !== 201) problems.push(`upload after mount: ${put.status} ${await put.text()}`);
        return;
      }
      await pushBlob(reg, repo, content);
    }

    async function client(i: number): Promise<void> {
      const repo = `race/c${i}`;
      const neighbour = `race/c${(i + 1) % CLIENTS}`;
      let previous: string | undefined;
      for (let n = 0; racing(); n += 1) {
        const config = pick(configs);
        const layers = [pick(pool), pick(pool), `unique ${i} ${n} ${Math.random()}`];
        const manifest = JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: {
            mediaType: 'application/vnd.oci.image.config.v1+json',
            digest: sha256(config),
            size: config.length,
          },
          layers: layers.map((l) => ({
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: sha256(l),
            size: l.length,
          })),
        });
        // A blob collected between its upload and the put (grace period 0) gets the put refused,
        // never lost: push the blobs again and retry, as clients do.
        let status = 0;
        for (let attempt = 0; attempt < 5 && status !== 201; attempt += 1) {
          for (const content of [config, ...layers]) await pushOrMount(repo, neighbour, content);
          const put = await call(reg, 'PUT', `/v2/${repo}/manifests/latest`, {
            body: manifest,
            headers: { 'Content-Type': OCI_MANIFEST },
          });
          status = put.status;
          if (status === 201) continue;
          const code = await errorCode(put);
          if (status === 400 && code === 'MANIFEST_BLOB_UNKNOWN') stats.refused += 1;
          else problems.push(`manifest put: ${status} ${code}`);
        }
        if (status !== 201) continue;
        stats.pushes += 1;
        // What this client just tagged is referenced: it must pull whole, whatever GC does.
        const got = await call(reg, 'GET', `/v2/${repo}/manifests/latest`, {
          headers: { Accept: OCI_MANIFEST },
        });
        const text = await got.text();
        if (got.status !== 200 || text !== manifest) problems.push(`pull ${repo}:latest: ${got.status}`);
        for (const content of [config, ...layers]) {
          const blob = await call(reg, 'GET', `/v2/${repo}/blobs/${sha256(content)}`);
          const bytes = Buffer.from(await blob.arrayBuffer()).toString();
          if (blob.status !== 200 || bytes !== content)
            problems.push(`pull ${repo} blob ${sha256(content)}: ${blob.status}`);
        }
        stats.pulls += 1;
        const digest = sha256(manifest);
        if (previous !== undefined) {
          const removed = await call(reg, 'DELETE', `/v2/${repo}/manifests/${previous}`);
          // 404: GC --untagged removed it first.
          if (removed.status !== 202 && removed.status !== 404) problems.push(`delete: ${removed.status}`);
        }
        previous = digest;
      }
    }

    async function collector(): Promise<void> {
      for (let k = 1; racing(); k += 1) {
        const report = await collectGarbage(gcDependencies(s), {
          mode: 'delete',
          untagged: k % 3 === 0,
          gracePeriodMs: 0,
        });
        stats.gcRuns += 1;
        stats.blobsRemoved += report.blobs.count;
        stats.manifestsRemoved += report.manifests.count;
        // A breath between runs: in this process, PGlite answers without yielding to the network.
        // (The race's own pacing, not a wait for the registry: shorter, GC crowds the pushes out on S3.)
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      }
    }

    try {
      await Promise.all([collector(), ...Array.from({ length: CLIENTS }, (_, i) => client(i))]);

      // Every manifest left: its bytes, its child manifests and its blobs, in the store and pullable.
      const manifests = await s.db.query<{ name: string; digest: string }>(
        'SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id',
      );
      const references = await s.db.query<{ name: string; child_digest: string; child_kind: string }>(
        `SELECT r.name, mr.child_digest, mr.child_kind FROM manifest_references mr
           JOIN repositories r ON r.id = mr.repository_id`,
      );
      for (const m of manifests) {
        const got = await call(reg, 'GET', `/v2/${m.name}/manifests/${m.digest}`, {
          headers: { Accept: OCI_MANIFEST },
        });
        if (got.status !== 200 || sha256(await got.text()) !== m.digest)
          problems.push(`manifest ${m.name}@${m.digest} lost`);
      }
      for (const ref of references.filter((r) => r.child_kind === 'blob')) {
        if ((await s.store.stat(ref.child_digest)) === null)
          problems.push(`blob ${ref.child_digest} of ${ref.name} gone from the store`);
        const got = await call(reg, 'GET', `/v2/${ref.name}/blobs/${ref.child_digest}`);
        const body = new Uint8Array(await got.arrayBuffer());
        if (got.status !== 200 || sha256(body) !== ref.child_digest)
          problems.push(`blob ${ref.child_digest} of ${ref.name}: ${got.status}`);
      }
      console.log(
        'race:',
        JSON.stringify({ ...stats, manifests: manifests.length, problems: problems.length }),
      );
      expect(problems.slice(0, 10)).toEqual([]);
      expect(manifests.length).toBeGreaterThanOrEqual(CLIENTS);
      // The race was run: many pushes, many GC runs, and GC did collect along the way.
      expect(stats.pushes).toBeGreaterThan(10);
      expect(stats.gcRuns).toBeGreaterThan(5);
      expect(stats.blobsRemoved).toBeGreaterThan(0);
    } finally {
      await reg.close();
    }
  }, 180_000);
});
