// The retention planner: a pure function from the rows of the repositories under rules (loaded by
// a few set-based queries, metadata/retention.ts) to the plan — every tag and manifest that would
// go, each with its rule and a reason a person can check. Apply removes exactly the plan's items.
//
// How a rule's clauses combine, per repository (the rule with the longest prefix of its name):
//   1. In consideration: the tags matching only_tags (every tag when it is empty), except those
//      matching keep_tags, tags an immutable-tag rule protects, and tags naming a referrer (a
//      signature or SBOM goes with its subject, never by its own tag's age).
//   2. The removal clauses: remove_older_than (pushed more than D ago) and keep_last (not among the
//      N most recently pushed tags in consideration). A tag in consideration goes when every
//      removal clause the rule has holds: with both, only old tags beyond the newest N go; with
//      keep_last alone, every tag beyond the newest N; with remove_older_than alone, every old one.
//   3. keep_pulled_within keeps a tag that would go but was pulled within D (the later of the
//      tag's and its manifest's last pull).
//   4. untagged_older_than: a manifest goes when, once the tags of step 2 are gone, no tag names it,
//      it was stored more than D ago, and nothing kept reaches it: not a kept tag through index
//      children or subjects, not an index that stays (no dangling index), and, for a referrer, its
//      subject goes too (never before it). The referrers of a manifest that goes go with it.
//      Without this clause, a manifest whose tags go stays, untagged, for `gc --untagged`.
import { ruleFor } from '../../shared/policy.ts';
import type { ImmutableTagRule } from '../metadata/immutable-tags.ts';
import type { IndexEdge, ManifestRow, RepositoryRow, TagRow } from '../metadata/retention.ts';
import { matchesAnyTag } from '../policy/tag-pattern.ts';
import type { RetentionRule } from './rule.ts';

export interface PlanInput {
  readonly now: number;
  readonly rules: readonly RetentionRule[];
  readonly immutable: readonly ImmutableTagRule[];
  readonly repositories: readonly RepositoryRow[];
  readonly tags: readonly TagRow[];
  readonly manifests: readonly ManifestRow[];
  readonly edges: readonly IndexEdge[];
}

export interface PlannedTag {
  readonly repositoryId: number;
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  readonly pushedAt: number;
  readonly pulledAt: number | null;
  /** The prefix of the rule that removes it. */
  readonly rule: string;
  readonly reason: string;
}

export interface PlannedManifest {
  readonly repositoryId: number;
  readonly repository: string;
  readonly digest: string;
  readonly rule: string;
  readonly reason: string;
}

export interface Plan {
  readonly tags: PlannedTag[];
  /** In removal order: an index before what it lists, a subject before its referrers. */
  readonly manifests: PlannedManifest[];
  /** Repositories under a rule, and their tags, evaluated. */
  readonly evaluated: { readonly repositories: number; readonly tags: number };
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** A threshold as the reasons write it: "30 d", "12 h", "90 min", "45 s". */
export function spoken(ms: number): string {
  if (ms >= DAY && ms % DAY === 0) return `${ms / DAY} d`;
  if (ms >= HOUR && ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms >= MINUTE && ms % MINUTE === 0) return `${ms / MINUTE} min`;
  return `${Math.round(ms / 1000)} s`;
}

/** An age, rounded down to its largest unit: "41 d", "5 h", "12 min". */
export function age(ms: number): string {
  if (ms >= DAY) return `${Math.floor(ms / DAY)} d`;
  if (ms >= HOUR) return `${Math.floor(ms / HOUR)} h`;
  if (ms >= MINUTE) return `${Math.floor(ms / MINUTE)} min`;
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

const key = (repositoryId: number, digest: string) => `${repositoryId} ${digest}`;

export function planRetention(input: PlanInput): Plan {
  const { now } = input;
  const ruled = new Map<
    number,
    { name: string; rule: RetentionRule; immutable: ImmutableTagRule | undefined }
  >();
  for (const repository of input.repositories) {
    const rule = ruleFor(input.rules, repository.name);
    if (rule)
      ruled.set(repository.id, {
        name: repository.name,
        rule,
        immutable: ruleFor(input.immutable, repository.name),
      });
  }

  const tagsByRepository = new Map<number, TagRow[]>();
  for (const tag of input.tags) {
    if (!ruled.has(tag.repositoryId)) continue;
    const list = tagsByRepository.get(tag.repositoryId);
    if (list) list.push(tag);
    else tagsByRepository.set(tag.repositoryId, [tag]);
  }

  const plannedTags: PlannedTag[] = [];
  let evaluatedTags = 0;
  for (const [repositoryId, tags] of tagsByRepository) {
    const { name, rule, immutable } = ruled.get(repositoryId) as {
      name: string;
      rule: RetentionRule;
      immutable: ImmutableTagRule | undefined;
    };
    evaluatedTags += tags.length;
    if (rule.keepLast === null && rule.removeOlderThanMs === null) continue;
    const considered = tags
      .filter(
        (t) =>
          !t.referrer &&
          (rule.onlyTags.length === 0 || matchesAnyTag(rule.onlyTags, t.name)) &&
          !matchesAnyTag(rule.keepTags, t.name) &&
          !(immutable && matchesAnyTag(immutable.tags, t.name)),
      )
      // Newest first; equal push times by name, so that the order never depends on the query's.
      .sort((a, b) => b.pushedAt - a.pushedAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const [rank, tag] of considered.entries()) {
      const why: string[] = [];
      const pushedAgo = now - tag.pushedAt;
      if (rule.removeOlderThanMs !== null) {
        if (pushedAgo <= rule.removeOlderThanMs) continue;
        why.push(`pushed ${age(pushedAgo)} ago, older than ${spoken(rule.removeOlderThanMs)}`);
      }
      if (rule.keepLast !== null) {
        if (rank < rule.keepLast) continue;
        why.push(`not among the ${rule.keepLast} newest`);
      }
      if (rule.keepPulledWithinMs !== null) {
        if (tag.pulledAt !== null && now - tag.pulledAt <= rule.keepPulledWithinMs) continue;
        why.push(
          tag.pulledAt === null
            ? `never pulled`
            : `last pulled ${age(now - tag.pulledAt)} ago, not within ${spoken(rule.keepPulledWithinMs)}`,
        );
      }
      plannedTags.push({
        repositoryId,
        repository: name,
        tag: tag.name,
        digest: tag.digest,
        pushedAt: tag.pushedAt,
        pulledAt: tag.pulledAt,
        rule: rule.prefix,
        reason: `${tag.name}: ${why.join('; ')}`,
      });
    }
  }
  plannedTags.sort((a, b) => compare(a.repository, b.repository) || compare(a.tag, b.tag));

  return {
    tags: plannedTags,
    manifests: planManifests(input, ruled, tagsByRepository, plannedTags),
    evaluated: { repositories: ruled.size, tags: evaluatedTags },
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function planManifests(
  input: PlanInput,
  ruled: Map<number, { name: string; rule: RetentionRule }>,
  tagsByRepository: Map<number, TagRow[]>,
  plannedTags: readonly PlannedTag[],
): PlannedManifest[] {
  const { now } = input;
  const applies = (repositoryId: number) => ruled.get(repositoryId)?.rule.untaggedOlderThanMs != null;
  const goingTags = new Set(plannedTags.map((t) => `${t.repositoryId} ${t.tag}`));
  const formerTags = new Map<string, string[]>();
  for (const t of plannedTags) {
    const k = key(t.repositoryId, t.digest);
    formerTags.set(k, [...(formerTags.get(k) ?? []), t.tag]);
  }

  const manifests = new Map<string, ManifestRow>();
  const referrers = new Map<string, string[]>();
  for (const m of input.manifests) {
    if (!applies(m.repositoryId)) continue;
    manifests.set(key(m.repositoryId, m.digest), m);
    if (m.subjectDigest !== null) {
      const s = key(m.repositoryId, m.subjectDigest);
      referrers.set(s, [...(referrers.get(s) ?? []), m.digest]);
    }
  }
  if (manifests.size === 0) return [];
  const children = new Map<string, string[]>();
  const parents = new Map<string, string[]>();
  for (const e of input.edges) {
    if (!applies(e.repositoryId)) continue;
    const p = key(e.repositoryId, e.parent);
    const c = key(e.repositoryId, e.child);
    children.set(p, [...(children.get(p) ?? []), e.child]);
    parents.set(c, [...(parents.get(c) ?? []), e.parent]);
  }

  // Kept: what the tags that stay name, and all that reaches or is reached from it (index
  // children, referrers, subjects), in each repository under the clause.
  const kept = new Set<string>();
  const queue: [number, string][] = [];
  const keep = (repositoryId: number, digest: string) => {
    const k = key(repositoryId, digest);
    if (kept.has(k)) return;
    kept.add(k);
    queue.push([repositoryId, digest]);
  };
  for (const [repositoryId, tags] of tagsByRepository) {
    if (!applies(repositoryId)) continue;
    for (const t of tags) if (!goingTags.has(`${repositoryId} ${t.name}`)) keep(repositoryId, t.digest);
  }
  while (queue.length > 0) {
    const [repositoryId, digest] = queue.pop() as [number, string];
    const k = key(repositoryId, digest);
    for (const c of children.get(k) ?? []) keep(repositoryId, c);
    for (const r of referrers.get(k) ?? []) keep(repositoryId, r);
    const subject = manifests.get(k)?.subjectDigest;
    if (subject) keep(repositoryId, subject);
  }

  // Old enough and not kept; then, until nothing changes, drop what an index that stays lists and
  // the referrers whose subject stays.
  const going = new Set<string>();
  for (const [k, m] of manifests) {
    const limit = ruled.get(m.repositoryId)?.rule.untaggedOlderThanMs as number;
    if (!kept.has(k) && now - m.storedAt > limit) going.add(k);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const k of going) {
      const m = manifests.get(k) as ManifestRow;
      const listedByStaying = (parents.get(k) ?? []).some((p) => !going.has(key(m.repositoryId, p)));
      const subjectStays =
        m.subjectDigest !== null &&
        manifests.has(key(m.repositoryId, m.subjectDigest)) &&
        !going.has(key(m.repositoryId, m.subjectDigest));
      if (listedByStaying || subjectStays) {
        going.delete(k);
        changed = true;
      }
    }
  }

  // Removal order, with the referrers that go with their subject (whatever their age) added: an
  // index before its children, a subject before its referrers.
  const ordered: PlannedManifest[] = [];
  const placed = new Set<string>();
  const reasons = new Map<string, string>();
  for (const k of going) {
    const m = manifests.get(k) as ManifestRow;
    const limit = ruled.get(m.repositoryId)?.rule.untaggedOlderThanMs as number;
    const former = formerTags.get(k);
    const untagged = former
      ? `untagged once ${former.join(', ')} go${former.length === 1 ? 'es' : ''}`
      : 'untagged';
    reasons.set(k, `${untagged}, stored ${age(now - m.storedAt)} ago, older than ${spoken(limit)}`);
  }
  const place = (k: string) => {
    if (placed.has(k)) return;
    placed.add(k);
    const m = manifests.get(k) as ManifestRow;
    const { name, rule } = ruled.get(m.repositoryId) as { name: string; rule: RetentionRule };
    // Parents that go first.
    for (const p of parents.get(k) ?? [])
      if (going.has(key(m.repositoryId, p))) place(key(m.repositoryId, p));
    if (m.subjectDigest !== null && going.has(key(m.repositoryId, m.subjectDigest)))
      place(key(m.repositoryId, m.subjectDigest));
    ordered.push({
      repositoryId: m.repositoryId,
      repository: name,
      digest: m.digest,
      rule: rule.prefix,
      reason: reasons.get(k) as string,
    });
  };
  const sorted = [...going].sort((a, b) => {
    const ma = manifests.get(a) as ManifestRow;
    const mb = manifests.get(b) as ManifestRow;
    return (
      compare(ruled.get(ma.repositoryId)?.name ?? '', ruled.get(mb.repositoryId)?.name ?? '') ||
      compare(ma.digest, mb.digest)
    );
  });
  for (const k of sorted) place(k);
  // Referrers of what goes go with it, unless something kept reaches them (or an index that stays
  // lists them).
  for (let i = 0; i < ordered.length; i += 1) {
    const m = ordered[i] as PlannedManifest;
    const subject = key(m.repositoryId, m.digest);
    for (const r of referrers.get(subject) ?? []) {
      const k = key(m.repositoryId, r);
      if (placed.has(k) || kept.has(k)) continue;
      if ((parents.get(k) ?? []).some((p) => !placed.has(key(m.repositoryId, p)))) continue;
      placed.add(k);
      ordered.push({
        repositoryId: m.repositoryId,
        repository: m.repository,
        digest: r,
        rule: m.rule,
        reason: `referrer of ${m.digest}, which goes`,
      });
    }
  }
  return ordered;
}
