// Who can log in: users from the config file, an htpasswd file, and `registry user add` (the
// database); with none of them configured, the documented default admin/secret. And robot
// accounts (robots.ts), by their robot$NAME, under the same throttle.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../shared/clock.ts';
import { LruCache } from '../cache/lru.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../metadata/database.ts';
import type { StoredRobot } from '../metadata/robots.ts';
import { countUsers, findPasswordHash, saveUserHash } from '../metadata/users.ts';
import type { Metrics } from '../metrics.ts';
import { LoginThrottle } from './login-throttle.ts';
import { type CheckOutcome, PasswordChecks } from './password-checks.ts';
import { hashPassword, isSupportedHash } from './passwords.ts';
import { isRobotLogin } from './robot-names.ts';
import { secretMatches } from './robot-secrets.ts';
import { type Robot, type RobotAccounts, robotOf } from './robots.ts';

export const DEFAULT_USER = { name: 'admin', password: 'secret' } as const;

// Verified credentials are remembered (with the hash they matched) so that Basic auth on every
// request costs a lookup of the user's hash, not a scrypt derivation; only successes are kept.
// (A robot's secret is cheap to check, but remembered all the same: credentials verified before an
// attack keep working while it is throttled, for robots as for users.)
// The same credentials arriving while they are being checked wait for that check (a burst of
// clients logging in at once costs one hash, not a queue full).

export type LoginResult =
  /** `robot`: the caller is that robot account; absent: a user. */
  | { ok: true; robot?: Robot }
  /** A robot account whose expiry has passed (its secret was right). */
  | { ok: false; reason: 'expired'; robot: Robot }
  /** Wrong user name or password. */
  | { ok: false; reason: 'incorrect' }
  /** Too many failures for this user or client address: retry in `retryAfter` seconds. */
  | { ok: false; reason: 'throttled'; retryAfter: number }
  /** Every password-check thread is busy and the queue is full. */
  | { ok: false; reason: 'busy' };

/** Where failed logins are recorded (the audit trail). Must not throw: a login's answer stands. */
export interface FailedLogins {
  loginFailed(name: string, client: string, reason: string): Promise<void>;
}

export class UserDirectory {
  private readonly fixed = new Map<string, string>();
  /** name + sha256 of a password -> the hash it was verified against. */
  private readonly verified = new LruCache<string, string>(10_000);
  /** name + sha256 of a password + hash -> the check of them in flight. */
  private readonly checking = new Map<string, Promise<LoginResult>>();
  private readonly db: Queryable;
  private readonly throttle: LoginThrottle;
  private readonly checks: PasswordChecks;
  private readonly robots: RobotAccounts;
  private readonly metrics: Metrics;
  private readonly failures: FailedLogins;
  private defaultHash: Promise<string> | undefined;

  constructor(options: {
    db: Queryable;
    fixed: Map<string, string>;
    throttle: LoginThrottle;
    checks: PasswordChecks;
    robots: RobotAccounts;
    metrics: Metrics;
    failures: FailedLogins;
  }) {
    this.db = options.db;
    this.fixed = options.fixed;
    this.throttle = options.throttle;
    this.checks = options.checks;
    this.robots = options.robots;
    this.metrics = options.metrics;
    this.failures = options.failures;
  }

  static async create(
    config: Config,
    db: Queryable,
    clock: Clock,
    robots: RobotAccounts,
    metrics: Metrics,
    failures: FailedLogins,
  ): Promise<UserDirectory> {
    const { max_failures, window } = config.auth.login_throttle;
    return new UserDirectory({
      db,
      fixed: configuredUsers(config),
      throttle: new LoginThrottle(max_failures, window, clock),
      checks: new PasswordChecks(config.auth.password_checks),
      robots,
      metrics,
      failures,
    });
  }

  /** Stops the password-check threads. */
  close(): Promise<void> {
    return this.checks.close();
  }

  /** True while no user is configured anywhere and admin/secret is accepted. */
  usesDefaultCredentials(): Promise<boolean> {
    return defaultAccountApplies(this.db, this.fixed);
  }

  /** Those of `names` who can log in now. */
  existing(names: readonly string[]): Promise<string[]> {
    return existingUsers(this.db, this.fixed, names);
  }

  /**
   * Checks a user's password or a robot's secret. `client` (the caller's address) and the name are
   * throttled after repeated failures; password checks are refused while the password-check
   * threads are saturated.
   */
  async login(name: string, password: string, client: string): Promise<LoginResult> {
    // The current hash, every time: a changed password, the first user replacing the default
    // admin/secret, or a deleted robot takes effect at once.
    const robot = isRobotLogin(name) ? await this.robots.find(name) : undefined;
    const hash = isRobotLogin(name) ? robot?.secretHash : await this.hashOf(name);
    const key = `${name}\0${createHash('sha256').update(password).digest('base64')}`;
    if (hash !== undefined && this.verified.get(key) === hash) return this.admit(robot);
    const flight = `${key}\0${hash}`;
    const inFlight = this.checking.get(flight);
    if (inFlight) return inFlight;
    // Counted before the check starts: checks in flight spend the budget too.
    const attempt = this.throttle.begin([`user:${name}`, `client:${client}`]);
    if (!attempt.ok) return { ok: false, reason: 'throttled', retryAfter: attempt.retryAfter };
    // Failures are recorded only once the throttle admitted them: a guessing flood adds at most
    // max_failures entries per name and client a window, then is refused unrecorded.
    if (hash === undefined) return this.failed(name, client, 'unknown user');
    const checked: Promise<CheckOutcome> = robot
      ? Promise.resolve(secretMatches(password, hash) ? 'match' : 'mismatch')
      : this.checks.check(password, hash);
    const check = checked.then((outcome: CheckOutcome): LoginResult | Promise<LoginResult> => {
      if (!robot) this.metrics.passwordChecks.inc({ outcome });
      if (outcome === 'mismatch') return this.failed(name, client, robot ? 'wrong secret' : 'wrong password');
      // A success, or a check that never ran, is no failure.
      this.throttle.giveBack(attempt.attempt);
      if (outcome === 'busy') return { ok: false, reason: 'busy' };
      this.verified.set(key, hash);
      return this.admit(robot);
    });
    this.checking.set(flight, check);
    try {
      return await check;
    } finally {
      this.checking.delete(flight);
    }
  }

  private async failed(name: string, client: string, reason: string): Promise<LoginResult> {
    await this.failures.loginFailed(name, client, reason);
    return { ok: false, reason: 'incorrect' };
  }

  /** A login whose credentials are right: a user's, or a robot's that has not expired (its use recorded). */
  private async admit(robot: StoredRobot | undefined): Promise<LoginResult> {
    if (!robot) return { ok: true };
    if (this.robots.expired(robot)) return { ok: false, reason: 'expired', robot: robotOf(robot) };
    await this.robots.used(robot);
    return { ok: true, robot: robotOf(robot) };
  }

  private async hashOf(name: string): Promise<string | undefined> {
    // No user name holds a NUL, and PostgreSQL refuses one in text: such a name is no user.
    if (name.includes('\u0000')) return undefined;
    const fixed = this.fixed.get(name);
    if (fixed !== undefined) return fixed;
    const stored = await findPasswordHash(this.db, name);
    if (stored !== undefined) return stored;
    if (name === DEFAULT_USER.name && (await this.usesDefaultCredentials())) {
      // One hash for every login: computed once, however many requests come before it is ready.
      this.defaultHash ??= hashPassword(DEFAULT_USER.password);
      return this.defaultHash;
    }
    return undefined;
  }
}

/** The users of the config file (auth.users) and of its htpasswd file, by name with their hash. */
export function configuredUsers(config: Config): Map<string, string> {
  const fixed = new Map<string, string>();
  if (config.auth.htpasswd) {
    for (const [name, hash] of readHtpasswd(config.auth.htpasswd)) fixed.set(name, hash);
  }
  for (const user of config.auth.users) {
    if (!isSupportedHash(user.password_hash)) {
      throw new Error(
        `config key auth.users: the password_hash of ${user.name} is not a scrypt or bcrypt hash`,
      );
    }
    fixed.set(user.name, user.password_hash);
  }
  return fixed;
}

/** Whether admin/secret is accepted: no user configured (`configured`) or stored. */
export async function defaultAccountApplies(
  db: Queryable,
  configured: ReadonlyMap<string, string>,
): Promise<boolean> {
  return configured.size === 0 && (await countUsers(db)) === 0;
}

/** Those of `names` who can log in: configured, stored, or the default account while it applies. */
export async function existingUsers(
  db: Queryable,
  configured: ReadonlyMap<string, string>,
  names: readonly string[],
): Promise<string[]> {
  const existing: string[] = [];
  for (const name of names) {
    if (
      configured.has(name) ||
      (!name.includes('\u0000') && (await findPasswordHash(db, name)) !== undefined) ||
      (name === DEFAULT_USER.name && (await defaultAccountApplies(db, configured)))
    )
      existing.push(name);
  }
  return existing;
}

/** Adds or replaces a user in the database (`registry user add`). */
export async function saveUser(db: Queryable, name: string, password: string): Promise<void> {
  await saveUserHash(db, name, await hashPassword(password));
}

function readHtpasswd(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`config key auth.htpasswd: cannot read ${file}: ${(error as Error).message}`);
  }
  const users = new Map<string, string>();
  for (const [index, line] of text.split('\n').entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    const hash = trimmed.slice(colon + 1);
    if (colon <= 0 || !isSupportedHash(hash)) {
      throw new Error(
        `config key auth.htpasswd: line ${index + 1} of ${file} is not "user:bcrypt-or-scrypt-hash"`,
      );
    }
    const name = trimmed.slice(0, colon);
    if (isRobotLogin(name)) {
      throw new Error(
        `config key auth.htpasswd: line ${index + 1} of ${file} names a robot account (robot$…), not a user`,
      );
    }
    users.set(name, hash);
  }
  return users;
}
