// The edge's test clock (edge/src/clock.ts): run with the TEST_CLOCK binding, as every test edge
// is, the Worker moves its clock forward when told at TEST_CLOCK_PATH, and its TTLs run out with
// it. Run as deployed (the bundle without the binding), that path is not the edge's: it goes to
// origin like any other request, and the clock does not move.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TEST_CLOCK_PATH } from '../../shared/clock.ts';
import { pushImage } from '../harness/client.ts';
import type { TestEdge } from '../harness/edge.ts';
import { ask, bearer, type EdgeSetup, pullToken, startEdgeFor, startEdgeSetup } from './support.ts';

/** Long enough that no test here sees it run out by itself. */
const TAG_TTL = 60;
const NAME = 'edge/clock';

let setup: EdgeSetup;
/** The same bundle, run as deployed: no TEST_CLOCK binding. */
let deployed: TestEdge;
let auth: string;

beforeAll(async () => {
  setup = await startEdgeSetup({ tagTtlSeconds: TAG_TTL, policyTtlSeconds: TAG_TTL });
  deployed = await startEdgeFor(setup.registry, setup.proxy.url, {
    tagTtlSeconds: TAG_TTL,
    policyTtlSeconds: TAG_TTL,
    testClock: false,
  });
  auth = bearer(await pullToken(setup.registry, NAME));
  await pushImage(setup.registry, NAME, 'v1');
});
afterAll(async () => {
  await deployed?.close();
  await setup?.close();
});

const cacheState = async (edge: TestEdge) =>
  (await ask(edge.url, `/v2/${NAME}/manifests/v1`, { auth })).headers.get('x-edge-cache');

const moveClock = (base: string, body: unknown) =>
  fetch(`${base}${TEST_CLOCK_PATH}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the test clock', () => {
  test('moved forward, it runs the TTLs out', async () => {
    expect(await cacheState(setup.edge)).toBe('MISS');
    expect(await cacheState(setup.edge)).toBe('HIT');
    await setup.edge.advanceClock(TAG_TTL * 1000 - 1000);
    expect(await cacheState(setup.edge)).toBe('HIT');
    await setup.edge.advanceClock(1000);
    expect(await cacheState(setup.edge)).toBe('REVALIDATED');
    expect(await cacheState(setup.edge)).toBe('HIT');
  });

  test('it moves only forward, and the request never reaches origin', async () => {
    const before = setup.proxy.count('POST', TEST_CLOCK_PATH);
    for (const advanceMs of [-1000, 'soon', null]) {
      const refused = await moveClock(setup.edge.url, { advanceMs });
      expect(refused.status, String(advanceMs)).toBe(400);
      await refused.arrayBuffer();
    }
    const moved = await moveClock(setup.edge.url, { advanceMs: 0 });
    expect(moved.status).toBe(200);
    expect(((await moved.json()) as { offsetMs: number }).offsetMs).toBeGreaterThanOrEqual(TAG_TTL * 1000);
    expect(setup.proxy.count('POST', TEST_CLOCK_PATH)).toBe(before);
  });

  test('without the TEST_CLOCK binding the path is passed to origin (404) and the clock stays', async () => {
    expect(await cacheState(deployed)).toBe('MISS');
    const before = setup.proxy.count('POST', TEST_CLOCK_PATH);
    const attempt = await moveClock(deployed.url, { advanceMs: TAG_TTL * 1000 });
    const atOrigin = await moveClock(setup.registry.url, { advanceMs: TAG_TTL * 1000 });
    expect(attempt.status).toBe(404);
    expect(await attempt.text()).toBe(await atOrigin.text());
    expect(setup.proxy.count('POST', TEST_CLOCK_PATH)).toBe(before + 1);
    const gets = setup.proxy.count('GET', `/v2/${NAME}/manifests/v1`);
    expect(await cacheState(deployed)).toBe('HIT');
    expect(setup.proxy.count('GET', `/v2/${NAME}/manifests/v1`)).toBe(gets);
  });
});
