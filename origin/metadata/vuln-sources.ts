// The state of the scheduled vulnerability data fetches (migration 8, vuln_sources) and the records
// per ecosystem (vuln_ecosystems) that status pages and scan results report. The fetching itself
// is origin/vulndb/sources.ts's.
import type { Queryable } from './database.ts';

export interface SourceState {
  source: string;
  /** The validators of the last copy imported, sent back as If-None-Match / If-Modified-Since. */
  etag: string | null;
  lastModified: string | null;
  checkedAt: Date | null;
  /** The last attempt that ended well (imported, or the server said nothing changed). */
  succeededAt: Date | null;
  /** The last attempt that imported a new copy. */
  changedAt: Date | null;
  error: string | null;
  errorAt: Date | null;
  /** Attempts that failed since the last success. */
  failures: number;
}

interface SourceRow {
  source: string;
  etag: string | null;
  last_modified: string | null;
  checked_at: Date | null;
  succeeded_at: Date | null;
  changed_at: Date | null;
  error: string | null;
  error_at: Date | null;
  failures: number;
}

const date = (value: Date | string | null) => (value === null ? null : new Date(value));

function toState(r: SourceRow): SourceState {
  return {
    source: r.source,
    etag: r.etag,
    lastModified: r.last_modified,
    checkedAt: date(r.checked_at),
    succeededAt: date(r.succeeded_at),
    changedAt: date(r.changed_at),
    error: r.error,
    errorAt: date(r.error_at),
    failures: r.failures,
  };
}

export async function sourceStates(q: Queryable): Promise<SourceState[]> {
  const rows = await q.query<SourceRow>('SELECT * FROM vuln_sources ORDER BY source');
  return rows.map(toState);
}

export async function sourceState(q: Queryable, source: string): Promise<SourceState | undefined> {
  const rows = await q.query<SourceRow>('SELECT * FROM vuln_sources WHERE source = $1', [source]);
  return rows[0] ? toState(rows[0]) : undefined;
}

/**
 * An attempt that ended well. With `validators` (a new copy was imported) they replace the stored
 * ones; without (the server answered 304, or a local source) the stored ones stay.
 */
export async function recordSourceSuccess(
  q: Queryable,
  source: string,
  at: Date,
  validators?: { etag: string | null; lastModified: string | null },
): Promise<void> {
  await q.query(
    `INSERT INTO vuln_sources (source, etag, last_modified, checked_at, succeeded_at, changed_at, failures)
     VALUES ($1, $2, $3, $4, $4, CASE WHEN $5 THEN $4::timestamptz END, 0)
     ON CONFLICT (source) DO UPDATE SET
       etag = CASE WHEN $5 THEN EXCLUDED.etag ELSE vuln_sources.etag END,
       last_modified = CASE WHEN $5 THEN EXCLUDED.last_modified ELSE vuln_sources.last_modified END,
       checked_at = EXCLUDED.checked_at, succeeded_at = EXCLUDED.succeeded_at,
       changed_at = COALESCE(EXCLUDED.changed_at, vuln_sources.changed_at), failures = 0`,
    [source, validators?.etag ?? null, validators?.lastModified ?? null, at, validators !== undefined],
  );
}

/** An attempt that failed: the error is kept until the next success; the stored validators stay. */
export async function recordSourceFailure(
  q: Queryable,
  source: string,
  at: Date,
  error: string,
): Promise<void> {
  await q.query(
    `INSERT INTO vuln_sources (source, checked_at, error, error_at, failures) VALUES ($1, $2, $3, $2, 1)
     ON CONFLICT (source) DO UPDATE SET checked_at = EXCLUDED.checked_at, error = EXCLUDED.error,
       error_at = EXCLUDED.error_at, failures = vuln_sources.failures + 1`,
    [source, at, error],
  );
}

export interface EcosystemData {
  /** Without its release: "Debian", "Alpine", "npm". */
  ecosystem: string;
  records: number;
  /** When the newest of its records was imported. */
  importedAt: Date;
}

export async function ecosystemData(q: Queryable): Promise<EcosystemData[]> {
  const rows = await q.query<{ ecosystem: string; records: number; imported_at: Date }>(
    'SELECT ecosystem, records, imported_at FROM vuln_ecosystems ORDER BY ecosystem',
  );
  return rows.map((r) => ({
    ecosystem: r.ecosystem,
    records: r.records,
    importedAt: new Date(r.imported_at),
  }));
}

/** Counts again the records of these ecosystems (bases), after an import changed them. */
export async function refreshEcosystemData(q: Queryable, ecosystems: readonly string[]): Promise<void> {
  if (ecosystems.length === 0) return;
  await q.query('DELETE FROM vuln_ecosystems WHERE ecosystem = ANY($1::text[])', [ecosystems]);
  await q.query(
    `INSERT INTO vuln_ecosystems (ecosystem, records, imported_at)
     SELECT f.ecosystem_base, count(DISTINCT f.advisory_id)::int, max(a.imported_at)
       FROM vuln_affected f JOIN vuln_advisories a ON a.id = f.advisory_id
      WHERE f.ecosystem_base = ANY($1::text[])
      GROUP BY f.ecosystem_base`,
    [ecosystems],
  );
}
