// Changes to pull policies and the CVE allowlist. Each is committed together with a bump of the
// policy epoch (which tells every origin process, and the edge, that decisions must be made
// again), then this process reloads at once.
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
import type { PullPolicy } from './pull-policy.ts';

export class PolicyRules {
  private readonly db: Database;
  private readonly policy: PullPolicy;

  constructor(db: Database, policy: PullPolicy) {
    this.db = db;
    this.policy = policy;
  }

  list(): Promise<PolicyRule[]> {
    return listPolicies(this.db);
  }

  async put(rule: PolicyRule): Promise<void> {
    await this.change(async (tx) => {
      await putPolicy(tx, rule);
      return true;
    });
  }

  /** False when no policy was set for the prefix. */
  remove(prefix: string): Promise<boolean> {
    return this.change((tx) => deletePolicy(tx, prefix));
  }

  allowlist(): Promise<StoredAllowlistEntry[]> {
    return listAllowlist(this.db);
  }

  async allow(entry: StoredAllowlistEntry): Promise<void> {
    await this.change(async (tx) => {
      await putAllowlistEntry(tx, entry);
      return true;
    });
  }

  /** False when the vulnerability was not allowlisted for the prefix. */
  disallow(prefix: string, vulnerability: string): Promise<boolean> {
    return this.change((tx) => deleteAllowlistEntry(tx, prefix, vulnerability));
  }

  private async change(work: (tx: Queryable) => Promise<boolean>): Promise<boolean> {
    const changed = await this.db.transaction(async (tx) => {
      const done = await work(tx);
      if (done) await bumpPolicyEpoch(tx);
      return done;
    });
    await this.policy.refresh();
    return changed;
  }
}
