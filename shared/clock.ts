// Where time comes from. Everything that expires, waits out a window or backs off (TTLs, throttle
// windows, grace periods, upload expiry, webhook backoff) asks a Clock rather than Date, so that
// tests move time forward instead of sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Where a Worker run with the TEST_CLOCK binding (tests only) is told to move its clock forward
 * (edge/src/clock.ts); test/harness/edge.ts calls it.
 */
export const TEST_CLOCK_PATH = '/.edge-test/clock';
