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
