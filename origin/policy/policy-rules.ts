// Changes to pull policies and the CVE allowlist. Each is committed together with a bump of the
// policy epoch (which tells every origin process, and the edge, that decisions must be made
// again) and its event (registry/events.ts: the audit trail records it), then this process
// reloads at once.
import type { PolicyRule } from '../../shared/policy.ts';
import type { Database, Queryable } from '../metadata/database.ts';
import {
  bumpPolicyEpoch,
  deleteAllowlistEntry,
  deletePolicy,
  listAllowlist,
  listPolicies,
  putAllowlistEntry,
  putPolicy,
  type StoredAllowlistEntry,
} from '../metadata/policies.ts';
import type { Actor, DomainEvents, RuleEvent } from '../registry/events.ts';
import type { PullPolicy } from './pull-policy.ts';

export class PolicyRules {
  private readonly db: Database;
  private readonly policy: PullPolicy;
  private readonly events: DomainEvents;

  constructor(db: Database, policy: PullPolicy, events: DomainEvents) {
    this.db = db;
    this.policy = policy;
    this.events = events;
  }

  list(): Promise<PolicyRule[]> {
    return listPolicies(this.db);
  }

  async put(rule: PolicyRule, actor: Actor): Promise<void> {
    await this.change(async (tx) => {
      await putPolicy(tx, rule);
      const { threshold, onlyFixable, unscanned } = rule;
      return { type: 'policy', prefix: rule.prefix, rule: { threshold, onlyFixable, unscanned }, actor };
    });
  }

  /** False when no policy was set for the prefix. */
  remove(prefix: string, actor: Actor): Promise<boolean> {
    return this.change(async (tx) =>
      (await deletePolicy(tx, prefix)) ? { type: 'policy', prefix, rule: null, actor } : null,
    );
  }

  allowlist(): Promise<StoredAllowlistEntry[]> {
    return listAllowlist(this.db);
  }

  async allow(entry: StoredAllowlistEntry, actor: Actor): Promise<void> {
    await this.change(async (tx) => {
      await putAllowlistEntry(tx, entry);
      const { prefix, vulnerability, expiresAt, reason } = entry;
      return {
        type: 'allowlist',
        prefix,
        vulnerability,
        entry: { expiresAt: expiresAt ?? null, reason },
        actor,
      };
    });
  }

  /** False when the vulnerability was not allowlisted for the prefix. */
  disallow(prefix: string, vulnerability: string, actor: Actor): Promise<boolean> {
    return this.change(async (tx) =>
      (await deleteAllowlistEntry(tx, prefix, vulnerability))
        ? { type: 'allowlist', prefix, vulnerability, entry: null, actor }
        : null,
    );
  }

  /** Runs a change with its epoch bump and event, in one transaction; whether it changed anything. */
  private async change(work: (tx: Queryable) => Promise<RuleEvent | null>): Promise<boolean> {
    const event = await this.events.change(this.db, async (tx) => {
      const done = await work(tx);
      if (done) await bumpPolicyEpoch(tx);
      return done;
    });
    await this.policy.refresh();
    return event !== null;
  }
}
