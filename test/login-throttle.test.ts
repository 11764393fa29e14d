// Failed logins are throttled per user and per client address (429 TOOMANYREQUESTS).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../origin/auth/login-throttle.ts';
import { call, errorCode } from './harness/client.ts';
import { ManualClock } from './harness/clock.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('login throttle', () => {
  it('refuses a key after max failures within the window, and forgives after it', () => {
    const throttle = new LoginThrottle(3, 10_000, new ManualClock(0));
    const keys = ['user:a', 'client:1'];
    for (let i = 0; i < 3; i++) {
      expect(throttle.retryAfter(keys, 1000)).toBe(0);
      throttle.recordFailure(keys, 1000);
    }
    expect(throttle.retryAfter(keys, 2000)).toBe(9);
    expect(throttle.retryAfter(['user:b', 'client:1'], 2000)).toBe(9);
    expect(throttle.retryAfter(['user:b', 'client:2'], 2000)).toBe(0);
    expect(throttle.retryAfter(keys, 11_000)).toBe(0);
  });
});

describe('login throttle over HTTP', () => {
  let registry: TestRegistry;
  const clock = new ManualClock();
  beforeAll(async () => {
    registry = await startTestRegistry({
      config: { auth: { login_throttle: { max_failures: 3, window: '2s' } } },
      clock,
    });
  });
  afterAll(async () => registry?.close());

  it('answers 429 TOOMANYREQUESTS with Retry-After after repeated wrong passwords', async () => {
    expect((await call(registry, 'GET', '/v2/')).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const wrong = await call(registry, 'GET', '/v2/', { auth: basic('admin', `guess${i}`) });
      expect(wrong.status).toBe(401);
    }
    const throttled = await call(registry, 'GET', '/v2/', { auth: basic('admin', 'guess4') });
    expect(throttled.status).toBe(429);
    expect(await errorCode(throttled)).toBe('TOOMANYREQUESTS');
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    const token = await call(registry, 'GET', '/token?service=x&scope=repository:a:pull', {
      auth: basic('admin', 'nope'),
    });
    expect(token.status).toBe(429);
  });

  it('credentials verified before the attack keep working; others wait for the window', async () => {
    expect((await call(registry, 'GET', '/v2/')).status).toBe(200);
    clock.advance(2100);
    expect((await call(registry, 'GET', '/v2/', { auth: basic('admin', 'wrong-again') })).status).toBe(401);
  });
});
