// The edge's clock, which every TTL, staleness and key-refresh decision reads. Deployed, it is the
// system clock. Tests run the Worker with the binding TEST_CLOCK = "on" (set by
// test/harness/edge.ts; never in wrangler.toml): then the clock is the system clock plus an offset
// that POST TEST_CLOCK_PATH moves forward, so a test waits out a TTL without sleeping. Without the
// binding that path is not the edge's (it goes to origin like any other) and no offset is read.
import { type Clock, systemClock } from '../../shared/clock.ts';
import type { Env } from './config.ts';

/**
 * Per isolate: miniflare runs the Worker in one, so every request of a test sees the same offset. Only forward: entries the Cache API expires by wall time are then
 * never kept past what the clock allows.
 */
let offsetMs = 0;

const movableClock: Clock = { now: () => Date.now() + offsetMs };

export function testClockEnabled(env: Pick<Env, 'TEST_CLOCK'>): boolean {
  return env.TEST_CLOCK === 'on';
}

export function edgeClock(env: Pick<Env, 'TEST_CLOCK'>): Clock {
  return testClockEnabled(env) ? movableClock : systemClock;
}

/** POST TEST_CLOCK_PATH with `{"advanceMs": N}`: the clock moves N ms forward; answers its time. */
export async function moveTestClock(request: Request): Promise<Response> {
  if (request.method !== 'POST') return new Response(null, { status: 405, headers: { Allow: 'POST' } });
  const body = (await request.json().catch(() => null)) as { advanceMs?: unknown } | null;
  const advanceMs = body?.advanceMs;
  if (typeof advanceMs !== 'number' || !Number.isFinite(advanceMs) || advanceMs < 0)
    return Response.json({ error: 'advanceMs must be a number of milliseconds, 0 or more' }, { status: 400 });
  offsetMs += advanceMs;
  return Response.json({ now: movableClock.now(), offsetMs });
}
