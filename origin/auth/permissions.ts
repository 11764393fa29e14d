// What a caller may do: users under the config's auth.access rules (per repository prefix) and
// auth.admins; robot accounts under their own scopes alone, never administrators.
import type { RepositoryAction } from '../../shared/scope.ts';
import type { AccessRule } from '../config.ts';
import type { RobotScope } from '../metadata/robots.ts';
import { isRobotLogin } from './robot-names.ts';

/** When no rules are configured: every authenticated user may do everything, anonymous nothing. */
const DEFAULT_RULES: readonly AccessRule[] = [
  { prefix: '', users: ['*'], anonymous: false, actions: ['pull', 'push', 'delete'] },
];

/** Who a caller proved to be, and what that lets them do (in requests, and in tokens issued to them). */
export interface Grantee {
  /** A user's name, a robot's login name (robot$NAME), or null for an anonymous caller. */
  readonly name: string | null;
  actionsFor(repository: string): ReadonlySet<RepositoryAction>;
  /** May list the catalog. */
  readonly catalog: boolean;
  /** May run the /admin endpoints. */
  readonly admin: boolean;
}

export class Permissions {
  private readonly rules: readonly AccessRule[];
  private readonly admins: ReadonlySet<string>;

  constructor(rules: readonly AccessRule[] | undefined, admins: readonly string[]) {
    this.rules = rules ?? DEFAULT_RULES;
    this.admins = new Set(admins);
  }

  /** A user (null: anonymous) under the rules. */
  user(name: string | null): Grantee {
    return {
      name,
      actionsFor: (repository) => this.actionsFor(name, repository),
      catalog: name !== null && !isRobotLogin(name),
      admin: this.isAdmin(name),
    };
  }

  /** A robot: exactly its scopes. The rules do not widen them, not even those for anonymous callers. */
  robot(login: string, scopes: readonly RobotScope[]): Grantee {
    return {
      name: login,
      actionsFor: (repository) =>
        new Set(
          scopes.filter((scope) => repository.startsWith(scope.prefix)).flatMap((scope) => scope.actions),
        ),
      catalog: false,
      admin: false,
    };
  }

  /**
   * May run the /admin endpoints (with Basic credentials, or a token granting registry:admin:*).
   * Never a robot, even one named in auth.admins.
   */
  isAdmin(user: string | null): boolean {
    return user !== null && !isRobotLogin(user) && this.admins.has(user);
  }

  /**
   * What `user` (null: anonymous) may do in `repository`: the union of the matching rules. Nothing
   * for a robot's name: rules are for users, robots have their scopes.
   */
  actionsFor(user: string | null, repository: string): Set<RepositoryAction> {
    const actions = new Set<RepositoryAction>();
    if (isRobotLogin(user)) return actions;
    for (const rule of this.rules) {
      if (!repository.startsWith(rule.prefix)) continue;
      const applies =
        user === null
          ? rule.anonymous
          : rule.anonymous || rule.users.includes('*') || rule.users.includes(user);
      if (applies) for (const action of rule.actions) actions.add(action);
    }
    return actions;
  }

  allows(user: string | null, repository: string, action: RepositoryAction): boolean {
    return this.actionsFor(user, repository).has(action);
  }
}
