// The edge's pulls in origin's last-pull tracking: a pull the edge serves from its cache (origin
// sees no manifest GET for it) reaches origin's last_pulled_at through the edge's batched report;
// the GET the edge makes to fill its cache is not counted by origin besides; a HEAD is no pull.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PULL_REPORT_PATH } from '../../shared/pull-report.ts';
import { metric, type PushedImage, pushImage } from '../harness/client.ts';
import type { TestRegistry } from '../harness/registry.ts';
import { ask, bearer, type EdgeSetup, pullToken, sleep, startEdgeSetup, within } from './support.ts';

const SECRET = 'edge-pull-report-secret-for-tests';
const NAME = 'edge/pulled';

let setup: EdgeSetup;
let auth: string;
let image: PushedImage;
let headed: PushedImage;

beforeAll(async () => {
  setup = await startEdgeSetup(
    // Long TTLs: every repeat is served from the edge's cache. A short delay: reports come soon.
    { tagTtlSeconds: 300, policyTtlSeconds: 300, pullReportSecret: SECRET, pullReportDelaySeconds: 0.5 },
    // No scans: a scan finishing moves origin's policy epoch, and the edge then asks origin again.
    { config: { pulls: { flush_interval: '1h', report_secret: SECRET }, scan: { on_push: false } } },
  );
  auth = bearer(await pullToken(setup.registry, NAME));
  image = await pushImage(setup.registry, NAME, 'v1');
  headed = await pushImage(setup.registry, NAME, 'headed');
});
afterAll(async () => setup?.close());

const manifestGets = (reference: string) => setup.proxy.count('GET', `/v2/${NAME}/manifests/${reference}`);
const noted = (source: 'edge' | 'origin') =>
  metric(setup.registry, `registry_pulls_recorded_total{source="${source}"}`);

async function pulledAt(
  r: TestRegistry,
  where: { tag: string } | { digest: string },
): Promise<number | null> {
  const [row] =
    'tag' in where
      ? await r.running.services.db.query<{ at: Date | null }>(
          `SELECT t.last_pulled_at AS at FROM tags t JOIN repositories r ON r.id = t.repository_id
            WHERE r.name = $1 AND t.name = $2`,
          [NAME, where.tag],
        )
      : await r.running.services.db.query<{ at: Date | null }>(
          `SELECT m.last_pulled_at AS at FROM manifests m JOIN repositories r ON r.id = m.repository_id
            WHERE r.name = $1 AND m.digest = $2`,
          [NAME, where.digest],
        );
  return row?.at ? new Date(row.at).getTime() : null;
}

async function pull(reference: string, method = 'GET'): Promise<string | null> {
  const response = await ask(setup.edge.url, `/v2/${NAME}/manifests/${reference}`, { auth, method });
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get('x-edge-cache');
}

describe('pulls served by the edge reach origin', () => {
  test("a pull from the edge's cache sets last_pulled_at, though origin saw no GET for it", async () => {
    const started = Date.now();
    // The first pull fills the edge's cache (one GET to origin, marked: origin does not count it).
    expect(await pull('v1')).toBe('MISS');
    const gets = manifestGets('v1');
    expect(gets).toBe(1);
    expect(await within(10_000, async () => (await noted('edge')) >= 1)).toBeGreaterThanOrEqual(0);
    await setup.registry.running.services.pulls.flush();
    const first = await pulledAt(setup.registry, { tag: 'v1' });
    expect(first).not.toBeNull();

    // From the cache: origin sees nothing of it but the report.
    const reports = setup.proxy.count('POST', PULL_REPORT_PATH);
    expect(await pull('v1')).toBe('HIT');
    expect(await pull(image.digest)).toBe('HIT');
    expect(manifestGets('v1')).toBe(gets);
    expect(manifestGets(image.digest)).toBe(0);
    expect(await within(10_000, async () => (await noted('edge')) >= 3)).toBeGreaterThanOrEqual(0);
    // Both pulls, made within the delay, came in one report.
    expect(setup.proxy.count('POST', PULL_REPORT_PATH)).toBe(reports + 1);
    await setup.registry.running.services.pulls.flush();
    const tagTime = await pulledAt(setup.registry, { tag: 'v1' });
    const manifestTime = await pulledAt(setup.registry, { digest: image.digest });
    expect(tagTime).toBeGreaterThanOrEqual(first as number);
    expect(manifestTime).toBeGreaterThanOrEqual(tagTime as number);
    expect(manifestTime).toBeGreaterThanOrEqual(started);
    expect(manifestTime).toBeLessThanOrEqual(Date.now());
    // origin counted none of the GETs the edge made for its cache.
    expect(await noted('origin')).toBe(0);
  });

  test('a HEAD through the edge is no pull, though the edge fills its cache with a GET', async () => {
    expect(await pull('headed', 'HEAD')).toBe('MISS');
    expect(manifestGets('headed')).toBe(1);
    expect(await pull(headed.digest, 'HEAD')).not.toBeNull();
    const before = await noted('edge');
    // A GET of another image, so that a report is surely sent after the HEADs.
    expect(await pull('v1')).not.toBeNull();
    expect(await within(10_000, async () => (await noted('edge')) > before)).toBeGreaterThanOrEqual(0);
    expect(await noted('edge')).toBe(before + 1);
    await setup.registry.running.services.pulls.flush();
    expect(await pulledAt(setup.registry, { tag: 'headed' })).toBeNull();
    expect(await pulledAt(setup.registry, { digest: headed.digest })).toBeNull();
    expect(await noted('origin')).toBe(0);
  });
});

describe('an edge without PULL_REPORT_SECRET', () => {
  test('reports nothing, and its cache fills are counted by origin as pulls', async () => {
    const plain = await startEdgeSetup(
      { tagTtlSeconds: 300, policyTtlSeconds: 300, pullReportDelaySeconds: 0 },
      { config: { pulls: { flush_interval: '1h', report_secret: SECRET }, scan: { on_push: false } } },
    );
    try {
      const name = 'edge/unreported';
      await pushImage(plain.registry, name, 'v1');
      const token = bearer(await pullToken(plain.registry, name));
      for (const expected of ['MISS', 'HIT']) {
        const response = await ask(plain.edge.url, `/v2/${name}/manifests/v1`, { auth: token });
        expect(response.status).toBe(200);
        await response.arrayBuffer();
        expect(response.headers.get('x-edge-cache')).toBe(expected);
      }
      // A report would have been sent at once (no delay): give it time to arrive, if it were sent.
      await sleep(1_000);
      expect(plain.proxy.count('POST', PULL_REPORT_PATH)).toBe(0);
      const count = (source: string) =>
        metric(plain.registry, `registry_pulls_recorded_total{source="${source}"}`);
      // The fill's GET was not marked: origin counted it (the cached pull after it is not tracked).
      expect(await count('origin')).toBe(1);
      expect(await count('edge')).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
