// Robot accounts: long-lived, revocable credentials for CI, created by administrators
// (`registry robot create`, POST /admin/robots) with scopes — repository prefixes and actions —
// that are all they may ever do. The secret is shown once, at creation, and kept only hashed.
// Every login reads the robot from the database, so a deleted or expired robot is refused at once
// by every origin process; its last use is written at most once a minute, not on every request.
// Creations and deletions record their event (registry/events.ts: the audit trail keeps it).
import { z } from 'zod';
import type { Clock } from '../../shared/clock.ts';
import { LruCache } from '../cache/lru.ts';
import { parseDurationMs } from '../duration.ts';
import type { Database } from '../metadata/database.ts';
import {
  deleteRobot,
  findRobot,
  insertRobot,
  listRobots,
  type RobotScope,
  recordRobotUse,
  type StoredRobot,
} from '../metadata/robots.ts';
import type { Actor, DomainEvents, RuleEvent } from '../registry/events.ts';
import { isRobotLogin, ROBOT_NAME, ROBOT_PREFIX, robotLogin } from './robot-names.ts';
import { newSecret } from './robot-secrets.ts';

/** Uses closer together than this are recorded once. */
export const LAST_USE_RESOLUTION_MS = 60_000;

/** A repository-name prefix as auth.access rules take it: "" is every repository. */
const PREFIX = /^[a-z0-9._/-]{0,255}$/;

/** What `registry robot create` and POST /admin/robots take. */
const robotRequest = z
  .object({
    name: z.string().regex(ROBOT_NAME, 'lower-case letters, digits, . _ -; at most 64 characters'),
    scopes: z
      .array(
        z
          .object({
            prefix: z
              .string()
              .regex(PREFIX, 'a repository-name prefix (lower-case letters, digits, . _ / -)'),
            actions: z.array(z.enum(['pull', 'push', 'delete'])).min(1),
          })
          .strict(),
      )
      .min(1)
      .max(100),
    /** How long the robot lives ("90d", "12h", or seconds); absent or null: until deleted. */
    expires_in: z
      .union([z.string(), z.number()])
      .nullable()
      .optional()
      .refine((v) => v === null || v === undefined || (parseDurationMs(v) ?? 0) > 0, {
        message: 'a duration such as 90d, 12h or 3600 (seconds), more than 0',
      }),
  })
  .strict();

export type RobotRequest = z.infer<typeof robotRequest>;

/** A robot request from the CLI's options or a request body; the message names the first field at fault. */
export function parseRobotRequest(
  raw: unknown,
): { ok: true; request: RobotRequest } | { ok: false; message: string } {
  const parsed = robotRequest.safeParse(raw);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `${issue?.path.join('.') || 'robot'}: ${issue?.message ?? 'invalid'}` };
}

/** A robot as it is listed: never its secret or the hash of it. */
export interface Robot {
  readonly name: string;
  /** What it logs in as: robot$NAME. */
  readonly login: string;
  readonly scopes: readonly RobotScope[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
}

export type RobotCreation = { ok: true; robot: Robot; secret: string } | { ok: false; reason: 'exists' };

export const robotOf = ({ secretHash: _hash, ...robot }: StoredRobot): Robot => ({
  ...robot,
  login: robotLogin(robot.name),
});

/**
 * Scopes as stored: each prefix once, its actions merged and in a fixed order. Push includes pull:
 * no client pushes without reading (docker and skopeo check for blobs and manifests before sending
 * them, and mount blobs from another repository), so a push-only scope would be one nobody can use.
 */
export function normalizeScopes(scopes: readonly RobotScope[]): RobotScope[] {
  const byPrefix = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const actions = byPrefix.get(scope.prefix) ?? new Set();
    for (const action of scope.actions) actions.add(action);
    if (actions.has('push')) actions.add('pull');
    byPrefix.set(scope.prefix, actions);
  }
  return [...byPrefix].map(([prefix, actions]) => ({
    prefix,
    actions: (['pull', 'push', 'delete'] as const).filter((a) => actions.has(a)),
  }));
}

export class RobotAccounts {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly events: DomainEvents;
  /** robot (name and creation) -> when this process last recorded a use: a burst of logins writes once. */
  private readonly recorded = new LruCache<string, number>(10_000);

  constructor(db: Database, clock: Clock, events: DomainEvents) {
    this.db = db;
    this.clock = clock;
    this.events = events;
  }

  async create(request: RobotRequest, actor: Actor): Promise<RobotCreation> {
    const { secret, hash } = newSecret();
    const now = this.clock.now();
    const lifetime = request.expires_in == null ? null : (parseDurationMs(request.expires_in) as number);
    const stored: StoredRobot = {
      name: request.name,
      secretHash: hash,
      scopes: normalizeScopes(request.scopes),
      createdAt: now,
      expiresAt: lifetime === null ? null : now + lifetime,
      lastUsedAt: null,
    };
    const event = await this.events.change(this.db, async (tx) => {
      if (!(await insertRobot(tx, stored))) return null;
      const { scopes, expiresAt } = stored;
      return { type: 'robot', name: stored.name, robot: { scopes, expiresAt }, actor } satisfies RuleEvent;
    });
    if (!event) return { ok: false, reason: 'exists' };
    return { ok: true, robot: robotOf(stored), secret };
  }

  async list(): Promise<Robot[]> {
    return (await listRobots(this.db)).map(robotOf);
  }

  /** Deletes the robot: its credentials stop working at once. False when there is none. */
  async remove(name: string, actor: Actor): Promise<boolean> {
    // As in find: no robot has a name outside the grammar, and one with a NUL would fail the query.
    if (!ROBOT_NAME.test(name)) return false;
    const event = await this.events.change(this.db, async (tx) =>
      (await deleteRobot(tx, name))
        ? ({ type: 'robot', name, robot: null, actor } satisfies RuleEvent)
        : null,
    );
    return event !== null;
  }

  /** The robot that logs in as `login` (robot$NAME), with its secret's hash. */
  async find(login: string): Promise<StoredRobot | undefined> {
    if (!isRobotLogin(login)) return undefined;
    const name = login.slice(ROBOT_PREFIX.length);
    return ROBOT_NAME.test(name) ? findRobot(this.db, name) : undefined;
  }

  expired(robot: StoredRobot): boolean {
    return robot.expiresAt !== null && this.clock.now() >= robot.expiresAt;
  }

  /** Records a successful login, unless one within the last minute is recorded already. */
  async used(robot: StoredRobot): Promise<void> {
    const now = this.clock.now();
    const key = `${robot.name}\0${robot.createdAt}`;
    const last = Math.max(robot.lastUsedAt ?? -Infinity, this.recorded.get(key) ?? -Infinity);
    if (now - last < LAST_USE_RESOLUTION_MS) return;
    this.recorded.set(key, now);
    await recordRobotUse(this.db, robot.name, now);
  }
}
