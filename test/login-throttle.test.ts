// Failed logins are throttled per user and per client address (429 TOOMANYREQUESTS). Attempts
// count from the moment they start, so parallel guesses get no more checks than sequential ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginThrottle } from '../origin/auth/login-throttle.ts';
import { hashPassword } from '../origin/auth/passwords.ts';
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
      const attempt = throttle.begin(keys, 1000);
      expect(attempt.ok).toBe(true);
    }
    expect(throttle.begin(keys, 2000)).toEqual({ ok: false, retryAfter: 9 });
    expect(throttle.begin(['user:b', 'client:1'], 2000)).toEqual({ ok: false, retryAfter: 9 });
    expect(throttle.begin(['user:b', 'client:2'], 2000).ok).toBe(true);
    expect(throttle.begin(keys, 11_000).ok).toBe(true);
  });

  it('counts attempts in flight: the budget is spent when checks start, not when they fail', () => {
    const throttle = new LoginThrottle(2, 10_000, new ManualClock(0));
    const keys = ['user:a', 'client:1'];
    const first = throttle.begin(keys, 0);
    const second = throttle.begin(keys, 0);
    // Neither has finished, and a third is already refused.
    expect(throttle.begin(keys, 0).ok).toBe(false);
    // The first succeeds: its attempt is given back, and one more check may start.
    if (!first.ok || !second.ok) throw new Error('the first two attempts must start');
    throttle.giveBack(first.attempt);
    expect(throttle.begin(keys, 0).ok).toBe(true);
    expect(throttle.begin(keys, 0).ok).toBe(false);
  });

  it('an attempt given back after its window ended does not lend budget to the next window', () => {
    const throttle = new LoginThrottle(1, 10_000, new ManualClock(0));
    const keys = ['user:a'];
    const old = throttle.begin(keys, 0);
    if (!old.ok) throw new Error('the first attempt must start');
    expect(throttle.begin(keys, 10_000).ok).toBe(true);
    throttle.giveBack(old.attempt);
    expect(throttle.begin(keys, 10_001).ok).toBe(false);
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

  it('a successful login is not counted as a failure', async () => {
    clock.advance(2100);
    // A password never verified by this process: it is checked, within the budget, then given back.
    const fresh = await startTestRegistry({
      config: { auth: { login_throttle: { max_failures: 3, window: '2s' } } },
      clock,
    });
    try {
      for (let i = 0; i < 2; i++) {
        expect((await call(fresh, 'GET', '/v2/', { auth: basic('admin', `miss${i}`) })).status).toBe(401);
      }
      expect((await call(fresh, 'GET', '/v2/')).status).toBe(200);
      expect((await call(fresh, 'GET', '/v2/', { auth: basic('admin', 'miss2') })).status).toBe(401);
      expect((await call(fresh, 'GET', '/v2/', { auth: basic('admin', 'miss3') })).status).toBe(429);
    } finally {
      await fresh.close();
    }
  });
});

describe('login throttle under parallel guesses', () => {
  const MAX_FAILURES = 10;
  const PASSWORD = 'the-right-password';
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startTestRegistry({
      config: {
        auth: {
          login_throttle: { max_failures: MAX_FAILURES, window: '1h' },
          users: [{ name: 'victim', password_hash: await hashPassword(PASSWORD) }],
        },
      },
    });
  });
  afterAll(async () => registry?.close());

  it('100 parallel guesses get at most max_failures checks; the right password among them is refused like the rest', async () => {
    const RIGHT = 94;
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        call(registry, 'GET', '/v2/', {
          auth: basic('victim', i === RIGHT ? PASSWORD : `guess-${i}`),
        }).then(async (r) => ({ status: r.status, code: r.status === 200 ? null : await errorCode(r) })),
      ),
    );
    const checked = answers.filter((a) => a.status === 401 || a.status === 200);
    const throttled = answers.filter((a) => a.status === 429);
    expect(checked.length).toBeLessThanOrEqual(MAX_FAILURES);
    expect(throttled.length).toBe(100 - checked.length);
    expect(new Set(throttled.map((a) => a.code))).toEqual(new Set(['TOOMANYREQUESTS']));
    // Sent 95th, it starts long after the budget is spent: the attacker learns nothing from it.
    expect(answers[RIGHT]?.status).toBe(429);
  });
});
