// The mark phase: which manifests are kept, which blobs they reference, and what may go. Read from
// the metadata without locks: the sweep re-checks every candidate under locks before removing it,
// so a push that lands after these reads is never lost (see the domain's removals it calls).
import type { Queryable } from '../metadata/database.ts';
import {
  type BlobCandidate,
  blobsLinkedBefore,
  blobsLinkedSince,
  type ManifestCandidate,
  type ManifestEdge,
  type ManifestNode,
  manifestEdges,
  manifestNodes,
  pendingManifestBytes,
  referencedBlobs,
  repositoryNames,
  taggedManifests,
} from '../metadata/garbage.ts';

export interface MarkResult {
  readonly manifests: number;
  /** Manifests that go (only with `untagged`), in an order that removes a manifest before those it points to. */
  readonly removableManifests: ManifestCandidate[];
  /** Blobs no kept manifest references, last linked before the cutoff. */
  readonly blobs: BlobCandidate[];
  /** Blobs no kept manifest references either, but linked since the cutoff: the grace period keeps them. */
  readonly youngBlobs: { readonly count: number; readonly bytes: number };
  /** Bytes of deleted manifests awaiting removal (no record of them exists again). */
  readonly deletedManifests: ManifestCandidate[];
}

const key = (repositoryId: number, digest: string): string => `${repositoryId} ${digest}`;

/** `cutoff` (ms): blobs linked (pushed or mounted) after it are young and kept. */
export async function mark(q: Queryable, untagged: boolean, cutoff: number): Promise<MarkResult> {
  const repositories = await repositoryNames(q);
  const manifests = await manifestNodes(q);

  const removable = untagged ? await unreachable(q, manifests, repositories) : [];
  const removed = new Set(removable.map((m) => key(m.repositoryId, m.digest)));

  let referenced: Set<string>;
  if (removed.size === 0) referenced = await referencedBlobs(q);
  else {
    referenced = new Set();
    for (const edge of await manifestEdges(q, 'blob'))
      if (!removed.has(key(edge.repositoryId, edge.manifestDigest))) referenced.add(edge.childDigest);
  }

  const blobs = (await blobsLinkedBefore(q, cutoff)).filter((b) => !referenced.has(b.digest));
  const youngBlobs = { count: 0, bytes: 0 };
  for (const b of await blobsLinkedSince(q, cutoff)) {
    if (referenced.has(b.digest)) continue;
    youngBlobs.count += 1;
    youngBlobs.bytes += b.size;
  }
  const deletedManifests = [...(await pendingManifestBytes(q)), ...removable];
  return { manifests: manifests.length, removableManifests: removable, blobs, youngBlobs, deletedManifests };
}

/**
 * Manifests no tag reaches: reachable are the tagged ones, the children of a reachable index, and
 * the referrers of a reachable manifest (those whose subject it is), within one repository.
 */
async function unreachable(
  q: Queryable,
  manifests: readonly ManifestNode[],
  repositories: ReadonlyMap<number, string>,
): Promise<ManifestCandidate[]> {
  // Edges from a manifest to what it makes reachable: its children, and its referrers.
  const reaches = new Map<string, string[]>();
  const edge = (from: string, to: string) => {
    const list = reaches.get(from);
    if (list) list.push(to);
    else reaches.set(from, [to]);
  };
  const children = await manifestEdges(q, 'manifest');
  for (const e of children) edge(key(e.repositoryId, e.manifestDigest), key(e.repositoryId, e.childDigest));
  for (const m of manifests) {
    if (m.subjectDigest !== null) edge(key(m.repositoryId, m.subjectDigest), key(m.repositoryId, m.digest));
  }

  const reachable = new Set<string>();
  const stack = (await taggedManifests(q)).map((t) => key(t.repositoryId, t.digest));
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (reachable.has(next)) continue;
    reachable.add(next);
    for (const to of reaches.get(next) ?? []) if (!reachable.has(to)) stack.push(to);
  }

  const removable = manifests
    .filter((m) => !reachable.has(key(m.repositoryId, m.digest)))
    .map((m) => ({
      repositoryId: m.repositoryId,
      repository: repositories.get(m.repositoryId) ?? '',
      digest: m.digest,
      size: m.size,
    }));
  return pointersFirst(removable, children, manifests);
}

/**
 * Orders the removable manifests so that an index goes before its children and a referrer before
 * its subject: a removal then never leaves an index pointing at a manifest that is gone.
 */
function pointersFirst(
  removable: ManifestCandidate[],
  children: readonly ManifestEdge[],
  manifests: readonly ManifestNode[],
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
  for (const e of children) add(key(e.repositoryId, e.manifestDigest), key(e.repositoryId, e.childDigest));
  for (const m of manifests)
    if (m.subjectDigest !== null) add(key(m.repositoryId, m.digest), key(m.repositoryId, m.subjectDigest));

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
