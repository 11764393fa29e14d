// Retention rules: every clause alone and combined, against tags whose push times the test's clock
// sets and whose pull times the fixture writes; multi-arch indexes and referrers kept with (or
// removed with) their subject; immutable tags never removed; the dry-run's list is what apply
// removes, each removal a `delete` webhook and an audit entry naming the rule; the admin API (config
// rules read-only, bad rules refused), the CLI, and gc.schedule (retention, then GC). Runs on both engines: the plan is read by
// set-based queries and each removal re-checks its item under locks in its own transaction.
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createCliData, runCli } from './harness/cli.ts';
import { call, OCI_MANIFEST, type PushedImage, pushImage } from './harness/client.ts';
import { ManualClock, ShiftedClock } from './harness/clock.ts';
import { buildImage, buildIndex, pushImage as pushOciImage, putManifest } from './harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Pushes happen in the past; each test moves the clock on as it pushes. */
const clock = new ManualClock(Date.now() - 400 * DAY);
const CONFIG_RULE = { prefix: 'cfg/', keep_last: 5, keep_tags: ['v*'] };

let registry: TestRegistry;
let hook: WebhookReceiver;

beforeAll(async () => {
  hook = await startWebhookReceiver();
  registry = await startTestRegistry({ clock, config: { retention: [CONFIG_RULE] } });
  const added = await json('POST', '/admin/webhooks', {
    prefix: 'rt/hooks/',
    url: hook.url,
    secret: 'a-secret-of-some-length',
  });
  expect(added.status).toBe(201);
});

afterAll(async () => {
  await registry?.close();
  await hook?.close();
});

function json(method: string, url: string, body?: unknown): Promise<Response> {
  return call(registry, method, url, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { 'Content-Type': 'application/json' },
  });
}

async function setRule(rule: Record<string, unknown>): Promise<void> {
  const response = await json('PUT', '/admin/retention', rule);
  expect(response.status, await response.clone().text()).toBe(200);
}

interface RunJson {
  mode: string;
  summary: string;
  evaluated: { repositories: number; tags: number };
  tags: { repository: string; tag: string; digest: string; rule: string; reason: string; status: string }[];
  manifests: { repository: string; digest: string; rule: string; reason: string; status: string }[];
  reclaimable: { blobs: number; bytes: number };
}

async function run(mode: 'dry-run' | 'apply', prefix: string): Promise<RunJson> {
  const response = await json(
    'POST',
    `/admin/retention/run?mode=${mode}&prefix=${encodeURIComponent(prefix)}`,
  );
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as RunJson;
}

const reasons = (r: RunJson) => r.tags.map((t) => t.reason);

/** Pushes each tag a day after the one before (the last a day before the clock stops). */
async function series(name: string, tags: string[]): Promise<Map<string, PushedImage>> {
  const pushed = new Map<string, PushedImage>();
  for (const tag of tags) {
    pushed.set(tag, await pushImage(registry, name, tag));
    clock.advance(DAY);
  }
  return pushed;
}

async function status(name: string, reference: string): Promise<number> {
  const response = await call(registry, 'HEAD', `/v2/${name}/manifests/${reference}`, {
    headers: { Accept: `${OCI_MANIFEST}, application/vnd.oci.image.index.v1+json` },
  });
  return response.status;
}

/** Sets when a tag (or, with `manifest`, the manifest it names) was last pulled: the pull recorder's work. */
async function pulled(name: string, tag: string, at: number, manifest = false): Promise<void> {
  const db = registry.running.services.db;
  const sql = manifest
    ? `UPDATE manifests m SET last_pulled_at = $3 FROM tags t, repositories r
        WHERE r.name = $1 AND t.repository_id = r.id AND t.name = $2
          AND m.repository_id = r.id AND m.digest = t.manifest_digest`
    : `UPDATE tags t SET last_pulled_at = $3 FROM repositories r WHERE r.name = $1 AND t.repository_id = r.id AND t.name = $2`;
  await db.query(sql, [name, tag, new Date(at)]);
}

/** Sets when a manifest was last pulled by digest (as a pinned image@sha256:… is). */
async function pulledByDigest(name: string, digest: string, at: number): Promise<void> {
  await registry.running.services.db.query(
    `UPDATE manifests m SET last_pulled_at = $3 FROM repositories r
      WHERE r.name = $1 AND m.repository_id = r.id AND m.digest = $2`,
    [name, digest, new Date(at)],
  );
}

describe('each clause alone', () => {
  test('keep_last: the tags beyond the N most recently pushed go', async () => {
    await setRule({ prefix: 'rt/last/', keep_last: 2 });
    await series('rt/last/app', ['t1', 't2', 't3', 't4', 't5']);
    const plan = await run('dry-run', 'rt/last/');
    expect(reasons(plan)).toEqual([
      't1: not among the 2 newest',
      't2: not among the 2 newest',
      't3: not among the 2 newest',
    ]);
    expect(plan.tags.every((t) => t.rule === 'rt/last/' && t.status === 'planned')).toBe(true);
    expect(plan.manifests).toEqual([]);
    expect(plan.evaluated).toEqual({ repositories: 1, tags: 5 });
  });

  test('remove_older_than: the tags pushed more than D ago go', async () => {
    await setRule({ prefix: 'rt/age/', remove_older_than: '3d' });
    await series('rt/age/app', ['a1', 'a2', 'a3', 'a4']);
    // a1 was pushed 4 days ago, a2 3 days ago: exactly D is not older than D.
    expect(reasons(await run('dry-run', 'rt/age/'))).toEqual(['a1: pushed 4 d ago, older than 3 d']);
  });

  test('keep_pulled_within: a tag pulled within D stays, by its own pull or its manifest’s', async () => {
    await setRule({ prefix: 'rt/pull/', remove_older_than: '12h', keep_pulled_within: '36h' });
    await series('rt/pull/app', ['p0', 'p1', 'p2', 'p3']);
    const now = clock.now();
    await pulled('rt/pull/app', 'p0', now - DAY);
    await pulled('rt/pull/app', 'p1', now - DAY, true);
    await pulled('rt/pull/app', 'p2', now - 47 * HOUR);
    expect(reasons(await run('dry-run', 'rt/pull/'))).toEqual([
      'p2: pushed 2 d ago, older than 12 h; last pulled 1 d ago, not within 36 h',
      'p3: pushed 1 d ago, older than 12 h; never pulled',
    ]);
  });

  test('only_tags and keep_tags: only the matching tags are considered, the kept ones never', async () => {
    await setRule({ prefix: 'rt/patterns/', keep_last: 1, only_tags: ['ci-*'], keep_tags: ['ci-keep*'] });
    await series('rt/patterns/app', ['ci-1', 'ci-keep', 'main', 'latest', 'ci-2']);
    expect(reasons(await run('dry-run', 'rt/patterns/'))).toEqual(['ci-1: not among the 1 newest']);
  });

  test('untagged_older_than: untagged manifests stored more than D ago go; those its tag removals untag too', async () => {
    await setRule({ prefix: 'rt/untagged/', keep_last: 1, untagged_older_than: '36h' });
    const name = 'rt/untagged/app';
    const loose = await pushImage(registry, name, 'loose');
    expect((await call(registry, 'DELETE', `/v2/${name}/manifests/loose`)).status).toBe(202);
    clock.advance(DAY);
    const images = await series(name, ['x1', 'x2']);
    const plan = await run('dry-run', 'rt/untagged/');
    expect(reasons(plan)).toEqual(['x1: not among the 1 newest']);
    expect(plan.manifests.map((m) => [m.digest, m.reason])).toEqual(
      [
        [loose.digest, 'untagged, stored 3 d ago, older than 36 h'],
        [images.get('x1')?.digest, 'untagged once x1 goes, stored 2 d ago, older than 36 h'],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    );
    // Their layers are theirs alone; the config blob is shared with x2.
    expect(plan.reclaimable.blobs).toBe(2);
    expect(plan.reclaimable.bytes).toBeGreaterThan(0);
  });
});

describe('clauses combined', () => {
  test('a tag in consideration goes when old enough and beyond the newest N, unless pulled within D', async () => {
    await setRule({
      prefix: 'rt/combined/',
      keep_last: 2,
      remove_older_than: '2d',
      keep_pulled_within: '7d',
      only_tags: ['ci-*'],
      keep_tags: ['ci-pinned'],
    });
    const name = 'rt/combined/app';
    await series(name, ['ci-1', 'ci-2', 'ci-pinned', 'v1', 'ci-3', 'ci-4', 'ci-5']);
    // Ages: ci-1 7 d, ci-2 6 d, ci-pinned 5 d, v1 4 d, ci-3 3 d, ci-4 2 d, ci-5 1 d.
    await pulled(name, 'ci-2', clock.now() - 3 * DAY);
    expect(reasons(await run('dry-run', 'rt/combined/'))).toEqual([
      'ci-1: pushed 7 d ago, older than 2 d; not among the 2 newest; never pulled',
      'ci-3: pushed 3 d ago, older than 2 d; not among the 2 newest; never pulled',
    ]);
  });
});

describe('apply', () => {
  test('removes exactly what the dry-run listed, each a delete webhook and an audit entry naming the rule and the admin who ran it', async () => {
    await setRule({ prefix: 'rt/hooks/', keep_last: 1, untagged_older_than: '1h' });
    const name = 'rt/hooks/app';
    const images = await series(name, ['h1', 'h2', 'h3']);
    const dry = await run('dry-run', 'rt/hooks/');
    const applied = await run('apply', 'rt/hooks/');
    const items = (r: RunJson) => [
      ...r.tags.map((t) => `${t.repository}:${t.tag}`),
      ...r.manifests.map((m) => m.digest),
    ];
    expect(items(applied)).toEqual(items(dry));
    expect(items(dry)).toEqual([
      `${name}:h1`,
      `${name}:h2`,
      ...[images.get('h1'), images.get('h2')].map((i) => i?.digest).sort(),
    ]);
    expect([...applied.tags, ...applied.manifests].every((i) => i.status === 'removed')).toBe(true);
    expect(applied.summary).toMatch(
      /^Removed 2 tags and 2 manifests of 3 tags in 1 repository under a rule; GC would then reclaim /,
    );
    for (const reference of ['h1', 'h2', images.get('h1')?.digest as string])
      expect(await status(name, reference)).toBe(404);
    expect(await status(name, 'h3')).toBe(200);
    // Nothing is left to remove.
    expect((await run('dry-run', 'rt/hooks/')).summary).toMatch(/^Would remove 0 tags and 0 manifests/);

    await vi.waitFor(() => expect(hook.payloads('delete')).toHaveLength(4), { timeout: 10_000 });
    const deletes = hook.payloads('delete');
    expect(deletes.map((d) => d.tag ?? d.digest).sort()).toEqual(
      items(dry)
        .map((i) => i.replace(`${name}:`, ''))
        .sort(),
    );
    // The run was the admin's (POST /admin/retention/run): its removals are theirs.
    for (const d of deletes) {
      expect(d.actor).toBe('admin');
      expect(d.reason).toMatch(/^retention rule "rt\/hooks\/": /);
    }
    const audit = await call(registry, 'GET', `/admin/audit?repository=${name}`);
    const entries = (
      (await audit.json()) as {
        entries: {
          action: string;
          tag: string | null;
          user: string | null;
          address: string | null;
          system: string | null;
          detail: { reason?: string };
        }[];
      }
    ).entries;
    const removals = entries.filter((e) => e.action === 'delete');
    expect(removals).toHaveLength(4);
    for (const e of removals) {
      expect(e.user).toBe('admin');
      expect(e.address).toMatch(/127\.0\.0\.1$/);
      expect(e.system).toBeNull();
      expect(e.detail.reason).toMatch(/^retention rule "rt\/hooks\/": /);
    }
    expect(removals.find((e) => e.tag === 'h1')?.detail.reason).toBe(
      'retention rule "rt/hooks/": h1: not among the 1 newest',
    );
  });

  test('immutable tags are never planned; an item that changed since its plan (now protected, pushed again) is skipped', async () => {
    expect(
      (await json('PUT', '/admin/immutable-tags', { prefix: 'rt/immutable/', tags: ['v*'] })).status,
    ).toBe(200);
    await setRule({ prefix: 'rt/immutable/', remove_older_than: '1h', untagged_older_than: '1h' });
    const name = 'rt/immutable/app';
    const images = await series(name, ['v1', 'dev', 'feature']);
    const retention = registry.running.services.retention;
    const { plan } = await retention.plan('rt/immutable/');
    expect(plan.tags.map((t) => t.tag)).toEqual(['dev', 'feature']);
    // Between the plan and its apply: dev becomes immutable, feature is pushed again.
    expect(
      (await json('PUT', '/admin/immutable-tags', { prefix: 'rt/immutable/', tags: ['v*', 'dev'] })).status,
    ).toBe(200);
    await pushImage(registry, name, 'feature');
    const skipped = await retention.apply(plan);
    expect(skipped.tags.map((t) => [t.tag, t.outcome])).toEqual([
      ['dev', 'kept'],
      ['feature', 'kept'],
    ]);
    // The manifest dev names is tagged still: kept too; feature's first image is untagged now.
    expect(skipped.manifests.map((m) => m.digest)).toEqual([images.get('dev')?.digest]);
    for (const tag of ['v1', 'dev', 'feature']) expect(await status(name, tag), tag).toBe(200);
    expect(await status(name, images.get('feature')?.digest as string)).toBe(404);
  });

  test('keep_pulled_within keeps an untagged manifest still pulled by digest, in the plan and at apply', async () => {
    await setRule({ prefix: 'rt/pinned/', keep_pulled_within: '7d', untagged_older_than: '1d' });
    // In each repository, latest moves on: its first image is untagged, and old enough to go.
    const first = new Map<string, string>();
    for (const name of ['rt/pinned/pulled', 'rt/pinned/cold', 'rt/pinned/since']) {
      first.set(name, (await pushImage(registry, name, 'latest')).digest);
      clock.advance(DAY);
      await pushImage(registry, name, 'latest');
    }
    clock.advance(2 * DAY);
    const digest = (name: string) => first.get(name) as string;
    // A pod pinned to the first image of pulled pulls it by digest: within 7 d.
    await pulledByDigest('rt/pinned/pulled', digest('rt/pinned/pulled'), clock.now() - 3 * DAY);
    // since's was pulled, but not within 7 d: planned.
    await pulledByDigest('rt/pinned/since', digest('rt/pinned/since'), clock.now() - 30 * DAY);
    const retention = registry.running.services.retention;
    const { plan } = await retention.plan('rt/pinned/');
    expect(plan.tags).toEqual([]);
    expect(plan.manifests.map((m) => [m.repository, m.digest])).toEqual([
      ['rt/pinned/cold', digest('rt/pinned/cold')],
      ['rt/pinned/since', digest('rt/pinned/since')],
    ]);
    // Between the plan and its apply, since's first image is pulled by digest again.
    await pulledByDigest('rt/pinned/since', digest('rt/pinned/since'), clock.now());
    const skipped = await retention.apply(plan);
    expect(skipped.manifests.map((m) => [m.repository, m.outcome])).toEqual([['rt/pinned/since', 'kept']]);
    expect(await status('rt/pinned/pulled', digest('rt/pinned/pulled'))).toBe(200);
    expect(await status('rt/pinned/since', digest('rt/pinned/since'))).toBe(200);
    expect(await status('rt/pinned/cold', digest('rt/pinned/cold'))).toBe(404);
    // Once its pull is older than the window, the pinned one goes too.
    clock.advance(5 * DAY);
    const later = await run('apply', 'rt/pinned/pulled');
    expect(later.manifests.map((m) => [m.digest, m.status])).toEqual([
      [digest('rt/pinned/pulled'), 'removed'],
    ]);
    expect(later.manifests[0]?.reason).toMatch(/^untagged, stored 10 d ago, older than 1 d$/);
  });
});

describe('multi-arch images and referrers', () => {
  /** An index of two platforms' images (pushed by digest), under `tag`. */
  async function pushIndex(
    name: string,
    tag: string,
  ): Promise<{ index: string; children: string[]; size: number }> {
    const images = (['amd64', 'arm64'] as const).map((architecture) =>
      buildImage({
        layers: [{ [`${tag}-${architecture}`]: `${tag} ${architecture} ${Math.random()}` }],
        platform: { os: 'linux', architecture },
      }),
    );
    for (const image of images) await pushOciImage(registry, name, image);
    const index = buildIndex(images);
    await putManifest(registry, name, tag, index);
    return {
      index: index.digest,
      children: images.map((i) => i.manifest.digest),
      size: index.bytes.byteLength,
    };
  }

  /** A signature of `subject`, untagged (or tagged `tag`). */
  async function pushReferrer(
    name: string,
    subject: { index: string; size: number },
    tag?: string,
  ): Promise<string> {
    const signature = await pushImage(registry, name, tag ?? 'tmp', {
      extra: {
        artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
        subject: {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: subject.index,
          size: subject.size,
        },
      },
    });
    if (!tag) expect((await call(registry, 'DELETE', `/v2/${name}/manifests/tmp`)).status).toBe(202);
    return signature.digest;
  }

  test('an index goes with its children and its signature, after them nothing; the kept index keeps all of its own', async () => {
    await setRule({ prefix: 'rt/multi/', keep_last: 1, untagged_older_than: '1d' });
    const name = 'rt/multi/app';
    const old = await pushIndex(name, 'old');
    clock.advance(3 * DAY);
    const current = await pushIndex(name, 'current');
    const currentSignature = await pushReferrer(name, current);
    // A tagged SBOM of the current index: a referrer's tag is never considered (nor counted).
    const sbom = await pushReferrer(name, current, 'sha256-current.sbom');
    clock.advance(2 * DAY);
    // Young: it goes with its subject all the same.
    const oldSignature = await pushReferrer(name, old);

    const dry = await run('dry-run', 'rt/multi/');
    expect(reasons(dry)).toEqual(['old: not among the 1 newest']);
    const planned = dry.manifests.map((m) => m.digest);
    expect(planned[0]).toBe(old.index);
    expect(new Set(planned)).toEqual(new Set([old.index, ...old.children, oldSignature]));
    expect(dry.manifests.find((m) => m.digest === oldSignature)?.reason).toBe(
      `referrer of ${old.index}, which goes`,
    );
    expect(dry.manifests.find((m) => m.digest === old.index)?.reason).toBe(
      'untagged once old goes, stored 5 d ago, older than 1 d',
    );

    const applied = await run('apply', 'rt/multi/');
    expect(applied.manifests.map((m) => [m.digest, m.status])).toEqual(planned.map((d) => [d, 'removed']));
    for (const digest of [old.index, ...old.children, oldSignature])
      expect(await status(name, digest)).toBe(404);
    for (const digest of [current.index, ...current.children, currentSignature, sbom])
      expect(await status(name, digest)).toBe(200);
  });
});

describe('/admin/retention', () => {
  test('lists the config file’s rules read-only and the stored ones; PUT and DELETE are audited', async () => {
    await setRule({
      prefix: 'rt/api/',
      remove_older_than: '30d',
      keep_tags: ['v*', 'latest'],
      only_tags: ['ci-*'],
      keep_last: 10,
    });
    const listed = (await (await json('GET', '/admin/retention')).json()) as {
      retention: Record<string, unknown>[];
    };
    expect(listed.retention[0]).toEqual({
      ...CONFIG_RULE,
      only_tags: [],
      source: 'config',
      read_only: true,
      in_effect: true,
    });
    expect(listed.retention.find((r) => r.prefix === 'rt/api/')).toEqual({
      prefix: 'rt/api/',
      keep_last: 10,
      remove_older_than: '30d',
      keep_tags: ['v*', 'latest'],
      only_tags: ['ci-*'],
      source: 'api',
      read_only: false,
      in_effect: true,
    });
    expect((await json('DELETE', '/admin/retention?prefix=rt/api/')).status).toBe(204);
    const missing = await json('DELETE', '/admin/retention?prefix=rt/api/');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('NAME_UNKNOWN');

    const audit = await call(registry, 'GET', '/admin/audit?limit=20');
    const entries = (
      (await audit.json()) as { entries: { action: string; detail: Record<string, unknown> }[] }
    ).entries;
    const changes = entries.filter((e) => e.action.startsWith('retention.') && e.detail.prefix === 'rt/api/');
    expect(changes.map((e) => e.action)).toEqual(['retention.remove', 'retention.set']);
    expect(changes[1]?.detail.rule).toMatchObject({ keep_last: 10, remove_older_than: '30d' });
  });

  test('a config rule cannot be changed or removed through the API', async () => {
    for (const response of [
      await json('PUT', '/admin/retention', { prefix: 'cfg/', keep_last: 1 }),
      await json('DELETE', '/admin/retention?prefix=cfg/'),
    ]) {
      expect(response.status).toBe(403);
      const error = ((await response.json()) as { errors: { code: string; message: string }[] }).errors[0];
      expect(error).toMatchObject({
        code: 'DENIED',
        message: 'the retention rule of prefix "cfg/" is set in the config file (retention); change it there',
      });
    }
  });

  test.each([
    [{ prefix: 'x/', keep_last: 0 }, 'keep_last: Too small: expected number to be >=1'],
    [
      { prefix: 'x/', remove_older_than: '30 days' },
      'remove_older_than: "30 days" is not a positive duration (examples: 30d, 12h, 90m)',
    ],
    [
      { prefix: 'x/', untagged_older_than: '0s' },
      'untagged_older_than: "0s" is not a positive duration (examples: 30d, 12h, 90m)',
    ],
    [
      { prefix: 'x/', keep_pulled_within: '7d' },
      'body: a rule removes nothing without keep_last, remove_older_than or untagged_older_than',
    ],
    [
      { prefix: 'x/', keep_last: 1, only_tags: ['ci/*'] },
      'only_tags.0: a tag pattern is 1 to 128 of A-Z a-z 0-9 _ . - and the wildcards * ?',
    ],
    [{ prefix: 'x/', keep_last: 1, older_than: '1d' }, 'body: Unrecognized key: "older_than"'],
    // Durations: whole milliseconds, at most 100 years (what the API answers back, PUT takes again).
    [
      { prefix: 'x/', remove_older_than: 0.0001 },
      'remove_older_than: "0.0001" is not a whole number of milliseconds',
    ],
    [
      { prefix: 'x/', untagged_older_than: '1.5ms' },
      'untagged_older_than: "1.5ms" is not a whole number of milliseconds',
    ],
    [
      { prefix: 'x/', remove_older_than: 1e300 },
      'remove_older_than: "1e+300" is longer than 100 years (36500d), the longest duration',
    ],
    [
      { prefix: 'x/', keep_last: 1, keep_pulled_within: '99999999999d' },
      'keep_pulled_within: "99999999999d" is longer than 100 years (36500d), the longest duration',
    ],
    [
      { prefix: 'x/', untagged_older_than: '36501d' },
      'untagged_older_than: "36501d" is longer than 100 years (36500d), the longest duration',
    ],
  ])('a bad rule is refused with 400 and what is wrong: %j', async (rule, message) => {
    const response = await json('PUT', '/admin/retention', rule);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(message);
  });

  test('run: the mode must be dry-run or apply', async () => {
    const response = await json('POST', '/admin/retention/run?mode=delete');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      'mode must be dry-run or apply, not "delete"',
    );
  });

  test('run: a prefix no name can hold (NUL) is refused with 400', async () => {
    const response = await json('POST', '/admin/retention/run?mode=dry-run&prefix=%00');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('NAME_INVALID');
  });

  test('a duration the API answers is one PUT takes back', async () => {
    await setRule({
      prefix: 'rt/durations/',
      untagged_older_than: 0.5,
      keep_last: 1,
      keep_pulled_within: '36500d',
    });
    const listed = (await (await json('GET', '/admin/retention')).json()) as {
      retention: Record<string, unknown>[];
    };
    const rule = listed.retention.find((r) => r.prefix === 'rt/durations/') as Record<string, unknown>;
    expect(rule).toMatchObject({ untagged_older_than: '500ms', keep_pulled_within: '36500d' });
    const { source, read_only, in_effect, ...body } = rule;
    await setRule(body);
    expect((await json('DELETE', '/admin/retention?prefix=rt/durations/')).status).toBe(204);
  });
});

describe('registry retention (CLI)', () => {
  test('--dry-run lists, --json answers as the API does, --apply removes the same, against a stopped registry', async () => {
    // Its own registry, pushed at times in the past the command (on the system clock) sees as old.
    const past = new ManualClock(Date.now() - 10 * DAY);
    const data = await createCliData('registry-retention-cli-');
    const own = await startTestRegistry({
      clock: past,
      dataDir: data.dataDir,
      ...(data.databaseUrl ? { databaseUrl: data.databaseUrl } : {}),
      config: { retention: [{ prefix: 'cli/', keep_last: 1, untagged_older_than: '1d' }] },
    });
    const pushed: PushedImage[] = [];
    try {
      for (const tag of ['ci-1', 'ci-2']) {
        pushed.push(await pushImage(own, 'cli/app', tag));
        past.advance(DAY);
      }
    } finally {
      await own.close();
    }
    const config = `${data.dataDir}/config.yaml`;
    try {
      const dry = await runCli(['retention', '--dry-run', '--config', config]);
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      const digest = pushed[0]?.digest;
      expect(dry.stdout.trimEnd().split('\n')).toEqual([
        'would remove tag cli/app:ci-1 [rule "cli/"] ci-1: not among the 1 newest',
        `would remove manifest cli/app@${digest} [rule "cli/"] untagged once ci-1 goes, stored 10 d ago, older than 1 d`,
        expect.stringMatching(
          /^Would remove 1 tag and 1 manifest of 2 tags in 1 repository under a rule; GC would then reclaim \d+ B in 1 blob$/,
        ),
      ]);
      const asJson = await runCli([
        'retention',
        '--dry-run',
        '--json',
        '--prefix',
        'cli/',
        '--config',
        config,
      ]);
      const report = JSON.parse(asJson.stdout) as RunJson;
      expect(report.tags.map((t) => [t.tag, t.status])).toEqual([['ci-1', 'planned']]);
      expect(report.manifests.map((m) => m.digest)).toEqual([digest]);
      const applied = await runCli(['retention', '--apply', '--config', config]);
      expect(applied.code).toBe(0);
      expect(applied.stdout.split('\n').slice(0, 2)).toEqual(
        dry.stdout
          .split('\n')
          .slice(0, 2)
          .map((l) => l.replace('would remove', 'removed')),
      );
      expect(applied.stdout.split('\n')[2]).toMatch(
        /^Removed 1 tag and 1 manifest of 2 tags in 1 repository under a rule;/,
      );
      // The command line's removals are system `cli`'s, as its other writes.
      const exported = await runCli(['audit', 'export', '--config', config]);
      expect(exported.code).toBe(0);
      const removals = exported.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { action: string; user: string | null; system: string | null })
        .filter((e) => e.action === 'delete');
      expect(removals.map((e) => [e.user, e.system])).toEqual([
        [null, 'cli'],
        [null, 'cli'],
      ]);

      const usage = await runCli(['retention', '--config', config]);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/^registry: retention needs exactly one of --dry-run and --apply/);
    } finally {
      await data.remove();
    }
    // Each command is a process opening the database: seconds apiece on a loaded machine.
  }, 180_000);
});

describe('gc.schedule', () => {
  test('each turn applies the retention rules, then collects what they freed', async () => {
    // Runs with the system's time, moved on by the test: the blobs' grace period is measured on it too.
    const shifted = new ShiftedClock();
    const own = await startTestRegistry({
      clock: shifted,
      config: {
        gc: { schedule: '* * * * * *', grace_period: '0s' },
        retention: [{ prefix: 'sched/', keep_last: 1, untagged_older_than: '1d' }],
      },
    });
    try {
      const old = await pushImage(own, 'sched/app', 'old');
      shifted.advance(2 * DAY);
      await pushImage(own, 'sched/app', 'new');
      shifted.advance(2 * DAY);
      const layer = old.layers[0] as string;
      await vi.waitFor(async () => expect(await own.running.services.store.stat(layer)).toBeNull(), {
        timeout: 20_000,
        interval: 200,
      });
      const head = (reference: string) =>
        call(own, 'HEAD', `/v2/sched/app/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST } });
      expect((await head('old')).status).toBe(404);
      expect((await head(old.digest)).status).toBe(404);
      expect((await head('new')).status).toBe(200);
      // A scheduled run's removals are the system's: `retention`, no user.
      const audit = await call(own, 'GET', '/admin/audit?repository=sched/app');
      const removals = (
        (await audit.json()) as { entries: { action: string; user: string | null; system: string | null }[] }
      ).entries.filter((e) => e.action === 'delete');
      expect(removals.map((e) => [e.user, e.system])).toEqual([
        [null, 'retention'],
        [null, 'retention'],
      ]);
    } finally {
      await own.close();
    }
  });
});
