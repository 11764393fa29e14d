// Where time comes from. Everything that expires, waits out a window or backs off (TTLs, throttle
// windows, grace periods, upload expiry, webhook backoff) asks a Clock rather than Date, so that
// tests move time forward instead of sleeping.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
