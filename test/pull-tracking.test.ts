// Last-pull tracking: a manifest GET (by tag or digest) is noted in memory and written in one
// batch per flush (one UPDATE per table); HEAD is no pull; times come from the registry's clock
// and never go backwards; a clean shutdown writes what is pending; pulls.track: false writes
// nothing; the edge's reports are taken only with the shared secret and a well-formed body.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PULL_REPORT_PATH, PULL_REPORTED_HEADER } from '../shared/pull-report.ts';
import { call, errorCode, metric, type PushedImage, pushImage } from './harness/client.ts';
import { ManualClock } from './harness/clock.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const SECRET = 'pull-report-secret-of-the-tests';
/** Never by itself during a test: the tests flush when they mean to. */
const NEVER = '1h';
const NAME = 'pulls/app';

const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
let registry: TestRegistry;
let v1: PushedImage;
let v2: PushedImage;

beforeAll(async () => {
  registry = await startTestRegistry({
    clock,
    config: { pulls: { flush_interval: NEVER, report_secret: SECRET } },
  });
  v1 = await pushImage(registry, NAME, 'v1');
  v2 = await pushImage(registry, NAME, 'v2');
});
afterAll(async () => registry?.close());

const flush = (r: TestRegistry = registry) => r.running.services.pulls.flush();

async function pulledAt(r: TestRegistry, name: string, reference: { tag?: string; digest?: string }) {
  const rows = reference.tag
    ? await r.running.services.db.query<{ at: Date | null }>(
        `SELECT t.last_pulled_at AS at FROM tags t JOIN repositories r ON r.id = t.repository_id
          WHERE r.name = $1 AND t.name = $2`,
        [name, reference.tag],
      )
    : await r.running.services.db.query<{ at: Date | null }>(
        `SELECT m.last_pulled_at AS at FROM manifests m JOIN repositories r ON r.id = m.repository_id
          WHERE r.name = $1 AND m.digest = $2`,
        [name, reference.digest],
      );
  expect(rows).toHaveLength(1);
  const at = rows[0]?.at;
  return at ? new Date(at).getTime() : null;
}

const get = (r: TestRegistry, name: string, reference: string, method = 'GET') =>
  call(r, method, `/v2/${name}/manifests/${reference}`).then(async (response) => {
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });

const written = (r: TestRegistry = registry) => metric(r, 'registry_pull_flushes_total{outcome="written"}');

describe('pulls through origin', () => {
  test('nothing is written before a flush; a GET by tag then sets the tag and its manifest', async () => {
    await get(registry, NAME, 'v1');
    expect(await pulledAt(registry, NAME, { tag: 'v1' })).toBeNull();
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'v1' })).toBe(clock.now());
    expect(await pulledAt(registry, NAME, { digest: v1.digest })).toBe(clock.now());
  });

  test("a GET by digest sets the manifest's time, not its tag's", async () => {
    await get(registry, NAME, v2.digest);
    await flush();
    expect(await pulledAt(registry, NAME, { digest: v2.digest })).toBe(clock.now());
    expect(await pulledAt(registry, NAME, { tag: 'v2' })).toBeNull();
  });

  test('a HEAD, by tag or digest, is no pull', async () => {
    const image = await pushImage(registry, NAME, 'headed');
    await get(registry, NAME, 'headed', 'HEAD');
    await get(registry, NAME, image.digest, 'HEAD');
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'headed' })).toBeNull();
    expect(await pulledAt(registry, NAME, { digest: image.digest })).toBeNull();
  });

  test('a GET the edge made (it reports its pulls itself, marked with the secret) is not counted by origin', async () => {
    const image = await pushImage(registry, NAME, 'via-edge');
    const response = await call(registry, 'GET', `/v2/${NAME}/manifests/via-edge`, {
      headers: { [PULL_REPORTED_HEADER]: SECRET },
    });
    expect(response.status).toBe(200);
    await flush();
    expect(await pulledAt(registry, NAME, { digest: image.digest })).toBeNull();
  });

  test('a client cannot leave its pull out: the mark without the secret is a pull like any other', async () => {
    const image = await pushImage(registry, NAME, 'marked');
    for (const mark of ['edge', `${SECRET}x`, '']) {
      const response = await call(registry, 'GET', `/v2/${NAME}/manifests/${image.digest}`, {
        headers: { [PULL_REPORTED_HEADER]: mark },
      });
      expect(response.status).toBe(200);
    }
    await flush();
    expect(await pulledAt(registry, NAME, { digest: image.digest })).not.toBeNull();
  });

  test('many pulls between two flushes are one write, at the time of the latest', async () => {
    clock.advance(60_000);
    const before = await written();
    const recorded = await metric(registry, 'registry_pulls_recorded_total{source="origin"}');
    for (let i = 0; i < 20; i += 1) {
      await get(registry, NAME, 'v1');
      await get(registry, NAME, v2.digest);
      clock.advance(1_000);
    }
    const last = clock.now() - 1_000;
    await flush();
    expect(await written()).toBe(before + 1);
    expect(await metric(registry, 'registry_pulls_recorded_total{source="origin"}')).toBe(recorded + 40);
    expect(await pulledAt(registry, NAME, { tag: 'v1' })).toBe(last);
    expect(await pulledAt(registry, NAME, { digest: v2.digest })).toBe(last);
    // Nothing noted since: a flush writes nothing.
    await flush();
    expect(await written()).toBe(before + 1);
  });

  test('a GET by tag sets the tag only while the tag still names the manifest pulled', async () => {
    const before = await pushImage(registry, NAME, 'moving');
    await get(registry, NAME, 'moving');
    // The tag moves before the flush: that pull was of the image it named then, not of the new one.
    const after = await pushImage(registry, NAME, 'moving');
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'moving' })).toBeNull();
    expect(await pulledAt(registry, NAME, { digest: before.digest })).toBe(clock.now());
    expect(await pulledAt(registry, NAME, { digest: after.digest })).toBeNull();
    // Pulls of the old and the new image between two flushes: the tag takes the new one's.
    clock.advance(1_000);
    await pushImage(registry, NAME, 'moving', { layers: ['back and forth'] });
    await get(registry, NAME, 'moving');
    const moved = await pushImage(registry, NAME, 'moving');
    clock.advance(1_000);
    await get(registry, NAME, 'moving');
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'moving' })).toBe(clock.now());
    expect(await pulledAt(registry, NAME, { digest: moved.digest })).toBe(clock.now());
  });

  test('a later flush never moves a time backwards', async () => {
    const latest = await pulledAt(registry, NAME, { tag: 'v1' });
    // An older pull reaching origin late (an edge's report).
    const report = await call(registry, 'POST', PULL_REPORT_PATH, {
      auth: `Bearer ${SECRET}`,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        pulls: [{ repository: NAME, tag: 'v1', digest: v1.digest, at: (latest as number) - 3_600_000 }],
      }),
    });
    expect(report.status).toBe(202);
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'v1' })).toBe(latest);
    expect(await pulledAt(registry, NAME, { digest: v1.digest })).toBe(latest);
  });
});

describe('shutdown and the switch', () => {
  test('a clean shutdown writes the pulls noted since the last flush', async () => {
    const own = new ManualClock(Date.parse('2026-04-01T08:00:00Z'));
    const first = await startTestRegistry({ clock: own, config: { pulls: { flush_interval: NEVER } } });
    try {
      const image = await pushImage(first, 'pulls/shutdown', 'v1');
      await get(first, 'pulls/shutdown', 'v1');
      await first.running.close();
      const second = await startTestRegistry({
        dataDir: first.dataDir,
        databaseUrl: first.databaseUrl,
        config: { pulls: { flush_interval: NEVER } },
      });
      try {
        expect(await pulledAt(second, 'pulls/shutdown', { tag: 'v1' })).toBe(own.now());
        expect(await pulledAt(second, 'pulls/shutdown', { digest: image.digest })).toBe(own.now());
      } finally {
        await second.running.close();
      }
    } finally {
      await first.close();
    }
  });

  test('a failed write is counted and keeps its pulls for the next flush', async () => {
    const broken = await startTestRegistry({ config: { pulls: { flush_interval: NEVER } } });
    try {
      await pushImage(broken, 'pulls/broken', 'v1');
      await get(broken, 'pulls/broken', 'v1');
      // Read from the counter itself: /metrics also asks the database (upload sessions).
      const flushes = async (outcome: string) =>
        (await broken.running.services.metrics.pullFlushes.get()).values.find(
          (v) => v.labels.outcome === outcome,
        )?.value ?? 0;
      const failed = () => flushes('failed');
      // The database goes away under the running registry.
      await broken.running.services.db.close();
      await expect(flush(broken)).rejects.toThrow();
      expect(await failed()).toBe(1);
      // Still pending: the next flush tries them again (a flush with nothing to write writes nothing).
      await expect(flush(broken)).rejects.toThrow();
      expect(await failed()).toBe(2);
      expect(await flushes('written')).toBe(0);
    } finally {
      await broken.close();
    }
  });

  test('while writes fail, pending entries stay within pulls.max_pending; the pulls beyond are dropped and counted', async () => {
    const MAX = 5;
    const REPO = 'pulls/bounded';
    const bounded = await startTestRegistry({
      config: { pulls: { flush_interval: NEVER, report_secret: SECRET, max_pending: MAX } },
    });
    try {
      const { db, metrics, pulls: recorder } = bounded.running.services;
      const dropped = async () => (await metrics.pullsDropped.get()).values[0]?.value ?? 0;
      const images: PushedImage[] = [];
      for (let i = 0; i < 8; i += 1) images.push(await pushImage(bounded, REPO, `t${i}`));
      const unknown = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;
      // Reports need no database: distinct pulls keep coming while it cannot be written.
      const reportPulls = async (pulls: { tag: string; digest: string; at: number }[]) => {
        const response = await call(bounded, 'POST', PULL_REPORT_PATH, {
          auth: `Bearer ${SECRET}`,
          body: JSON.stringify({ pulls: pulls.map((p) => ({ repository: REPO, ...p })) }),
        });
        expect(response.status).toBe(202);
      };
      const pulledImage = (i: number) => ({ tag: `t${i}`, digest: (images[i] as PushedImage).digest });
      const unknownPulls = (from: number, count: number, at: number) =>
        Array.from({ length: count }, (_, k) => ({ tag: `u${from + k}`, digest: unknown(from + k), at }));

      // The database fails every flush's first statement until the table is back.
      await db.query('ALTER TABLE manifests RENAME TO manifests_away');
      await reportPulls([0, 1, 2, 3, 4].map((i) => ({ ...pulledImage(i), at: 1_000 })));
      await reportPulls(unknownPulls(0, 45, 1_000));
      expect(recorder.pending).toEqual({ manifests: MAX, tags: MAX });
      expect(await dropped()).toBe(2 * 45);
      // A pull of an entry already pending is kept at the bound (t3 and t4 pulled again).
      await reportPulls([
        { ...pulledImage(4), at: 2_000 },
        { ...pulledImage(3), at: 1_500 },
      ]);
      expect(await dropped()).toBe(90);

      await expect(recorder.flush()).rejects.toThrow();
      // Kept for the next flush; distinct pulls noted now find no room.
      expect(recorder.pending).toEqual({ manifests: MAX, tags: MAX });
      await reportPulls(unknownPulls(100, 20, 3_000));
      expect(recorder.pending).toEqual({ manifests: MAX, tags: MAX });
      expect(await dropped()).toBe(90 + 40);

      // Pulls noted while a flush is writing come first when it fails; its own entries fill the
      // room left, the most recently pulled first (t4 and t3, pulled again): the oldest go.
      const run = recorder.flush();
      while (recorder.pending.manifests > 0) await Promise.resolve();
      for (const i of [5, 6, 7]) {
        const { tag, digest } = pulledImage(i);
        recorder.record(REPO, digest, tag, 'edge', 5_000);
      }
      await expect(run).rejects.toThrow();
      expect(recorder.pending).toEqual({ manifests: MAX, tags: MAX });
      expect(await dropped()).toBe(130 + 2 * 3);

      // Many more failed flushes and distinct pulls: still the bound.
      for (let round = 0; round < 5; round += 1) {
        await reportPulls(unknownPulls(1_000 + round * 100, 20, 6_000));
        await expect(recorder.flush()).rejects.toThrow();
        expect(recorder.pending).toEqual({ manifests: MAX, tags: MAX });
      }
      expect(await dropped()).toBe(136 + 5 * 40);

      // The database is back: what was kept is written.
      await db.query('ALTER TABLE manifests_away RENAME TO manifests');
      await recorder.flush();
      expect(recorder.pending).toEqual({ manifests: 0, tags: 0 });
      const times = async (i: number) => [
        await pulledAt(bounded, REPO, { tag: `t${i}` }),
        await pulledAt(bounded, REPO, { digest: pulledImage(i).digest }),
      ];
      for (const i of [5, 6, 7]) expect(await times(i)).toEqual([5_000, 5_000]);
      expect(await times(4)).toEqual([2_000, 2_000]);
      expect(await times(3)).toEqual([1_500, 1_500]);
      for (const i of [0, 1, 2]) expect(await times(i)).toEqual([null, null]);
    } finally {
      await bounded.close();
    }
  });

  test('pulls.track: false notes nothing and writes nothing', async () => {
    const off = await startTestRegistry({ config: { pulls: { track: false, report_secret: SECRET } } });
    try {
      const image = await pushImage(off, 'pulls/off', 'v1');
      await get(off, 'pulls/off', 'v1');
      await get(off, 'pulls/off', image.digest);
      const report = await call(off, 'POST', PULL_REPORT_PATH, {
        auth: `Bearer ${SECRET}`,
        body: JSON.stringify({ pulls: [{ repository: 'pulls/off', digest: image.digest, at: Date.now() }] }),
      });
      expect(report.status).toBe(202);
      expect(await report.json()).toEqual({ noted: 0 });
      await flush(off);
      expect(await pulledAt(off, 'pulls/off', { tag: 'v1' })).toBeNull();
      expect(await pulledAt(off, 'pulls/off', { digest: image.digest })).toBeNull();
      expect(await metric(off, 'registry_pulls_recorded_total{source="origin"}')).toBe(0);
      expect(await written(off)).toBe(0);
    } finally {
      await off.close();
    }
  });
});

describe("the edge's reports", () => {
  const report = (body: unknown, auth: string | null = `Bearer ${SECRET}`, r = registry) =>
    call(r, 'POST', PULL_REPORT_PATH, {
      auth,
      headers: { 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('a report with the secret sets the times; unknown manifests are ignored; a future time is now', async () => {
    const image = await pushImage(registry, NAME, 'reported');
    clock.advance(60_000);
    const served = clock.now() - 5_000;
    const response = await report({
      pulls: [
        { repository: NAME, tag: 'reported', digest: image.digest, at: served },
        { repository: 'pulls/none', tag: 'x', digest: `sha256:${'0'.repeat(64)}`, at: served },
        { repository: NAME, digest: v2.digest, at: clock.now() + 86_400_000 },
      ],
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ noted: 3 });
    const failedBefore = await metric(registry, 'registry_pull_flushes_total{outcome="failed"}');
    await flush();
    expect(await metric(registry, 'registry_pull_flushes_total{outcome="failed"}')).toBe(failedBefore);
    expect(await pulledAt(registry, NAME, { tag: 'reported' })).toBe(served);
    expect(await pulledAt(registry, NAME, { digest: image.digest })).toBe(served);
    expect(await pulledAt(registry, NAME, { digest: v2.digest })).toBe(clock.now());
  });

  test("a report naming a tag with a digest it does not name sets no tag's time", async () => {
    const image = await pushImage(registry, NAME, 'misreported');
    const other = await pushImage(registry, NAME, 'other');
    const unknown = `sha256:${'f'.repeat(64)}`;
    const response = await report({
      pulls: [
        { repository: NAME, tag: 'misreported', digest: unknown, at: clock.now() },
        { repository: NAME, tag: 'misreported', digest: other.digest, at: clock.now() },
      ],
    });
    expect(response.status).toBe(202);
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'misreported' })).toBeNull();
    expect(await pulledAt(registry, NAME, { digest: image.digest })).toBeNull();
    // The manifest named was pulled, whatever the tag: its own time is set.
    expect(await pulledAt(registry, NAME, { digest: other.digest })).toBe(clock.now());
    expect(await pulledAt(registry, NAME, { tag: 'other' })).toBeNull();
    // The same report with the tag's own digest sets it.
    const right = await report({
      pulls: [{ repository: NAME, tag: 'misreported', digest: image.digest, at: clock.now() }],
    });
    expect(right.status).toBe(202);
    await flush();
    expect(await pulledAt(registry, NAME, { tag: 'misreported' })).toBe(clock.now());
  });

  test('without the secret, or with another, the report is refused 401', async () => {
    for (const auth of [
      null,
      'Bearer wrong-secret-of-the-same-size!',
      registry.adminAuth,
      `Bearer ${SECRET}x`,
    ]) {
      const response = await report({ pulls: [] }, auth);
      expect(response.status).toBe(401);
      expect(await errorCode(response)).toBe('UNAUTHORIZED');
    }
  });

  test('an origin with no secret configured refuses every report 404, and counts the GETs an edge marks', async () => {
    const plain = await startTestRegistry();
    try {
      for (const auth of [null, `Bearer ${SECRET}`]) {
        const response = await report({ pulls: [] }, auth, plain);
        expect(response.status).toBe(404);
        expect(await errorCode(response)).toBe('UNSUPPORTED');
      }
      // No report will come for it: the edge's own GET is the only trace of the pull.
      const image = await pushImage(plain, NAME, 'v1');
      const response = await call(plain, 'GET', `/v2/${NAME}/manifests/v1`, {
        headers: { [PULL_REPORTED_HEADER]: SECRET },
      });
      expect(response.status).toBe(200);
      await flush(plain);
      expect(await pulledAt(plain, NAME, { digest: image.digest })).not.toBeNull();
    } finally {
      await plain.close();
    }
  });

  test('a malformed body is refused 400 and notes nothing', async () => {
    const good = { repository: NAME, digest: v1.digest, at: 1 };
    const bad: unknown[] = [
      'not json',
      [],
      {},
      { pulls: [{ ...good, repository: 'UPPER/case' }] },
      { pulls: [{ ...good, repository: '../etc' }] },
      { pulls: [{ ...good, digest: 'sha256:abc' }] },
      { pulls: [{ ...good, digest: "sha256:' OR 1=1 --" }] },
      { pulls: [{ ...good, tag: '-bad' }] },
      { pulls: [{ ...good, tag: 'a'.repeat(129) }] },
      { pulls: [{ ...good, at: 'yesterday' }] },
      { pulls: [{ ...good, at: -5 }] },
      { pulls: [{ ...good, at: 1.5 }] },
      { pulls: [{ ...good, extra: true }] },
      { pulls: [good], more: 1 },
      { pulls: Array.from({ length: 2001 }, () => good) },
    ];
    const recorded = await metric(registry, 'registry_pulls_recorded_total{source="edge"}');
    for (const body of bad) {
      const response = await report(body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(await errorCode(response)).toBe('UNSUPPORTED');
    }
    expect(await metric(registry, 'registry_pulls_recorded_total{source="edge"}')).toBe(recorded);
  });

  test('a body over the size bound is refused 413', async () => {
    const response = await report(`{"pulls":[${' '.repeat(1024 * 1024)}]}`);
    expect(response.status).toBe(413);
  });
});
