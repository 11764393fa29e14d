// Who is signed in to the console: a random cookie names a session row (stored by its hash) with
// its user and the CSRF token every form and mutating request of that session must carry.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import {
  deleteConsoleSession,
  findConsoleSession,
  insertConsoleSession,
} from '../metadata/console-sessions.ts';
import type { Database } from '../metadata/database.ts';

export interface ConsoleSession {
  readonly user: string;
  readonly csrf: string;
}

/** How long a sign-in lasts, however active: a working day. */
export const SESSION_MS = 8 * 3600_000;

const hashOf = (cookie: string) => createHash('sha256').update(cookie).digest('base64url');

export const randomToken = (): string => randomBytes(32).toString('base64url');

/** Two tokens compared in constant time. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ConsoleSessions {
  private readonly db: Database;
  private readonly clock: Clock;

  constructor(db: Database, clock: Clock) {
    this.db = db;
    this.clock = clock;
  }

  /** A new session for `user`: the cookie to set, once. */
  async open(user: string): Promise<{ cookie: string; session: ConsoleSession }> {
    const cookie = randomToken();
    const session = { user, csrf: randomToken() };
    const now = this.clock.now();
    await insertConsoleSession(this.db, hashOf(cookie), { ...session, expiresAt: now + SESSION_MS }, now);
    return { cookie, session };
  }

  async find(cookie: string | undefined): Promise<ConsoleSession | null> {
    // A cookie of ours is 43 characters; anything else is not looked up.
    if (!cookie || cookie.length > 64) return null;
    return findConsoleSession(this.db, hashOf(cookie), this.clock.now());
  }

  async close(cookie: string | undefined): Promise<void> {
    if (cookie && cookie.length <= 64) await deleteConsoleSession(this.db, hashOf(cookie));
  }
}
