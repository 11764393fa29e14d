// A clock the test moves: registries started with it see time pass only when the test says so,
// so waiting out a TTL, a throttle window or a grace period costs no wall time.
import type { Clock } from '../../shared/clock.ts';

export class ManualClock implements Clock {
  private current: number;

  constructor(start = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}

/**
 * A clock that runs with the system's and that the test moves forward besides: for a registry
 * whose other times (push times, tag order) should pass as usual while one window is skipped.
 */
export class ShiftedClock implements Clock {
  private offset = 0;

  now(): number {
    return Date.now() + this.offset;
  }

  advance(ms: number): void {
    this.offset += ms;
  }
}
