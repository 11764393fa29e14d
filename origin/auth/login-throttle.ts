// Refuses logins for a while after repeated failures, per user name and per client address:
// password guessing gets 429 instead of answers, and costs us no hash work while refused.
// An attempt counts from the moment its check starts, not when it fails: checks in flight spend
// the budget, so parallel guesses get no more checks than sequential ones. One that succeeds is
// given back. Counted per origin process.
import type { Clock } from '../../shared/clock.ts';
import { LruCache } from '../cache/lru.ts';

interface Window {
  /** Attempts started in this window and not given back: failed, or still being checked. */
  attempts: number;
  readonly startedAt: number;
}

/** An attempt in flight: the windows it was counted in. */
export interface LoginAttempt {
  readonly windows: readonly Window[];
}

export type AttemptStart = { ok: true; attempt: LoginAttempt } | { ok: false; retryAfter: number };

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

  /**
   * Starts an attempt for `keys`, counted against each of them at once; refused (with the seconds
   * to wait) when any key has spent its budget. Left counted, it is a failure.
   */
  begin(keys: readonly string[], now = this.clock.now()): AttemptStart {
    const windows: Window[] = [];
    let wait = 0;
    for (const key of keys) {
      let window = this.windows.get(key);
      if (!window || now - window.startedAt >= this.windowMs) {
        window = { attempts: 0, startedAt: now };
        this.windows.set(key, window);
      }
      if (window.attempts >= this.maxFailures) {
        wait = Math.max(wait, Math.ceil((window.startedAt + this.windowMs - now) / 1000));
      }
      windows.push(window);
    }
    if (wait > 0) return { ok: false, retryAfter: wait };
    for (const window of windows) window.attempts++;
    return { ok: true, attempt: { windows } };
  }

  /** The attempt succeeded, or was never checked: it no longer counts. */
  giveBack(attempt: LoginAttempt): void {
    // A window that has ended since is no longer looked at: giving back to it lends nothing.
    for (const window of attempt.windows) window.attempts = Math.max(0, window.attempts - 1);
  }
}
