// A Basic login costs a scrypt derivation (tens of milliseconds of CPU) until it is verified and
// remembered: twenty requests with the same credentials arriving at once — a client opening its
// connections, or every client after a restart — cost one derivation, not twenty.
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../origin/auth/passwords.ts';
import { call, metric } from './harness/client.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

// Counts the derivations the registry makes, each still run for real: hashes made in this process
// (the default password's) by crypto.scrypt, checks against a hash on the password-check threads
// by the registry's own metric.
let derivations = 0;
const scrypt = crypto.scrypt;
beforeAll(() => {
  crypto.scrypt = ((...args: Parameters<typeof scrypt>) => {
    derivations++;
    return scrypt(...args);
  }) as typeof scrypt;
  syncBuiltinESMExports();
});
afterAll(() => {
  crypto.scrypt = scrypt;
  syncBuiltinESMExports();
});

const checks = async (registry: TestRegistry): Promise<number> =>
  (await metric(registry, 'registry_password_checks_total{outcome="match"}')) +
  (await metric(registry, 'registry_password_checks_total{outcome="mismatch"}'));

/** How many derivations `work` on `registry` caused. */
async function counted(registry: TestRegistry, work: () => Promise<void>): Promise<number> {
  const before = derivations + (await checks(registry));
  await work();
  return derivations + (await checks(registry)) - before;
}

const twentyAtOnce = (registry: TestRegistry, auth: string) => async () => {
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => call(registry, 'GET', '/v2/', { auth })),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
};

describe('logins arriving at once', () => {
  let configured: TestRegistry;
  let unconfigured: TestRegistry;
  beforeAll(async () => {
    const hash = await hashPassword('carol-password');
    [configured, unconfigured] = await Promise.all([
      startTestRegistry({ config: { auth: { users: [{ name: 'carol', password_hash: hash }] } } }),
      startTestRegistry(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([configured?.close(), unconfigured?.close()]);
  });

  it('twenty with one password cost one derivation, and the next ones none', async () => {
    const carol = basic('carol', 'carol-password');
    expect(await counted(configured, twentyAtOnce(configured, carol))).toBe(1);
    expect(await counted(configured, twentyAtOnce(configured, carol))).toBe(0);
  });

  it('the default admin/secret: one hash of the default password, one verification', async () => {
    const admin = basic('admin', 'secret');
    expect(await counted(unconfigured, twentyAtOnce(unconfigured, admin))).toBe(2);
    expect(await counted(unconfigured, twentyAtOnce(unconfigured, admin))).toBe(0);
  });
});
