// A vulnerability data import followed by the re-match of stored inventories it calls for: what
// `registry vulndb import` and POST /admin/vulndb/import run.
import type { Database } from '../metadata/database.ts';
import { type ImportProgress, type ImportReport, importOsv } from '../vulndb/import.ts';
import type { Scans } from './scans.ts';

export type DataUpdate =
  | { ok: true; report: ImportReport; rematch: Awaited<ReturnType<Scans['rematchStale']>> }
  | { ok: false; error: string };

export interface DataUpdateOptions {
  /** The import ledger's name for the data (default: its absolute path); see ImportOptions. */
  source?: string;
  /** Take only a ZIP archive (an uploaded all.zip). */
  archiveOnly?: boolean;
  progress?: { imported?(p: ImportProgress): void; rematched?(n: number): void };
}

export async function updateVulnerabilityData(
  deps: { db: Database; scans: Scans },
  location: string,
  options: DataUpdateOptions = {},
): Promise<DataUpdate> {
  const { progress } = options;
  const imported = await importOsv(deps.db, location, {
    source: options.source,
    archiveOnly: options.archiveOnly,
    onProgress: progress?.imported,
  });
  if (!imported.ok) return imported;
  const rematch = await deps.scans.rematchStale(imported.report.changed, progress?.rematched);
  return { ok: true, report: imported.report, rematch };
}
