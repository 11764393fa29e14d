// Per-repository-prefix permissions from the config's auth.access rules, and who administers the
// registry (auth.admins).
import type { RepositoryAction } from '../../shared/scope.ts';
import type { AccessRule } from '../config.ts';

/** When no rules are configured: every authenticated user may do everything, anonymous nothing. */
const DEFAULT_RULES: readonly AccessRule[] = [
  { prefix: '', users: ['*'], anonymous: false, actions: ['pull', 'push', 'delete'] },
];

export class Permissions {
  private readonly rules: readonly AccessRule[];
  private readonly admins: ReadonlySet<string>;

  constructor(rules: readonly AccessRule[] | undefined, admins: readonly string[]) {
    this.rules = rules ?? DEFAULT_RULES;
    this.admins = new Set(admins);
  }

  /** May run the /admin endpoints (with Basic credentials, or a token granting registry:admin:*). */
  isAdmin(user: string | null): boolean {
    return user !== null && this.admins.has(user);
  }

  /** What `user` (null: anonymous) may do in `repository`: the union of the matching rules. */
  actionsFor(user: string | null, repository: string): Set<RepositoryAction> {
    const actions = new Set<RepositoryAction>();
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
