// Refuses logins for a while after repeated failures, per user name and per client address:
// password guessing gets 429 instead of answers, and costs us no scrypt work while refused.
// Counted per origin process.
import type { Clock } from '../../shared/clock.ts';
import { LruCache } from '../cache/lru.ts';

interface Window {
  failures: number;
  startedAt: number;
}

export class LoginThrottle {
  private readonly windows = new LruCache<string, Window>(100_000);
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly clock: Clock;

  constructor(maxFailures: number, windowMs: number, clock: Clock) {
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
    this.clock = clock;
  }

  /** Seconds until `keys` may try again; 0 when none of them is throttled. */
  retryAfter(keys: readonly string[], now = this.clock.now()): number {
    let wait = 0;
    for (const key of keys) {
      const window = this.windows.get(key);
      if (!window || now - window.startedAt >= this.windowMs) continue;
      if (window.failures >= this.maxFailures) {
        wait = Math.max(wait, Math.ceil((window.startedAt + this.windowMs - now) / 1000));
      }
    }
    return wait;
  }

  recordFailure(keys: readonly string[], now = this.clock.now()): void {
    for (const key of keys) {
      const window = this.windows.get(key);
      if (!window || now - window.startedAt >= this.windowMs)
        this.windows.set(key, { failures: 1, startedAt: now });
      else window.failures++;
    }
  }
}
