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
//      With keep_pulled_within, a manifest pulled within D (by digest: Kubernetes pins
//      image@sha256:…, and an old digest is still pulled after its tag moved) stays, as a kept tag
//      would, with all it reaches.
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
  /** Its last pull when planned: apply keeps it if pulled since. */
  readonly pulledAt: number | null;
  /** The rule's keep_pulled_within, re-checked at apply. */
  readonly keepPulledWithinMs: number | null;
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

/** Rows grouped by repository: each repository's manifests are planned on their own. */
function byRepository<T extends { readonly repositoryId: number }>(
  rows: readonly T[],
  keep: (id: number) => boolean,
) {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    if (!keep(row.repositoryId)) continue;
    const list = groups.get(row.repositoryId);
    if (list) list.push(row);
    else groups.set(row.repositoryId, [row]);
  }
  return groups;
}

function planManifests(
  input: PlanInput,
  ruled: Map<number, { name: string; rule: RetentionRule }>,
  tagsByRepository: Map<number, TagRow[]>,
  plannedTags: readonly PlannedTag[],
): PlannedManifest[] {
  const applies = (repositoryId: number) => ruled.get(repositoryId)?.rule.untaggedOlderThanMs != null;
  const manifests = byRepository(input.manifests, applies);
  const edges = byRepository(input.edges, applies);
  const going = byRepository(plannedTags, applies);
  const repositories = [...manifests.keys()].sort((a, b) =>
    compare(ruled.get(a)?.name ?? '', ruled.get(b)?.name ?? ''),
  );
  const planned: PlannedManifest[] = [];
  for (const id of repositories) {
    const { name, rule } = ruled.get(id) as { name: string; rule: RetentionRule };
    planRepository(planned, input.now, id, name, rule, {
      manifests: manifests.get(id) ?? [],
      edges: edges.get(id) ?? [],
      tags: tagsByRepository.get(id) ?? [],
      going: going.get(id) ?? [],
    });
  }
  return planned;
}

/** Step 4 for one repository (its rule has untagged_older_than): appends what goes, in order. */
function planRepository(
  out: PlannedManifest[],
  now: number,
  repositoryId: number,
  repository: string,
  rule: RetentionRule,
  rows: { manifests: ManifestRow[]; edges: IndexEdge[]; tags: TagRow[]; going: PlannedTag[] },
): void {
  const limit = rule.untaggedOlderThanMs as number;
  const goingTags = new Set(rows.going.map((t) => t.tag));
  const formerTags = new Map<string, string[]>();
  for (const t of rows.going) formerTags.set(t.digest, [...(formerTags.get(t.digest) ?? []), t.tag]);
  const manifests = new Map<string, ManifestRow>();
  const referrers = new Map<string, string[]>();
  for (const m of rows.manifests) {
    manifests.set(m.digest, m);
    if (m.subjectDigest !== null)
      referrers.set(m.subjectDigest, [...(referrers.get(m.subjectDigest) ?? []), m.digest]);
  }
  const children = new Map<string, string[]>();
  const parents = new Map<string, string[]>();
  for (const e of rows.edges) {
    children.set(e.parent, [...(children.get(e.parent) ?? []), e.child]);
    parents.set(e.child, [...(parents.get(e.child) ?? []), e.parent]);
  }

  // Kept: what the tags that stay name, and all that reaches or is reached from it (index
  // children, referrers, subjects).
  const kept = new Set<string>();
  const queue: string[] = [];
  const keep = (digest: string) => {
    if (kept.has(digest)) return;
    kept.add(digest);
    queue.push(digest);
  };
  for (const t of rows.tags) if (!goingTags.has(t.name)) keep(t.digest);
  const window = rule.keepPulledWithinMs;
  if (window !== null)
    for (const m of rows.manifests) if (m.pulledAt !== null && now - m.pulledAt <= window) keep(m.digest);
  for (let digest = queue.pop(); digest !== undefined; digest = queue.pop()) {
    for (const c of children.get(digest) ?? []) keep(c);
    for (const r of referrers.get(digest) ?? []) keep(r);
    const subject = manifests.get(digest)?.subjectDigest;
    if (subject) keep(subject);
  }

  // Old enough and not kept; then, until nothing changes, drop what an index that stays lists and
  // the referrers whose subject stays.
  const going = new Set<string>();
  for (const m of rows.manifests) if (!kept.has(m.digest) && now - m.storedAt > limit) going.add(m.digest);
  for (let changed = true; changed; ) {
    changed = false;
    for (const digest of going) {
      const m = manifests.get(digest) as ManifestRow;
      const listedByStaying = (parents.get(digest) ?? []).some((p) => !going.has(p));
      const subjectStays =
        m.subjectDigest !== null && manifests.has(m.subjectDigest) && !going.has(m.subjectDigest);
      if (listedByStaying || subjectStays) {
        going.delete(digest);
        changed = true;
      }
    }
  }

  // Removal order: an index before its children, a subject before its referrers.
  const placed = new Set<string>();
  const start = out.length;
  const place = (digest: string) => {
    if (placed.has(digest)) return;
    placed.add(digest);
    const m = manifests.get(digest) as ManifestRow;
    for (const p of parents.get(digest) ?? []) if (going.has(p)) place(p);
    if (m.subjectDigest !== null && going.has(m.subjectDigest)) place(m.subjectDigest);
    const former = formerTags.get(digest);
    const untagged = former
      ? `untagged once ${former.join(', ')} go${former.length === 1 ? 'es' : ''}`
      : 'untagged';
    out.push({
      repositoryId,
      repository,
      digest,
      pulledAt: m.pulledAt,
      keepPulledWithinMs: window,
      rule: rule.prefix,
      reason: `${untagged}, stored ${age(now - m.storedAt)} ago, older than ${spoken(limit)}`,
    });
  };
  for (const digest of [...going].sort(compare)) place(digest);
  // The referrers of what goes go with it (whatever their age), unless something kept reaches
  // them or an index that stays lists them.
  for (let i = start; i < out.length; i += 1) {
    const subject = (out[i] as PlannedManifest).digest;
    for (const r of referrers.get(subject) ?? []) {
      if (placed.has(r) || kept.has(r)) continue;
      if ((parents.get(r) ?? []).some((p) => !placed.has(p))) continue;
      placed.add(r);
      out.push({
        repositoryId,
        repository,
        digest: r,
        pulledAt: manifests.get(r)?.pulledAt ?? null,
        keepPulledWithinMs: window,
        rule: rule.prefix,
        reason: `referrer of ${subject}, which goes`,
      });
    }
  }
}
