// The retention planner as a pure function: the cases of reachability a registry fixture would
// take long to build — an index that stays keeps what it lists, a referrer never goes before its
// subject, the removal order, a tag naming a referrer never considered — on rows written here.
import { describe, expect, test } from 'vitest';
import type { IndexEdge, ManifestRow, TagRow } from '../../origin/metadata/retention.ts';
import { planRetention } from '../../origin/retention/plan.ts';
import { retentionRuleInput } from '../../origin/retention/rule.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 31);
const rule = retentionRuleInput.parse({ prefix: 'r/', keep_last: 1, untagged_older_than: '2d' });

const manifest = (digest: string, daysAgo: number, subjectDigest: string | null = null): ManifestRow => ({
  repositoryId: 1,
  digest,
  storedAt: NOW - daysAgo * DAY,
  subjectDigest,
  pulledAt: null,
});
const tag = (name: string, digest: string, daysAgo: number, referrer = false): TagRow => ({
  repositoryId: 1,
  name,
  digest,
  pushedAt: NOW - daysAgo * DAY,
  pulledAt: null,
  referrer,
});
const edge = (parent: string, child: string): IndexEdge => ({ repositoryId: 1, parent, child });

function plan(tags: TagRow[], manifests: ManifestRow[], edges: IndexEdge[] = [], rules = [rule]) {
  return planRetention({
    now: NOW,
    rules,
    immutable: [],
    repositories: [{ id: 1, name: 'r/app' }],
    tags,
    manifests,
    edges,
  });
}

describe('planRetention', () => {
  test('with keep_pulled_within, an untagged manifest pulled by digest within D stays, with what it lists and its subject', async () => {
    const pulledRule = retentionRuleInput.parse({
      prefix: 'r/',
      keep_last: 1,
      keep_pulled_within: '7d',
      untagged_older_than: '2d',
    });
    const pulled = (m: ManifestRow, daysAgo: number): ManifestRow => ({
      ...m,
      pulledAt: NOW - daysAgo * DAY,
    });
    const result = plan(
      [tag('new', 'n', 1)],
      [
        manifest('n', 1),
        pulled(manifest('idx', 9), 3),
        manifest('child', 9),
        pulled(manifest('sig', 9, 's'), 1),
        manifest('s', 9),
        pulled(manifest('stale', 9), 8),
        manifest('cold', 9),
      ],
      [edge('idx', 'child')],
      [pulledRule],
    );
    expect(result.manifests.map((m) => [m.digest, m.pulledAt, m.keepPulledWithinMs])).toEqual([
      ['cold', null, 7 * DAY],
      ['stale', NOW - 8 * DAY, 7 * DAY],
    ]);
    // Without the clause, pulls do not count.
    expect(
      plan([tag('new', 'n', 1)], [manifest('n', 1), pulled(manifest('idx', 9), 1)]).manifests,
    ).toHaveLength(1);
  });

  test('an old image an untagged young index lists stays (the index would dangle); with the index old, both go, the index first', async () => {
    const young = plan(
      [tag('new', 'n', 1)],
      [manifest('n', 1), manifest('idx', 1), manifest('child', 9)],
      [edge('idx', 'child')],
    );
    expect(young.manifests).toEqual([]);
    const old = plan(
      [tag('new', 'n', 1)],
      [manifest('n', 1), manifest('idx', 5), manifest('child', 9)],
      [edge('idx', 'child')],
    );
    expect(old.manifests.map((m) => m.digest)).toEqual(['idx', 'child']);
  });

  test('an old referrer of a young untagged subject stays; a young referrer of a subject that goes goes after it', async () => {
    const stays = plan([tag('new', 'n', 1)], [manifest('n', 1), manifest('s', 1), manifest('sig', 9, 's')]);
    expect(stays.manifests).toEqual([]);
    const goes = plan([tag('new', 'n', 1)], [manifest('n', 1), manifest('s', 9), manifest('sig', 0, 's')]);
    expect(goes.manifests.map((m) => [m.digest, m.reason])).toEqual([
      ['s', 'untagged, stored 9 d ago, older than 2 d'],
      ['sig', 'referrer of s, which goes'],
    ]);
  });

  test('what a kept tag reaches stays: its index children, its referrers, a tagged referrer’s subject', async () => {
    const result = plan(
      [tag('new', 'idx', 1), tag('sha256-x.sig', 'sig2', 9, true)],
      [
        manifest('idx', 9),
        manifest('child', 9),
        manifest('sig', 9, 'idx'),
        manifest('x', 9),
        manifest('sig2', 9, 'x'),
      ],
      [edge('idx', 'child')],
    );
    // The referrer's tag is not considered (nor counted): "new" is the newest tag, and stays.
    expect(result.tags).toEqual([]);
    expect(result.manifests).toEqual([]);
  });

  test('the N newest count only the tags in consideration; equal push times are ordered by name', async () => {
    const keepTags = retentionRuleInput.parse({ prefix: 'r/', keep_last: 1, keep_tags: ['latest'] });
    const result = planRetention({
      now: NOW,
      rules: [keepTags],
      immutable: [{ prefix: 'r/app', tags: ['v*'] }],
      repositories: [
        { id: 1, name: 'r/app' },
        { id: 2, name: 'other/app' },
      ],
      tags: [
        tag('latest', 'a', 0),
        tag('v1', 'a', 0),
        tag('b', 'b', 3),
        tag('a', 'c', 3),
        { ...tag('z', 'z', 9), repositoryId: 2 },
      ],
      manifests: [],
      edges: [],
    });
    expect(result.tags.map((t) => t.reason)).toEqual(['b: not among the 1 newest']);
    expect(result.evaluated).toEqual({ repositories: 1, tags: 4 });
  });
});
