// The scan queue, per-image scan results and per-layer inventories (see "Scanning" in
// docs/architecture.md). Results and inventories are keyed by digest alone: content is the same
// in every repository, so it is scanned once.

import type { ImageInventory, LayerInventory, LinkFile, LinkTargetRead } from '../scan/inventory.ts';
import type { Finding } from '../vulndb/match.ts';
import type { Queryable } from './database.ts';

export type ScanStatus = 'pending' | 'running' | 'completed' | 'failed';
export type ScanReason = 'push' | 'manual' | 'rescan';

export interface ScanJob {
  readonly id: number;
  readonly digest: string;
  readonly repository: string;
  readonly reason: ScanReason;
  readonly force: boolean;
  readonly attempts: number;
}

export interface ScanResult {
  readonly digest: string;
  readonly status: ScanStatus;
  readonly scanner: string;
  readonly vulndbGeneration: number;
  readonly inventory: ImageInventory | null;
  readonly findings: Finding[] | null;
  readonly error: string | null;
  readonly scannedAt: Date | null;
  readonly updatedAt: Date;
}

interface ResultRow {
  digest: string;
  status: ScanStatus;
  scanner: string;
  vulndb_generation: number;
  inventory: ImageInventory | null;
  findings: Finding[] | null;
  error: string | null;
  scanned_at: Date | null;
  updated_at: Date;
}

const toResult = (r: ResultRow): ScanResult => ({
  digest: r.digest,
  status: r.status,
  scanner: r.scanner,
  vulndbGeneration: Number(r.vulndb_generation),
  inventory: r.inventory,
  findings: r.findings,
  error: r.error,
  scannedAt: r.scanned_at ? new Date(r.scanned_at) : null,
  updatedAt: new Date(r.updated_at),
});

/**
 * Queues a scan of `digest`, read from `repository`. At most one queued job per digest: a second
 * request while one waits joins it (and makes it forced if this one is).
 */
export async function enqueueScan(
  q: Queryable,
  digest: string,
  repository: string,
  reason: ScanReason,
  force: boolean,
): Promise<void> {
  await q.query(
    `INSERT INTO scan_jobs (digest, repository, reason, force, state) VALUES ($1, $2, $3, $4, 'queued')
     ON CONFLICT (digest) WHERE state = 'queued'
       DO UPDATE SET force = scan_jobs.force OR EXCLUDED.force, updated_at = now()`,
    [digest, repository, reason, force],
  );
  await q.query(
    `INSERT INTO scan_results (digest, status, scanner) VALUES ($1, 'pending', '')
     ON CONFLICT (digest) DO UPDATE SET status = 'pending', updated_at = now()
       WHERE scan_results.status = 'failed' OR $2`,
    [digest, force],
  );
}

/**
 * Claims the oldest claimable job: queued, or running under a claim that expired (its process
 * died). SKIP LOCKED lets every origin process claim concurrently without waiting on each other.
 */
export async function claimScanJob(q: Queryable, worker: string, leaseMs: number): Promise<ScanJob | null> {
  const rows = await q.query<{
    id: number;
    digest: string;
    repository: string;
    reason: ScanReason;
    force: boolean;
    attempts: number;
  }>(
    `UPDATE scan_jobs SET state = 'running', claimed_by = $1, attempts = attempts + 1,
            claimed_until = now() + $2 * interval '1 millisecond', updated_at = now()
      WHERE id = (
        SELECT id FROM scan_jobs
         WHERE state = 'queued' OR (state = 'running' AND claimed_until < now())
         ORDER BY created_at, id
         LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, digest, repository, reason, force, attempts`,
    [worker, leaseMs],
  );
  const row = rows[0];
  return row ? { ...row, id: Number(row.id) } : null;
}

export async function finishScanJob(q: Queryable, id: number, error: string | null): Promise<void> {
  await q.query(
    `UPDATE scan_jobs SET state = $2, error = $3, claimed_until = NULL, updated_at = now() WHERE id = $1`,
    [id, error === null ? 'done' : 'failed', error],
  );
}

export async function markScanRunning(q: Queryable, digest: string): Promise<void> {
  await q.query(
    `INSERT INTO scan_results (digest, status, scanner) VALUES ($1, 'running', '')
     ON CONFLICT (digest) DO UPDATE SET status = 'running', updated_at = now()`,
    [digest],
  );
}

export async function saveScanResult(
  q: Queryable,
  digest: string,
  outcome:
    | { ok: true; scanner: string; generation: number; inventory: ImageInventory; findings: Finding[] }
    | { ok: false; scanner: string; error: string },
): Promise<void> {
  if (outcome.ok) {
    await q.query(
      `INSERT INTO scan_results (digest, status, scanner, vulndb_generation, inventory, findings, error, scanned_at)
       VALUES ($1, 'completed', $2, $3, $4, $5, NULL, now())
       ON CONFLICT (digest) DO UPDATE SET status = 'completed', scanner = $2, vulndb_generation = $3,
         inventory = $4, findings = $5, error = NULL, scanned_at = now(), updated_at = now()`,
      [
        digest,
        outcome.scanner,
        outcome.generation,
        JSON.stringify(outcome.inventory),
        JSON.stringify(outcome.findings),
      ],
    );
  } else {
    // A failed rescan keeps the last completed inventory and findings: they are still the best known.
    await q.query(
      `INSERT INTO scan_results (digest, status, scanner, error) VALUES ($1, 'failed', $2, $3)
       ON CONFLICT (digest) DO UPDATE SET status = 'failed', scanner = $2, error = $3, updated_at = now()`,
      [digest, outcome.scanner, outcome.error],
    );
  }
}

/** After a data import: new findings for a stored inventory, without reading any layer. */
export async function updateFindings(
  q: Queryable,
  digest: string,
  generation: number,
  findings: Finding[],
): Promise<void> {
  await q.query(
    `UPDATE scan_results SET findings = $2, vulndb_generation = $3, updated_at = now() WHERE digest = $1`,
    [digest, JSON.stringify(findings), generation],
  );
}

/** Stale results the data change cannot affect: matched again they would find the same. */
export async function markCurrent(
  q: Queryable,
  digests: readonly string[],
  generation: number,
): Promise<void> {
  if (digests.length === 0) return;
  await q.query(
    'UPDATE scan_results SET vulndb_generation = $2 WHERE digest = ANY($1::text[]) AND vulndb_generation < $2',
    [digests, generation],
  );
}

export async function findScanResults(
  q: Queryable,
  digests: readonly string[],
): Promise<Map<string, ScanResult>> {
  if (digests.length === 0) return new Map();
  const rows = await q.query<ResultRow>('SELECT * FROM scan_results WHERE digest = ANY($1::text[])', [
    digests,
  ]);
  return new Map(rows.map((r) => [r.digest, toResult(r)]));
}

/** Completed results matched against an older generation of the data, oldest first, in pages. */
export async function staleScanResults(
  q: Queryable,
  generation: number,
  after: string | null,
  limit: number,
): Promise<ScanResult[]> {
  const rows = await q.query<ResultRow>(
    `SELECT * FROM scan_results
      WHERE status = 'completed' AND vulndb_generation < $1 AND inventory IS NOT NULL
        AND ($2::text IS NULL OR digest > $2::text)
      ORDER BY digest LIMIT $3`,
    [generation, after, limit],
  );
  return rows.map(toResult);
}

export async function findLayerInventories(
  q: Queryable,
  digests: readonly string[],
  analyzer: number,
): Promise<Map<string, LayerInventory>> {
  if (digests.length === 0) return new Map();
  const rows = await q.query<{ digest: string; inventory: LayerInventory }>(
    'SELECT digest, inventory FROM layer_inventories WHERE digest = ANY($1::text[]) AND analyzer = $2',
    [digests, analyzer],
  );
  return new Map(rows.map((r) => [r.digest, r.inventory]));
}

export async function saveLayerInventory(
  q: Queryable,
  digest: string,
  analyzer: number,
  inventory: LayerInventory,
): Promise<void> {
  await q.query(
    `INSERT INTO layer_inventories (digest, analyzer, inventory) VALUES ($1, $2, $3)
     ON CONFLICT (digest) DO UPDATE SET analyzer = $2, inventory = $3, created_at = now()`,
    [digest, analyzer, JSON.stringify(inventory)],
  );
}

/**
 * Adds what a layer was read again for (link targets, and every link it has) to its stored
 * inventory. Appended in the database, so that two scans adding to the same layer at once both
 * keep theirs.
 */
export async function addLinkTargets(
  q: Queryable,
  digest: string,
  analyzer: number,
  reads: readonly LinkTargetRead[],
  links: readonly LinkFile[],
): Promise<void> {
  await q.query(
    `UPDATE layer_inventories
        SET inventory = jsonb_set(
              jsonb_set(inventory, '{linkTargets}', COALESCE(inventory->'linkTargets', '[]'::jsonb) || $3::jsonb),
              '{allLinks}', $4::jsonb)
      WHERE digest = $1 AND analyzer = $2`,
    [digest, analyzer, JSON.stringify(reads), JSON.stringify(links)],
  );
}

export async function countLayerInventories(q: Queryable): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM layer_inventories');
  return rows[0]?.n ?? 0;
}

/** Where an image is reachable from: each repository holding it, with the tags that reach it (directly or through an index). */
export async function tagsReaching(
  q: Queryable,
  digest: string,
): Promise<{ repository: string; tags: string[] }[]> {
  const rows = await q.query<{ repository: string; tags: string[] | null }>(
    `SELECT r.name AS repository,
            array_remove(array_agg(DISTINCT t.name), NULL) AS tags
       FROM manifests m
       JOIN repositories r ON r.id = m.repository_id
       LEFT JOIN manifest_references p
         ON p.repository_id = m.repository_id AND p.child_digest = m.digest AND p.child_kind = 'manifest'
       LEFT JOIN tags t
         ON t.repository_id = m.repository_id AND (t.manifest_digest = m.digest OR t.manifest_digest = p.manifest_digest)
      WHERE m.digest = $1
      GROUP BY r.name ORDER BY r.name`,
    [digest],
  );
  return rows.map((r) => ({ repository: r.repository, tags: r.tags ?? [] }));
}

export interface RepositoryScanOverview {
  latestTag: string | null;
  latestDigest: string | null;
  lastScanned: Date | null;
  /** Image and index manifests of the repository, by scan status ('none' = never queued). */
  images: Record<ScanStatus | 'none', number>;
}

export async function repositoryScanOverview(
  q: Queryable,
  repository: string,
): Promise<RepositoryScanOverview | null> {
  const repo = await q.query<{ id: number }>('SELECT id FROM repositories WHERE name = $1', [repository]);
  if (!repo[0]) return null;
  const id = repo[0].id;
  const latest = await q.query<{ name: string; manifest_digest: string }>(
    'SELECT name, manifest_digest FROM tags WHERE repository_id = $1 ORDER BY updated_at DESC, name LIMIT 1',
    [id],
  );
  const counts = await q.query<{ status: ScanStatus | null; n: number; last: Date | null }>(
    `SELECT s.status, count(*)::int AS n, max(s.scanned_at) AS last
       FROM manifests m LEFT JOIN scan_results s ON s.digest = m.digest
      WHERE m.repository_id = $1 AND m.config_digest IS NOT NULL
      GROUP BY s.status`,
    [id],
  );
  const images: RepositoryScanOverview['images'] = {
    pending: 0,
    running: 0,
    completed: 0,
    failed: 0,
    none: 0,
  };
  let lastScanned: Date | null = null;
  for (const row of counts) {
    images[row.status ?? 'none'] += row.n;
    if (row.last && (!lastScanned || new Date(row.last) > lastScanned)) lastScanned = new Date(row.last);
  }
  return {
    latestTag: latest[0]?.name ?? null,
    latestDigest: latest[0]?.manifest_digest ?? null,
    lastScanned,
    images,
  };
}
