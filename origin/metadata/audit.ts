// The audit trail's rows (origin/audit/audit-trail.ts writes them, GET /admin/audit and
// `registry audit export` read them).
import { toStorableText } from '../../shared/storable-text.ts';
import type { Queryable } from './database.ts';

export interface AuditRecord {
  readonly action: string;
  readonly repository: string | null;
  readonly tag: string | null;
  readonly digest: string | null;
  readonly user: string | null;
  readonly address: string | null;
  readonly system: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditEntry extends AuditRecord {
  /** Increasing with each entry: the paging cursor. */
  readonly id: number;
  /** When it was written, ms since the epoch (the registry's clock). */
  readonly at: number;
}

export interface AuditQuery {
  readonly repository?: string | undefined;
  readonly user?: string | undefined;
  /** Entries at or after this time (ms). */
  readonly since?: number | undefined;
  /** Newest first, entries with a smaller id than this. */
  readonly before?: number | undefined;
  /** Oldest first, entries with a greater id than this (what an export pages by). */
  readonly after?: number | undefined;
  readonly limit: number;
}

export async function insertAuditEntry(q: Queryable, record: AuditRecord, now: number): Promise<void> {
  await q.query(
    `INSERT INTO audit_entries (at, action, repository, tag, digest, "user", address, system, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
    [
      new Date(now),
      record.action,
      record.repository,
      record.tag,
      record.digest,
      record.user,
      record.address,
      record.system,
      JSON.stringify(record.detail, storable),
    ],
  );
}

/**
 * jsonb refuses what a text column takes: a NUL, and a lone surrogate (which JSON.stringify writes
 * as an escape, where text gets U+FFFD). An entry must not fail the write it records.
 */
function storable(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? toStorableText(value) : value;
}

interface AuditRow {
  id: string | number;
  at: string | Date;
  action: string;
  repository: string | null;
  tag: string | null;
  digest: string | null;
  user: string | null;
  address: string | null;
  system: string | null;
  detail: Record<string, unknown> | string;
}

/** Newest first, or oldest first when `after` is given. */
export async function listAuditEntries(q: Queryable, query: AuditQuery): Promise<AuditEntry[]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const where = (sql: string, value: unknown) => {
    params.push(value);
    conditions.push(sql.replace('?', `$${params.length}`));
  };
  if (query.repository !== undefined) where('repository = ?', query.repository);
  if (query.user !== undefined) where('"user" = ?', query.user);
  if (query.since !== undefined) where('at >= ?', new Date(query.since));
  if (query.before !== undefined) where('id < ?', query.before);
  if (query.after !== undefined) where('id > ?', query.after);
  params.push(query.limit);
  const rows = await q.query<AuditRow>(
    `SELECT id, at, action, repository, tag, digest, "user", address, system, detail FROM audit_entries
     ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
     ORDER BY id ${query.after !== undefined ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at).getTime(),
    action: r.action,
    repository: r.repository,
    tag: r.tag,
    digest: r.digest,
    user: r.user,
    address: r.address,
    system: r.system,
    detail: typeof r.detail === 'string' ? (JSON.parse(r.detail) as Record<string, unknown>) : r.detail,
  }));
}
