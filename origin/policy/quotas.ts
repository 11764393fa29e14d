// Storage quotas: per repository-name prefix, a limit on the bytes the prefix's repositories
// occupy. Rules come from the config file (quotas: read-only through the API, for GitOps) and from
// the admin API (stored); a config rule hides a stored one of the same prefix. Unlike the
// immutable-tag rules, every rule whose prefix covers a repository applies, not the longest alone:
// an organisation's quota and a team's can both hold.
//
// What a prefix uses: the bytes of the distinct blobs (configs, layers, an artifact's blobs) that
// its repositories' manifests reference, each once however many manifests or repositories of the
// prefix reference it, plus the manifests' own bytes (each stored once per repository). A blob
// under two prefixes counts in each.
//
// The usage is kept, not computed per push: every manifest row stored or deleted (a push, a
// DELETE, `gc --untagged`, retention) charges or releases its bytes in its own transaction
// (metadata/quotas.ts, whose locks make two pushes under one prefix charge one after the other).
// A push that adds bytes past a limit is refused, rolled back with its charge; its blobs, already
// uploaded, are left to GC. A push that adds nothing (the same manifest again, a tag moved to a
// stored manifest) is never refused, even over a limit lowered below the usage.
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import { isStorableText } from '../../shared/storable-text.ts';
import type { Database, Queryable } from '../metadata/database.ts';
import {
  chargeManifest,
  countedUsage,
  deleteQuotaRule,
  listQuotaRules,
  lockQuotaCounting,
  putQuotaRule,
  type QuotaRule,
  repositoryUsage,
  startCounting,
  stopCounting,
  stopCountingExcept,
} from '../metadata/quotas.ts';
import type { Actor, DomainEvents, RuleEvent } from '../registry/events.ts';
import { ConfiguredRules, type Listed } from './configured-rules.ts';

export type { QuotaRule } from '../metadata/quotas.ts';

/** A rule as the API lists it: from the config file or the API, and whether it is in effect. */
export type ListedQuota = Listed<QuotaRule>;

export interface QuotaUsage extends ListedQuota {
  /** Bytes used under the prefix now. */
  readonly used: number;
  /** Per repository, counted on request (a blob two of them share counts in each). */
  readonly repositories?: readonly { readonly name: string; readonly used: number }[];
}

export class Quotas {
  private readonly db: Database;
  private readonly events: DomainEvents;
  private readonly configured: ConfiguredRules<QuotaRule>;

  constructor(db: Database, events: DomainEvents, configured: readonly QuotaRule[]) {
    this.db = db;
    this.events = events;
    this.configured = new ConfiguredRules(configured, { noun: 'quota', key: 'quotas' });
  }

  /**
   * At `serve`'s start: counts the config file's prefixes not counted yet (one scan each), and stops
   * counting the prefixes no rule names any more (a config rule removed).
   */
  async start(): Promise<{ started: string[]; stopped: string[] }> {
    return this.db.transaction(async (tx) => {
      await lockQuotaCounting(tx, 'exclusive');
      const stored = await listQuotaRules(tx);
      const started: string[] = [];
      for (const prefix of this.configured.prefixes())
        if (await startCounting(tx, prefix)) started.push(prefix);
      const kept = [...this.configured.prefixes(), ...stored.map((r) => r.prefix)];
      return { started, stopped: await stopCountingExcept(tx, kept) };
    });
  }

  /** The config's rules, then the stored ones, each in prefix order. */
  async list(): Promise<ListedQuota[]> {
    return this.configured.listed(await listQuotaRules(this.db));
  }

  /** The rules in effect with their usage; `repositories`: each repository's bytes too (a scan). */
  async usage(repositories = false): Promise<QuotaUsage[]> {
    const [rules, used] = await Promise.all([this.list(), countedUsage(this.db)]);
    const result: QuotaUsage[] = [];
    for (const rule of rules.filter((r) => r.inEffect)) {
      const entry = { ...rule, used: used.get(rule.prefix) ?? 0 };
      result.push(
        repositories ? { ...entry, repositories: await repositoryUsage(this.db, rule.prefix) } : entry,
      );
    }
    return result;
  }

  /**
   * Sets the prefix's limit: DENIED for a prefix the config file rules. A prefix not counted yet is
   * counted first, by one scan of its manifests, in the same transaction.
   */
  async put(rule: QuotaRule, actor: Actor): Promise<Result<void>> {
    if (this.configured.get(rule.prefix)) return fail(this.configured.readOnly(rule.prefix));
    await this.change(async (tx) => {
      const previous = await putQuotaRule(tx, rule);
      await startCounting(tx, rule.prefix);
      return { type: 'quota', prefix: rule.prefix, limit: rule.limit, previous, actor };
    });
    return ok(undefined);
  }

  /**
   * Removes the prefix's stored rule (and stops counting the prefix unless the config file has a
   * rule of it): NAME_UNKNOWN when there is none, DENIED when only the config file has one.
   */
  async remove(prefix: string, actor: Actor): Promise<Result<void>> {
    // No stored rule holds what PostgreSQL cannot store (a NUL, a lone surrogate): not asked.
    const removed =
      isStorableText(prefix) &&
      (await this.change(async (tx) => {
        const previous = await deleteQuotaRule(tx, prefix);
        if (previous === null) return null;
        if (!this.configured.get(prefix)) await stopCounting(tx, prefix);
        return { type: 'quota', prefix, limit: null, previous, actor };
      }));
    if (removed) return ok(undefined);
    return fail(this.configured.absent(prefix));
  }

  /**
   * In a push's transaction, once its manifest row is stored new (and its tag claimed: these locks
   * come last): charges the manifest to every counted prefix covering the repository, and answers
   * the refusal when one of them would go over its limit; the caller then rolls back.
   */
  async charge(
    tx: Queryable,
    repositoryId: number,
    digest: string,
    manifestSize: number,
  ): Promise<OciError | null> {
    const charges = await chargeManifest(tx, repositoryId, digest, manifestSize);
    const over = charges
      .map((c) => ({ ...c, limit: this.configured.get(c.prefix)?.limit ?? c.storedLimit }))
      .filter((c) => c.limit !== null && c.used > c.limit);
    if (over.length === 0) return null;
    // The most specific prefix over its limit is named; the others are in the detail.
    const named = over[over.length - 1] as (typeof over)[number];
    return quotaExceeded(named.prefix, named.used - named.added, named.limit as number, named.added, over);
  }

  /** Runs a change alone, against every write that counts, with its event; whether it changed anything. */
  private async change(work: (tx: Queryable) => Promise<RuleEvent | null>): Promise<boolean> {
    const event = await this.events.change(this.db, async (tx) => {
      await lockQuotaCounting(tx, 'exclusive');
      return work(tx);
    });
    return event !== null;
  }
}

/**
 * A push refused for its quota; docker prints the message as it is. It gives the usage before the
 * push (rounded down: never more than is used) and the limit, in decimal units.
 */
export function quotaExceeded(
  prefix: string,
  used: number,
  limit: number,
  adding: number,
  over: readonly { prefix: string; used: number; added: number; limit: number | null }[],
): OciError {
  return ociError('DENIED', {
    message: `quota exceeded: ${formatSize(used, Math.floor)} of ${formatSize(limit, Math.round)} used by ${prefix}`,
    detail: {
      prefix,
      used,
      limit,
      push_bytes: adding,
      ...(over.length > 1
        ? { exceeded: over.map((o) => ({ prefix: o.prefix, used: o.used - o.added, limit: o.limit })) }
        : {}),
    },
  });
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] as const;

/** "9.8 GB", "10 GB", "812 B": decimal units, one decimal place at most, rounded as told. */
export function formatSize(bytes: number, round: (n: number) => number): string {
  // In tenths of the unit, from integers (9.8 GB is 98 tenths, not 97.99…).
  const tenths = (unit: number) => round((bytes * 10) / 1000 ** unit);
  let unit = 0;
  // 999.96 kB rounded is 1000 kB: a unit up reads better.
  while (unit < UNITS.length - 1 && tenths(unit) >= 10_000) unit += 1;
  return unit === 0 ? `${bytes} B` : `${tenths(unit) / 10} ${UNITS[unit]}`;
}
