// Retention rules and runs. Rules come from the config file (retention: read-only through the API,
// for GitOps) and from /admin/retention (stored); a config rule hides a stored one of the same
// prefix, and the longest prefix of a repository's name applies, alone. Each change is recorded
// with its RuleEvent (the audit trail keeps it) in its transaction.
//
// A run plans (plan.ts) over rows read by a few set-based queries, then, when applying, removes
// exactly the plan's items through the domain (registry/manifests.ts), tags first, then manifests
// in the plan's order. Each removal re-checks its item under locks and skips it if it changed;
// each records a `delete` event naming the rule, so webhooks and audit entries follow.
import type { Clock } from '../../shared/clock.ts';
import { fail, ok, type Result } from '../../shared/errors.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import type { Database } from '../metadata/database.ts';
import {
  blobsOnlyReferencedBy,
  deleteRetentionRule,
  indexEdgesOf,
  listRetentionRules,
  manifestsOf,
  putRetentionRule,
  repositoriesUnder,
  tagsOf,
} from '../metadata/retention.ts';
import { ConfiguredRules, type Listed } from '../policy/configured-rules.ts';
import type { ImmutableTags } from '../policy/immutable-tags.ts';
import { type Actor, type DomainEvents, systemActor } from '../registry/events.ts';
import type { Manifests, RemovalOutcome } from '../registry/manifests.ts';
import { type Plan, type PlannedManifest, type PlannedTag, planRetention } from './plan.ts';
import { type RetentionRule, ruleJson } from './rule.ts';

export type { RetentionRule } from './rule.ts';

/** A rule as the API lists it: from the config file or the API, and whether it is in effect. */
export type ListedRetentionRule = Listed<RetentionRule>;

export type RetentionMode = 'dry-run' | 'apply';

export interface RetentionReport {
  readonly mode: RetentionMode;
  /** Only repositories whose name starts with this were evaluated ('' = all). */
  readonly prefix: string;
  readonly plan: Plan;
  /** Blobs that only the plan's manifests reference: what GC reclaims once they are gone. */
  readonly reclaimable: { readonly blobs: number; readonly bytes: number };
  /** Apply: the plan's items that changed since planning (or were taken meanwhile), left alone. */
  readonly skipped: {
    readonly tags: (PlannedTag & { readonly outcome: RemovalOutcome })[];
    readonly manifests: (PlannedManifest & { readonly outcome: RemovalOutcome })[];
  };
  readonly durationMs: number;
}

const RETENTION = systemActor('retention');

export class Retention {
  private readonly db: Database;
  private readonly events: DomainEvents;
  private readonly clock: Clock;
  private readonly manifests: Manifests;
  private readonly immutableTags: ImmutableTags;
  private readonly configured: ConfiguredRules<RetentionRule>;

  constructor(parts: {
    db: Database;
    events: DomainEvents;
    clock: Clock;
    manifests: Manifests;
    immutableTags: ImmutableTags;
    configured: readonly RetentionRule[];
  }) {
    this.db = parts.db;
    this.events = parts.events;
    this.clock = parts.clock;
    this.manifests = parts.manifests;
    this.immutableTags = parts.immutableTags;
    this.configured = new ConfiguredRules(parts.configured, { noun: 'retention rule', key: 'retention' });
  }

  /** The config's rules, then the stored ones, each in prefix order. */
  async list(): Promise<ListedRetentionRule[]> {
    return this.configured.listed(await listRetentionRules(this.db));
  }

  /** Sets the prefix's rule; DENIED for a prefix the config file rules. */
  async put(rule: RetentionRule, actor: Actor): Promise<Result<void>> {
    if (this.configured.get(rule.prefix)) return fail(this.configured.readOnly(rule.prefix));
    await this.events.change(this.db, async (tx) => {
      const previous = await putRetentionRule(tx, rule);
      const { prefix } = rule;
      return {
        type: 'retention' as const,
        prefix,
        rule: ruleJson(rule),
        previous: previous && ruleJson(previous),
        actor,
      };
    });
    return ok(undefined);
  }

  /** Removes the prefix's stored rule: NAME_UNKNOWN when there is none, DENIED when only the config has one. */
  async remove(prefix: string, actor: Actor): Promise<Result<void>> {
    const event =
      isStorableText(prefix) &&
      (await this.events.change(this.db, async (tx) => {
        const previous = await deleteRetentionRule(tx, prefix);
        return (
          previous && { type: 'retention' as const, prefix, rule: null, previous: ruleJson(previous), actor }
        );
      }));
    if (event) return ok(undefined);
    return fail(this.configured.absent(prefix));
  }

  /** The rules in effect: the config's, and the stored ones it does not hide. */
  private async effective(): Promise<RetentionRule[]> {
    return this.configured.effective(await listRetentionRules(this.db));
  }

  /** Plans over the repositories under `prefix` ('' = all). */
  async plan(prefix = ''): Promise<{ plan: Plan; reclaimable: RetentionReport['reclaimable'] }> {
    const rules = await this.effective();
    const repositories = rules.length === 0 ? [] : await repositoriesUnder(this.db, prefix);
    const ids = repositories.map((r) => r.id);
    const [immutable, tags, manifests, edges] = await Promise.all([
      this.immutableTags.effective(),
      tagsOf(this.db, ids),
      manifestsOf(this.db, ids),
      indexEdgesOf(this.db, ids),
    ]);
    const plan = planRetention({
      now: this.clock.now(),
      rules,
      immutable,
      repositories,
      tags,
      manifests,
      edges,
    });
    const reclaimable = await blobsOnlyReferencedBy(this.db, plan.manifests);
    return { plan, reclaimable: { blobs: reclaimable.count, bytes: reclaimable.bytes } };
  }

  /**
   * Plans, and with `apply` removes exactly the plan's items (skipping those that changed). The
   * removals are `actor`'s: the administrator or command line that started the run, or, by
   * default, the schedule's system actor `retention`.
   */
  async run(
    mode: RetentionMode,
    prefix = '',
    options: { signal?: AbortSignal; actor?: Actor } = {},
  ): Promise<RetentionReport> {
    const started = performance.now();
    const { plan, reclaimable } = await this.plan(prefix);
    const skipped =
      mode === 'apply'
        ? await this.apply(plan, options.actor ?? RETENTION, options.signal)
        : { tags: [], manifests: [] };
    return { mode, prefix, plan, reclaimable, skipped, durationMs: Math.round(performance.now() - started) };
  }

  /**
   * Removes the plan's items through the domain, tags first, then manifests in the plan's order;
   * returns those skipped: changed since planned, or removed meanwhile.
   */
  async apply(
    plan: Plan,
    actor: Actor = RETENTION,
    signal?: AbortSignal,
  ): Promise<RetentionReport['skipped']> {
    const skipped: {
      tags: RetentionReport['skipped']['tags'];
      manifests: RetentionReport['skipped']['manifests'];
    } = {
      tags: [],
      manifests: [],
    };
    for (const t of plan.tags) {
      if (signal?.aborted) break;
      const reason = reasonOf(t.rule, t.reason);
      const outcome = await this.manifests.removeTagForRetention(t.repository, t.tag, t, reason, actor);
      if (outcome !== 'removed') skipped.tags.push({ ...t, outcome });
    }
    for (const m of plan.manifests) {
      if (signal?.aborted) break;
      const outcome = await this.manifests.removeForRetention(
        { repositoryId: m.repositoryId, repository: m.repository, digest: m.digest, size: 0 },
        m,
        reasonOf(m.rule, m.reason),
        actor,
      );
      if (outcome !== 'removed') skipped.manifests.push({ ...m, outcome });
    }
    return skipped;
  }
}

/** The `delete` event's reason: the rule, then why. */
const reasonOf = (rule: string, reason: string) => `retention rule "${rule}": ${reason}`;
