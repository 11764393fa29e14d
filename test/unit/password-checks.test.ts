// The password-check threads: scrypt and bcrypt hashes checked off the serving thread, at most
// `threads` at once and `queue` waiting; beyond that a check is refused at once.
import bcrypt from 'bcryptjs';
import { afterEach, describe, expect, test } from 'vitest';
import { PasswordChecks } from '../../origin/auth/password-checks.ts';
import { hashPassword } from '../../origin/auth/passwords.ts';

let checks: PasswordChecks | undefined;
afterEach(async () => checks?.close());

describe('password checks', () => {
  test('tell a right scrypt or bcrypt password from a wrong one', async () => {
    checks = new PasswordChecks({ threads: 2, queue: 10 });
    const scrypt = await hashPassword('right');
    const bcryptHash = bcrypt.hashSync('right', 4);
    expect(
      await Promise.all([
        checks.check('right', scrypt),
        checks.check('wrong', scrypt),
        checks.check('right', bcryptHash),
        checks.check('wrong', bcryptHash),
      ]),
    ).toEqual(['match', 'mismatch', 'match', 'mismatch']);
  });

  test('beyond the threads and the queue, a check is refused at once as busy', async () => {
    checks = new PasswordChecks({ threads: 1, queue: 2 });
    const hash = await hashPassword('right');
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => checks?.check('wrong', hash)));
    // One running, two waiting; the other three never ran.
    expect(outcomes).toEqual(['mismatch', 'mismatch', 'mismatch', 'busy', 'busy', 'busy']);
    // Once the queue drains, checks are taken again.
    expect(await checks.check('right', hash)).toBe('match');
  });

  test('a hash the thread cannot compute fails that check, and the next check still runs', async () => {
    checks = new PasswordChecks({ threads: 1, queue: 2 });
    // N must be a power of two: scrypt throws.
    const broken = '$scrypt$N=3,r=8,p=1$c2FsdA==$a2V5';
    await expect(checks.check('x', broken)).rejects.toThrow(/password check failed/);
    expect(await checks.check('right', await hashPassword('right'))).toBe('match');
  });

  test('closed, pending checks fail instead of hanging', async () => {
    checks = new PasswordChecks({ threads: 1, queue: 5 });
    const hash = await hashPassword('right');
    const pending = Array.from({ length: 3 }, () => checks?.check('wrong', hash));
    const settled = Promise.allSettled(pending);
    await checks.close();
    expect((await settled).map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    checks = undefined;
  });
});
