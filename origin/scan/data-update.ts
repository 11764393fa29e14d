// A vulnerability data import followed by the re-match of stored inventories it calls for: what
// `registry vulndb import` and POST /admin/vulndb/import run.
import type { Database } from '../metadata/database.ts';
import { type ImportProgress, type ImportReport, importOsv } from '../vulndb/import.ts';
import type { Scans } from './scans.ts';

export type DataUpdate =
  | { ok: true; report: ImportReport; rematch: Awaited<ReturnType<Scans['rematchStale']>> }
  | { ok: false; error: string };

export async function updateVulnerabilityData(
  deps: { db: Database; scans: Scans },
  location: string,
  progress?: { imported?(p: ImportProgress): void; rematched?(n: number): void },
): Promise<DataUpdate> {
  const imported = await importOsv(
    deps.db,
    location,
    progress?.imported ? { onProgress: progress.imported } : {},
  );
  if (!imported.ok) return imported;
  const rematch = await deps.scans.rematchStale(imported.report.changed, progress?.rematched);
  return { ok: true, report: imported.report, rematch };
}
