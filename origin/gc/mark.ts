// The mark phase: which manifests are kept, which blobs they reference, and what may go. Read from
// the metadata without locks: the sweep re-checks every candidate under locks before removing it,
// so a push that lands after these reads is never lost (see sweep.ts).
import type { Queryable } from '../metadata/database.ts';

export interface ManifestCandidate {
  readonly repositoryId: number;
  readonly repository: string;
  readonly digest: string;
  readonly size: number;
}

export interface BlobCandidate {
  readonly digest: string;
  readonly size: number;
}

export interface MarkResult {
  readonly manifests: number;
  /** Manifests that go (only with `untagged`), in an order that removes a manifest before those it points to. */
  readonly removableManifests: ManifestCandidate[];
  /** Blobs no kept manifest references, older than the grace period. */
  readonly blobs: BlobCandidate[];
  /** Bytes of deleted manifests awaiting removal (no record of them exists again). */
  readonly deletedManifests: ManifestCandidate[];
}

const key = (repositoryId: number, digest: string): string => `${repositoryId} ${digest}`;

export async function mark(q: Queryable, untagged: boolean, gracePeriodMs: number): Promise<MarkResult> {
  const repositories = new Map<number, string>();
  for (const row of await q.query<{ id: number; name: string }>('SELECT id, name FROM repositories'))
    repositories.set(Number(row.id), row.name);
  const manifests = await q.query<{
    repository_id: number;
    digest: string;
    size: number;
    subject_digest: string | null;
  }>('SELECT repository_id, digest, size, subject_digest FROM manifests');

  const removable = untagged ? await unreachable(q, manifests, repositories) : [];
  const removed = new Set(removable.map((m) => key(m.repositoryId, m.digest)));

  const referenced = new Set<string>();
  if (removed.size === 0) {
    const rows = await q.query<{ digest: string }>(
      "SELECT DISTINCT child_digest AS digest FROM manifest_references WHERE child_kind = 'blob'",
    );
    for (const row of rows) referenced.add(row.digest);
  } else {
    const rows = await q.query<{ repository_id: number; manifest_digest: string; child_digest: string }>(
      "SELECT repository_id, manifest_digest, child_digest FROM manifest_references WHERE child_kind = 'blob'",
    );
    for (const row of rows)
      if (!removed.has(key(Number(row.repository_id), row.manifest_digest))) referenced.add(row.child_digest);
  }

  const old = await q.query<BlobCandidate>(
    `SELECT digest, size FROM blobs WHERE linked_at < now() - $1::double precision * interval '1 millisecond'
      ORDER BY digest`,
    [gracePeriodMs],
  );
  const blobs = old
    .filter((b) => !referenced.has(b.digest))
    .map((b) => ({ digest: b.digest, size: Number(b.size) }));

  const deletedManifests = [...(await pendingManifestBytes(q)), ...removable];

  return {
    manifests: manifests.length,
    removableManifests: removable,
    blobs,
    deletedManifests,
  };
}

/**
 * Manifests no tag reaches: reachable are the tagged ones, the children of a reachable index, and
 * the referrers of a reachable manifest (those whose subject it is), within one repository.
 */
async function unreachable(
  q: Queryable,
  manifests: readonly {
    repository_id: number;
    digest: string;
    size: number;
    subject_digest: string | null;
  }[],
  repositories: ReadonlyMap<number, string>,
): Promise<ManifestCandidate[]> {
  // Edges from a manifest to what it makes reachable: its children, and its referrers.
  const reaches = new Map<string, string[]>();
  const edge = (from: string, to: string) => {
    const list = reaches.get(from);
    if (list) list.push(to);
    else reaches.set(from, [to]);
  };
  const children = await q.query<{ repository_id: number; manifest_digest: string; child_digest: string }>(
    "SELECT repository_id, manifest_digest, child_digest FROM manifest_references WHERE child_kind = 'manifest'",
  );
  for (const row of children) {
    const repo = Number(row.repository_id);
    edge(key(repo, row.manifest_digest), key(repo, row.child_digest));
  }
  for (const m of manifests) {
    const repo = Number(m.repository_id);
    if (m.subject_digest !== null) edge(key(repo, m.subject_digest), key(repo, m.digest));
  }

  const reachable = new Set<string>();
  const stack: string[] = [];
  for (const row of await q.query<{ repository_id: number; manifest_digest: string }>(
    'SELECT repository_id, manifest_digest FROM tags',
  )) {
    stack.push(key(Number(row.repository_id), row.manifest_digest));
  }
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (reachable.has(next)) continue;
    reachable.add(next);
    for (const to of reaches.get(next) ?? []) if (!reachable.has(to)) stack.push(to);
  }

  const removable = manifests
    .filter((m) => !reachable.has(key(Number(m.repository_id), m.digest)))
    .map((m) => ({
      repositoryId: Number(m.repository_id),
      repository: repositories.get(Number(m.repository_id)) ?? '',
      digest: m.digest,
      size: Number(m.size),
    }));
  return pointersFirst(removable, children, manifests);
}

/**
 * Orders the removable manifests so that an index goes before its children and a referrer before
 * its subject: a removal then never leaves an index pointing at a manifest that is gone.
 */
function pointersFirst(
  removable: ManifestCandidate[],
  children: readonly { repository_id: number; manifest_digest: string; child_digest: string }[],
  manifests: readonly { repository_id: number; digest: string; subject_digest: string | null }[],
): ManifestCandidate[] {
  const byKey = new Map(removable.map((m) => [key(m.repositoryId, m.digest), m]));
  const pointsTo = new Map<string, string[]>();
  const pointedBy = new Map<string, number>();
  const add = (from: string, to: string) => {
    if (!byKey.has(from) || !byKey.has(to) || from === to) return;
    const list = pointsTo.get(from);
    if (list) list.push(to);
    else pointsTo.set(from, [to]);
    pointedBy.set(to, (pointedBy.get(to) ?? 0) + 1);
  };
  for (const row of children)
    add(
      key(Number(row.repository_id), row.manifest_digest),
      key(Number(row.repository_id), row.child_digest),
    );
  for (const m of manifests)
    if (m.subject_digest !== null)
      add(key(Number(m.repository_id), m.digest), key(Number(m.repository_id), m.subject_digest));

  const ordered: ManifestCandidate[] = [];
  const ready = [...byKey.keys()].filter((k) => !pointedBy.get(k));
  for (let i = 0; i < ready.length; i += 1) {
    const next = ready[i] as string;
    ordered.push(byKey.get(next) as ManifestCandidate);
    for (const to of pointsTo.get(next) ?? []) {
      const left = (pointedBy.get(to) ?? 0) - 1;
      pointedBy.set(to, left);
      if (left === 0) ready.push(to);
    }
  }
  // Digests make cycles impossible; should one appear, its members still go (last).
  if (ordered.length < removable.length) {
    const placed = new Set(ordered);
    for (const m of removable) if (!placed.has(m)) ordered.push(m);
  }
  return ordered;
}

/** Tombstones whose manifest has no record (again). */
export async function pendingManifestBytes(q: Queryable): Promise<ManifestCandidate[]> {
  const rows = await q.query<{ repository_id: number; name: string; digest: string }>(
    `SELECT t.repository_id, r.name, t.digest FROM manifest_tombstones t
       JOIN repositories r ON r.id = t.repository_id
      WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = t.repository_id AND m.digest = t.digest)
      ORDER BY r.name, t.digest`,
  );
  return rows.map((r) => ({
    repositoryId: Number(r.repository_id),
    repository: r.name,
    digest: r.digest,
    size: 0,
  }));
}
