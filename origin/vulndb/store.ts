// The vulnerability data's tables (migration 5): the generation counter and the import ledger.
// Records and affected rows are written by import.ts and read by match.ts.
import type { Queryable } from '../metadata/database.ts';

/** The generation of the stored data; a scan result matched at an older one is stale. */
export async function currentGeneration(q: Queryable): Promise<number> {
  const rows = await q.query<{ generation: number | string }>(
    'SELECT generation FROM vuln_generation WHERE id = 1',
  );
  return Number(rows[0]?.generation ?? 0);
}

/** Marks that data was written and a bump is owed; done in the transaction that writes. */
export async function markGenerationPending(q: Queryable): Promise<void> {
  await q.query('UPDATE vuln_generation SET pending = true WHERE id = 1 AND NOT pending');
}

/**
 * Bumps the generation if any import wrote since the last bump (this one, or one that died
 * before it could bump); returns the generation either way.
 */
export async function settleGeneration(q: Queryable): Promise<{ generation: number; bumped: boolean }> {
  const bumped = await q.query<{ generation: number | string }>(
    'UPDATE vuln_generation SET generation = generation + 1, pending = false WHERE id = 1 AND pending RETURNING generation',
  );
  if (bumped[0]) return { generation: Number(bumped[0].generation), bumped: true };
  return { generation: await currentGeneration(q), bumped: false };
}

export interface ImportLedgerEntry {
  source: string;
  lastModified: Date | null;
  importedAt: Date;
  report: unknown;
}

/** Notes an import of `source`: the newest `modified` seen there so far, and its report. */
export async function recordImport(
  q: Queryable,
  source: string,
  lastModified: string | null,
  report: unknown,
): Promise<void> {
  await q.query(
    `INSERT INTO vuln_imports (source, last_modified, report) VALUES ($1, $2, $3)
     ON CONFLICT (source) DO UPDATE SET
       last_modified = GREATEST(vuln_imports.last_modified, EXCLUDED.last_modified),
       imported_at = now(), report = EXCLUDED.report`,
    [source, lastModified, JSON.stringify(report)],
  );
}

export async function listImports(q: Queryable): Promise<ImportLedgerEntry[]> {
  const rows = await q.query<{
    source: string;
    last_modified: Date | null;
    imported_at: Date;
    report: unknown;
  }>('SELECT source, last_modified, imported_at, report FROM vuln_imports ORDER BY source');
  return rows.map((r) => ({
    source: r.source,
    lastModified: r.last_modified ? new Date(r.last_modified) : null,
    importedAt: new Date(r.imported_at),
    report: r.report,
  }));
}

/** How many records are stored, and how many of them are withdrawn (for `vulndb status`). */
export async function countAdvisories(q: Queryable): Promise<{ records: number; withdrawn: number }> {
  const rows = await q.query<{ records: number; withdrawn: number }>(
    'SELECT count(*)::int AS records, count(withdrawn)::int AS withdrawn FROM vuln_advisories',
  );
  return { records: rows[0]?.records ?? 0, withdrawn: rows[0]?.withdrawn ?? 0 };
}
