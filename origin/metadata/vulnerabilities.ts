// The vulnerability data (migration 5) as an import writes it: OSV records with the rows matching
// reads (vuln_advisories, vuln_cves, vuln_affected), the generation counter and the import ledger.
// Parsing and the decision what to write are origin/vulndb/import.ts's; the queries matching runs
// are in vulnerability-matching.ts.
import type { Severity } from '../../shared/policy.ts';
import type { Queryable } from './database.ts';

/** A package as an OSV record names it. */
export interface PackageRef {
  /** As the record writes it: "Debian:12", "npm", "Ubuntu:22.04:LTS"… */
  ecosystem: string;
  package: string;
}

/** One OSV record as stored: the columns matching reads, and the record itself (`raw`). */
export interface AdvisoryRow {
  id: string;
  modified: string;
  published: string | null;
  withdrawn: string | null;
  aliases: string[];
  upstream: string[];
  /** The CVEs the record is; also written to vuln_cves, where other records borrow severities. */
  cves: string[];
  summary: string | null;
  details: string | null;
  severity: Severity;
  cvssScore: number | null;
  cvssVector: string | null;
  raw: unknown;
}

/** One affected package of a live record, looked up by (ecosystemBase, packageKey). */
export interface AffectedRow {
  advisoryId: string;
  ecosystem: string;
  ecosystemBase: string;
  packageKey: string;
  packageName: string;
  ranges: { type: string; events: unknown[] }[];
  versions: string[];
}

/**
 * The stored `modified` of these ids, in microseconds (the precision OSV times are compared at).
 * With `lock`, the rows are locked until the transaction ends, taken in id order so that two
 * imports writing overlapping batches cannot deadlock.
 */
export async function advisoryModifiedTimes(
  q: Queryable,
  ids: readonly string[],
  lock = false,
): Promise<Map<string, number>> {
  const rows = await q.query<{ id: string; us: number | string }>(
    `SELECT id, round(extract(epoch FROM modified) * 1000000)::bigint AS us
       FROM vuln_advisories WHERE id = ANY($1::text[])${lock ? ' ORDER BY id FOR UPDATE' : ''}`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, Number(r.us)]));
}

/**
 * Deletes the affected and CVE rows of records about to be replaced (their new rows are written
 * afresh); returns the packages the deleted affected rows named, which the change concerns too.
 */
export async function deleteAdvisoryDetails(q: Queryable, ids: readonly string[]): Promise<PackageRef[]> {
  if (ids.length === 0) return [];
  const old = await q.query<{ ecosystem: string; package_name: string }>(
    'DELETE FROM vuln_affected WHERE advisory_id = ANY($1::text[]) RETURNING ecosystem, package_name',
    [ids],
  );
  await q.query('DELETE FROM vuln_cves WHERE advisory_id = ANY($1::text[])', [ids]);
  return old.map((r) => ({ ecosystem: r.ecosystem, package: r.package_name }));
}

/**
 * Writes records (inserted, or replacing the stored ones) and their CVE rows, one statement each
 * for the whole batch: the rows travel as one JSON array.
 */
export async function saveAdvisories(q: Queryable, advisories: readonly AdvisoryRow[]): Promise<void> {
  if (advisories.length === 0) return;
  await q.query(
    `INSERT INTO vuln_advisories (id, modified, published, withdrawn, aliases, upstream, cves, summary, details,
                                  severity, cvss_score, cvss_vector, raw)
     SELECT id, modified, published, withdrawn, aliases, upstream, cves, summary, details,
            severity, "cvssScore", "cvssVector", raw
       FROM jsonb_to_recordset($1::jsonb) AS r (id text, modified timestamptz, published timestamptz,
            withdrawn timestamptz, aliases text[], upstream text[], cves text[], summary text, details text,
            severity text, "cvssScore" double precision, "cvssVector" text, raw jsonb)
     ON CONFLICT (id) DO UPDATE SET modified = EXCLUDED.modified, published = EXCLUDED.published,
       withdrawn = EXCLUDED.withdrawn, aliases = EXCLUDED.aliases, upstream = EXCLUDED.upstream,
       cves = EXCLUDED.cves, summary = EXCLUDED.summary, details = EXCLUDED.details,
       severity = EXCLUDED.severity, cvss_score = EXCLUDED.cvss_score, cvss_vector = EXCLUDED.cvss_vector,
       raw = EXCLUDED.raw, imported_at = now()`,
    [JSON.stringify(advisories)],
  );
  const cves = advisories.flatMap((a) => a.cves.map((cve) => [cve, a.id] as const));
  if (cves.length === 0) return;
  await q.query(
    'INSERT INTO vuln_cves (cve, advisory_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING',
    [cves.map((c) => c[0]), cves.map((c) => c[1])],
  );
}

/** Writes affected rows, in one statement for the whole batch. */
export async function saveAffected(q: Queryable, rows: readonly AffectedRow[]): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `INSERT INTO vuln_affected (advisory_id, ecosystem, ecosystem_base, package_key, package_name, ranges, versions)
     SELECT "advisoryId", ecosystem, "ecosystemBase", "packageKey", "packageName", ranges, versions
       FROM jsonb_to_recordset($1::jsonb) AS r ("advisoryId" text, ecosystem text, "ecosystemBase" text,
            "packageKey" text, "packageName" text, ranges jsonb, versions jsonb)`,
    [JSON.stringify(rows)],
  );
}

/** Refreshes the planner statistics of the tables an import fills (PGlite runs no autovacuum). */
export async function analyzeAdvisories(q: Queryable): Promise<void> {
  await q.query('ANALYZE vuln_advisories, vuln_affected, vuln_cves');
}

/** How many records are stored, and how many of them are withdrawn (for `vulndb status`). */
export async function countAdvisories(q: Queryable): Promise<{ records: number; withdrawn: number }> {
  const rows = await q.query<{ records: number; withdrawn: number }>(
    'SELECT count(*)::int AS records, count(withdrawn)::int AS withdrawn FROM vuln_advisories',
  );
  return { records: rows[0]?.records ?? 0, withdrawn: rows[0]?.withdrawn ?? 0 };
}

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
