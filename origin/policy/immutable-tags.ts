// Immutable tags: per repository-name prefix, tag patterns whose tags, once pushed, never name
// another digest and are never deleted, nor is the manifest they name. Rules come from the config
// file (immutable_tags: read-only through the API, for GitOps) and from the admin API (stored in
// the database). The rule with the longest prefix of a repository's name applies, alone: a longer
// prefix with no patterns makes its repositories' tags mutable again. A config rule hides a
// stored one of the same prefix.
//
// Manifest writes obey the rules inside their own transaction (registry/manifests.ts, through
// `guard`): they read the stored rules under a shared advisory lock that a change takes alone. A
// change thus waits for the writes that read the rules before it, and the writes after it read the
// new rules, in every process: no tag move slips between a rule change and its answer.
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import { ruleFor } from '../../shared/policy.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import type { Database, Queryable } from '../metadata/database.ts';
import {
  deleteImmutableTagRule,
  type ImmutableTagRule,
  immutableTagRulesOf,
  listImmutableTagRules,
  lockImmutableTagRules,
  putImmutableTagRule,
} from '../metadata/immutable-tags.ts';
import type { Actor, DomainEvents, RuleEvent } from '../registry/events.ts';
import { ConfiguredRules, type Listed } from './configured-rules.ts';
import { matchesAnyTag } from './tag-pattern.ts';

export type { ImmutableTagRule } from '../metadata/immutable-tags.ts';

/** A rule as the API lists it: from the config file or the API, and whether it is in effect. */
export type ListedRule = Listed<ImmutableTagRule>;

/** The rules of one repository, as a write's transaction read them. */
export interface TagGuard {
  /** The rule that makes `tag` immutable, if one does. */
  protecting(tag: string): ImmutableTagRule | undefined;
}

export class ImmutableTags {
  private readonly db: Database;
  private readonly events: DomainEvents;
  private readonly configured: ConfiguredRules<ImmutableTagRule>;

  constructor(db: Database, events: DomainEvents, configured: readonly ImmutableTagRule[]) {
    this.db = db;
    this.events = events;
    this.configured = new ConfiguredRules(configured, { noun: 'immutable-tag rule', key: 'immutable_tags' });
  }

  /** The config's rules, then the stored ones, each in prefix order. */
  async list(): Promise<ListedRule[]> {
    return this.configured.listed(await listImmutableTagRules(this.db));
  }

  /** The rules in effect now, for a planner that reads every repository's at once (retention). */
  async effective(): Promise<ImmutableTagRule[]> {
    return this.configured.effective(await listImmutableTagRules(this.db));
  }

  /** Sets the prefix's rule; DENIED for a prefix the config file rules. */
  async put(rule: ImmutableTagRule, actor: Actor): Promise<Result<void>> {
    if (this.configured.get(rule.prefix)) return fail(this.configured.readOnly(rule.prefix));
    await this.change(async (tx) => {
      const previous = await putImmutableTagRule(tx, rule);
      return { type: 'immutable-tags', prefix: rule.prefix, tags: rule.tags, previous, actor };
    });
    return ok(undefined);
  }

  /**
   * Removes the prefix's stored rule: NAME_UNKNOWN when there is none, DENIED when only the config
   * file has one.
   */
  async remove(prefix: string, actor: Actor): Promise<Result<void>> {
    // No stored rule holds what PostgreSQL cannot store (a NUL, a lone surrogate): not asked.
    const removed =
      isStorableText(prefix) &&
      (await this.change(async (tx) => {
        const previous = await deleteImmutableTagRule(tx, prefix);
        return previous && { type: 'immutable-tags', prefix, tags: null, previous, actor };
      }));
    return removed ? ok(undefined) : fail(this.configured.absent(prefix));
  }

  /**
   * The rules of `repository` in the transaction `tx` of a write (or a removal, such as retention's)
   * that must obey them; they hold until it ends.
   */
  async guard(tx: Queryable, repository: string): Promise<TagGuard> {
    await lockImmutableTagRules(tx, 'shared');
    return this.rulesOf(repository, tx);
  }

  /**
   * The rules of `repository` as they stand, for a reader that obeys nothing (a listing saying
   * which tags are immutable): no lock, so a change committing meanwhile may not be seen.
   */
  async rulesOf(repository: string, q: Queryable = this.db): Promise<TagGuard> {
    const stored = await immutableTagRulesOf(q, repository);
    const rules = this.configured.effective(stored);
    const rule = ruleFor(rules, repository);
    return {
      protecting: (tag) => (rule && matchesAnyTag(rule.tags, tag) ? rule : undefined),
    };
  }

  /** Runs a change alone (see the top of this file) with its event; whether it changed anything. */
  private async change(work: (tx: Queryable) => Promise<RuleEvent | null>): Promise<boolean> {
    const event = await this.events.change(this.db, async (tx) => {
      await lockImmutableTagRules(tx, 'exclusive');
      return work(tx);
    });
    return event !== null;
  }
}

/**
 * A move or delete of an immutable tag, or a delete of a manifest (or blob) one reaches (`deleted`, when the
 * tag names it through `digest`, an index listing it). Docker prints the message as it is.
 */
export function immutableTagDenied(
  repository: string,
  tag: string,
  digest: string,
  prefix: string,
  deleted?: string,
): OciError {
  return ociError('DENIED', {
    message: `tag ${tag} is immutable`,
    detail: {
      name: repository,
      tag,
      digest,
      rule: prefix,
      ...(deleted && deleted !== digest ? { listed: deleted } : {}),
    },
  });
}
