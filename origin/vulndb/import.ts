// Imports OSV records into the database: an osv.dev per-ecosystem export (all.zip), a directory
// of record files (searched recursively), or one JSON file. Incremental: a record whose
// `modified` is not newer than the stored one is skipped after reading just its id and time,
// before any validation. Writes go in batches, one transaction each, so that a PGlite database
// that also serves the registry is never held for the whole import. A record that cannot be
// imported (not JSON, not OSV, refused by the database) is counted with its reason and skipped;
// it never ends the import. No reason or error quotes what a file holds: an import is told paths,
// and what it answers must not turn it into a way to read files.
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Database, Queryable } from '../metadata/database.ts';
import { refreshEcosystemData } from '../metadata/vuln-sources.ts';
import {
  type AdvisoryRow,
  type AffectedRow,
  advisoryModifiedTimes,
  analyzeAdvisories,
  deleteAdvisoryDetails,
  markGenerationPending,
  type PackageRef,
  recordImport,
  saveAdvisories,
  saveAffected,
  settleGeneration,
} from '../metadata/vulnerabilities.ts';
import { openZip, type ZipArchive } from '../scan/zip-reader.ts';
import { recordSeverity } from './cvss.ts';
import { ecosystemBase, identityCves, type OsvRecord, packageKey, parseOsv, toMicros } from './osv.ts';

export interface ImportProgress {
  /** Files or archive entries read so far. */
  done: number;
  total: number;
}

export interface ImportOptions {
  onProgress?: (progress: ImportProgress) => void;
  /** The import ledger's name for this source, also used in errors; the absolute path by default. */
  source?: string;
  /** Only a ZIP archive is taken (an upload): anything else is refused, not read as a record. */
  archiveOnly?: boolean;
  /** Records per write transaction (default 1000). */
  batchSize?: number;
}

export interface InvalidRecord {
  /** The file, or the archive entry, the record came from. */
  file: string;
  id?: string;
  reason: string;
}

export interface ImportReport {
  source: string;
  /** Record files or entries read. */
  total: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Records stored as withdrawn by this import (new, or a stored record now withdrawn). */
  withdrawn: number;
  skippedInvalid: number;
  /** The first INVALID_LISTED invalid records, with their reasons. */
  invalid: InvalidRecord[];
  /** The data's generation after the import. */
  generation: number;
  generationBumped: boolean;
  /** Packages named by records this import added, updated or withdrew (before and after). */
  changed: PackageRef[];
  /** The newest `modified` among the records read. */
  lastModified: string | null;
  elapsedMs: number;
}

export type ImportResult = { ok: true; report: ImportReport } | { ok: false; error: string };

const INVALID_LISTED = 100;
const DEFAULT_BATCH = 1000;
// Kernel records list thousands of versions; none comes near this.
const MAX_RECORD_BYTES = 32 * 1024 * 1024;
const READ_CONCURRENCY = 16;
/** Records written by one import after which the tables' planner statistics are refreshed. */
const ANALYZE_AFTER = 1000;

/** Imports the OSV records at `location` (all.zip, a directory, or a .json file). */
export async function importOsv(
  db: Database,
  location: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const started = performance.now();
  const source = options.source ?? path.resolve(location);
  const opened = await openSource(location, source, options.archiveOnly ?? false);
  if (!opened.ok) return opened;
  const input = opened.value;
  const run = new ImportRun(db, source);
  // Reading and parsing the next batch overlaps the database writing the current one: the
  // database (PGlite's worker, or the server) is the slower side, so this hides most of the rest.
  let writing: Promise<void> = Promise.resolve();
  let done = 0;
  const write = async (candidates: Map<string, Candidate>, size: number) => {
    await run.commit(candidates);
    done += size;
    options.onProgress?.({ done, total: input.total });
  };
  const hand = async (batch: RecordText[]) => {
    const candidates = run.parse(batch);
    // One batch at a time in the database, in order.
    await writing;
    writing = write(candidates, batch.length);
    // A failure surfaces at the next await of `writing`, not as an unhandled rejection meanwhile.
    writing.catch(() => {});
  };
  try {
    const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH);
    let batch: RecordText[] = [];
    for await (const item of input.records()) {
      batch.push(item);
      if (batch.length < batchSize) continue;
      await hand(batch);
      batch = [];
    }
    if (batch.length > 0) await hand(batch);
    await writing;
  } finally {
    await writing.catch(() => {});
    await input.close();
  }
  return { ok: true, report: await run.finish(performance.now() - started) };
}

/** One record's text, or why it could not be read. */
type RecordText = { file: string; text: string } | { file: string; error: string };

interface RecordInput {
  total: number;
  records(): AsyncIterable<RecordText>;
  close(): Promise<void>;
}

type Opened = { ok: true; value: RecordInput } | { ok: false; error: string };

async function openSource(location: string, name: string, archiveOnly: boolean): Promise<Opened> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(location);
  } catch (error) {
    return { ok: false, error: `cannot read ${name}: ${(error as Error).message}` };
  }
  const zip = !info.isDirectory() && (await isZip(location));
  if (archiveOnly && !zip) return { ok: false, error: `${name}: not a ZIP archive` };
  if (info.isDirectory()) return openDirectory(location);
  if (zip) return openArchive(location, name);
  return openJsonFile(location);
}

async function isZip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    // "PK\3\4" starts an archive with entries, "PK\5\6" an empty one.
    return bytesRead === 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
  } finally {
    await handle.close();
  }
}

async function openArchive(file: string, name: string): Promise<Opened> {
  const opened = await openZip({ path: file });
  if (!opened.ok) return { ok: false, error: `${name}: ${opened.error}` };
  const archive: ZipArchive = opened.value;
  let total = 0;
  for (const entry of archive.entries()) if (isRecordEntry(entry.name, entry.isDirectory)) total++;
  const utf8 = new TextDecoder('utf-8');
  return {
    ok: true,
    value: {
      total,
      async *records() {
        for (const entry of archive.entries()) {
          if (!isRecordEntry(entry.name, entry.isDirectory)) continue;
          const read = await archive.read(entry, { maxBytes: MAX_RECORD_BYTES });
          yield read.ok
            ? { file: entry.name, text: utf8.decode(read.value) }
            : { file: entry.name, error: read.error };
        }
      },
      close: () => archive.close(),
    },
  };
}

function isRecordEntry(name: string, isDirectory: boolean): boolean {
  return !isDirectory && name.toLowerCase().endsWith('.json');
}

async function openDirectory(dir: string): Promise<Opened> {
  let files: string[];
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    files = entries
      .filter((e) => e.isFile() && e.name.toLowerCase().endsWith('.json'))
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
  } catch (error) {
    return { ok: false, error: `cannot list ${dir}: ${(error as Error).message}` };
  }
  return {
    ok: true,
    value: {
      total: files.length,
      async *records() {
        // A few reads at once: small files cost a round trip each, not bandwidth.
        for (let i = 0; i < files.length; i += READ_CONCURRENCY) {
          const group = files.slice(i, i + READ_CONCURRENCY);
          yield* await Promise.all(group.map((file) => readText(file, path.relative(dir, file))));
        }
      },
      close: async () => {},
    },
  };
}

async function openJsonFile(file: string): Promise<Opened> {
  return {
    ok: true,
    value: {
      total: 1,
      async *records() {
        yield await readText(file, path.basename(file));
      },
      close: async () => {},
    },
  };
}

async function readText(file: string, name: string): Promise<RecordText> {
  try {
    const info = await stat(file);
    if (info.size > MAX_RECORD_BYTES) return { file: name, error: `${info.size} bytes, over the record cap` };
    return { file: name, text: await readFile(file, 'utf8') };
  } catch (error) {
    return { file: name, error: (error as Error).message };
  }
}

/** A record read far enough to know whether it is newer than the stored one. */
interface Candidate {
  file: string;
  value: unknown;
  id: string;
  modifiedUs: number;
}

/** A validated record, in the shape of its rows. */
interface Prepared {
  file: string;
  id: string;
  modifiedUs: number;
  modified: string;
  withdrawn: boolean;
  advisory: AdvisoryRow;
  affected: AffectedRow[];
}

class ImportRun {
  private readonly db: Database;
  private readonly source: string;
  private total = 0;
  private added = 0;
  private updated = 0;
  private unchanged = 0;
  private withdrawn = 0;
  private skippedInvalid = 0;
  private readonly invalid: InvalidRecord[] = [];
  private readonly changed = new Map<string, PackageRef>();
  private newest: { us: number; text: string } | undefined;

  constructor(db: Database, source: string) {
    this.db = db;
    this.source = source;
  }

  /** Reads a batch's records as far as their ids and modified times (no database work). */
  parse(items: readonly RecordText[]): Map<string, Candidate> {
    this.total += items.length;
    const candidates = new Map<string, Candidate>();
    for (const item of items) {
      const candidate = this.candidate(item);
      if (!candidate) continue;
      // The same id twice in one batch: the newer copy wins, the other is not news.
      const other = candidates.get(candidate.id);
      if (other && other.modifiedUs >= candidate.modifiedUs) {
        this.unchanged++;
        continue;
      }
      if (other) this.unchanged++;
      candidates.set(candidate.id, candidate);
    }
    return candidates;
  }

  /** Validates the records newer than the stored ones and writes them. */
  async commit(candidates: Map<string, Candidate>): Promise<void> {
    if (candidates.size === 0) return;
    const stored = await advisoryModifiedTimes(this.db, [...candidates.keys()]);
    const prepared: Prepared[] = [];
    for (const candidate of candidates.values()) {
      const before = stored.get(candidate.id);
      if (before !== undefined && candidate.modifiedUs <= before) {
        this.unchanged++;
        continue;
      }
      const result = prepare(candidate);
      if (result.ok) prepared.push(result.value);
      else this.reject({ file: candidate.file, id: candidate.id, reason: result.reason });
    }
    if (prepared.length === 0) return;
    try {
      this.tally(await this.db.transaction((tx) => write(tx, prepared)));
    } catch (error) {
      if (!isDataError(error)) throw error;
      // Some record the checks above let through is refused by the database (say, text it cannot
      // store); write one at a time to find it and keep the rest.
      for (const record of prepared) {
        try {
          this.tally(await this.db.transaction((tx) => write(tx, [record])));
        } catch (single) {
          if (!isDataError(single)) throw single;
          // The code only: the database's message may quote the value it refused.
          this.reject({
            file: record.file,
            id: record.id,
            reason: `refused by the database (SQLSTATE ${(single as { code: string }).code})`,
          });
        }
      }
    }
  }

  async finish(elapsedMs: number): Promise<ImportReport> {
    // PGlite runs no autovacuum, so without this the planner would never learn the tables' sizes.
    if (this.added + this.updated + this.withdrawn >= ANALYZE_AFTER) {
      await analyzeAdvisories(this.db);
    }
    // The records per ecosystem that scans report; only the ecosystems this import touched.
    const touched = [...new Set([...this.changed.values()].map((ref) => ecosystemBase(ref.ecosystem)))];
    if (touched.length > 0) await this.db.transaction((tx) => refreshEcosystemData(tx, touched));
    const { generation, bumped } = await settleGeneration(this.db);
    const report: ImportReport = {
      source: this.source,
      total: this.total,
      added: this.added,
      updated: this.updated,
      unchanged: this.unchanged,
      withdrawn: this.withdrawn,
      skippedInvalid: this.skippedInvalid,
      invalid: this.invalid,
      generation,
      generationBumped: bumped,
      changed: [...this.changed.values()].sort(
        (a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.package.localeCompare(b.package),
      ),
      lastModified: this.newest?.text ?? null,
      elapsedMs: Math.round(elapsedMs),
    };
    const { changed: _changed, invalid: _invalid, ...summary } = report;
    await recordImport(this.db, this.source, report.lastModified, summary);
    return report;
  }

  /** Reads just enough of a record (JSON, id, modified) to compare it with the stored one. */
  private candidate(item: RecordText): Candidate | undefined {
    if ('error' in item) {
      this.reject({ file: item.file, reason: `unreadable: ${item.error}` });
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(item.text.charCodeAt(0) === 0xfeff ? item.text.slice(1) : item.text);
    } catch (error) {
      this.reject({ file: item.file, reason: notJson(error as Error) });
      return undefined;
    }
    // PostgreSQL text and jsonb cannot hold NUL (JSON writes it only escaped); refuse it here
    // rather than fail a batch.
    if (item.text.includes('\\u0000')) {
      this.reject({ file: item.file, reason: 'contains a NUL character' });
      return undefined;
    }
    const head = value as { id?: unknown; modified?: unknown } | null;
    if (typeof head !== 'object' || head === null || Array.isArray(head)) {
      this.reject({ file: item.file, reason: 'not a JSON object' });
      return undefined;
    }
    const id = typeof head.id === 'string' && head.id.length > 0 ? head.id : undefined;
    if (!id) {
      this.reject({ file: item.file, reason: 'id: missing' });
      return undefined;
    }
    const modifiedUs = typeof head.modified === 'string' ? toMicros(head.modified) : undefined;
    if (modifiedUs === undefined) {
      this.reject({ file: item.file, id, reason: 'modified: not an RFC 3339 timestamp' });
      return undefined;
    }
    if (!this.newest || modifiedUs > this.newest.us)
      this.newest = { us: modifiedUs, text: head.modified as string };
    return { file: item.file, value, id, modifiedUs };
  }

  private reject(invalid: InvalidRecord): void {
    this.skippedInvalid++;
    if (this.invalid.length < INVALID_LISTED) this.invalid.push(invalid);
  }

  private tally(outcome: WriteOutcome): void {
    this.added += outcome.added;
    this.updated += outcome.updated;
    this.unchanged += outcome.unchanged;
    this.withdrawn += outcome.withdrawn;
    for (const ref of outcome.changed) this.changed.set(`${ref.ecosystem}\0${ref.package}`, ref);
  }
}

/** Validates a record and shapes its rows; the reason says what is wrong. */
function prepare(candidate: Candidate): { ok: true; value: Prepared } | { ok: false; reason: string } {
  const parsed = parseOsv(candidate.value);
  if (!parsed.ok) return parsed;
  const record = parsed.record;
  if (record.id !== candidate.id) return { ok: false, reason: 'id: not a string' };
  const severity = recordSeverity(record);
  const withdrawn = Boolean(record.withdrawn);
  const advisory: AdvisoryRow = {
    id: record.id,
    modified: record.modified,
    published: record.published ?? null,
    withdrawn: record.withdrawn ?? null,
    aliases: record.aliases ?? [],
    upstream: record.upstream ?? [],
    cves: identityCves(record),
    summary: record.summary ?? null,
    details: record.details ?? null,
    severity: severity.severity,
    cvssScore: severity.cvssScore ?? null,
    cvssVector: severity.cvssVector ?? null,
    raw: candidate.value,
  };
  return {
    ok: true,
    value: {
      file: candidate.file,
      id: record.id,
      modifiedUs: candidate.modifiedUs,
      modified: record.modified,
      withdrawn,
      advisory,
      // A withdrawn record matches nothing, so it keeps no affected rows.
      affected: withdrawn ? [] : affectedRows(record),
    },
  };
}

/** The rows matching reads: one per affected package that has a version range or list. */
function affectedRows(record: OsvRecord): AffectedRow[] {
  const rows: AffectedRow[] = [];
  for (const affected of record.affected ?? []) {
    const pkg = affected.package;
    if (!pkg) continue;
    // GIT ranges name commits, which no installed package carries.
    const ranges = (affected.ranges ?? [])
      .filter((r) => r.type === 'ECOSYSTEM' || r.type === 'SEMVER')
      .map((r) => ({ type: r.type, events: r.events }));
    const versions = affected.versions ?? [];
    if (ranges.length === 0 && versions.length === 0) continue;
    rows.push({
      advisoryId: record.id,
      ecosystem: pkg.ecosystem,
      ecosystemBase: ecosystemBase(pkg.ecosystem),
      packageKey: packageKey(pkg.ecosystem, pkg.name),
      packageName: pkg.name,
      ranges,
      versions,
    });
  }
  return rows;
}

interface WriteOutcome {
  added: number;
  updated: number;
  unchanged: number;
  withdrawn: number;
  changed: PackageRef[];
}

/**
 * Writes a batch in one transaction. The stored times are read again under row locks, so that
 * two imports running at once never let an older copy replace a newer one.
 */
async function write(tx: Queryable, batch: readonly Prepared[]): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { added: 0, updated: 0, unchanged: 0, withdrawn: 0, changed: [] };
  const stored = await advisoryModifiedTimes(
    tx,
    batch.map((r) => r.id),
    true,
  );
  const records: Prepared[] = [];
  for (const record of batch) {
    const before = stored.get(record.id);
    if (before !== undefined && record.modifiedUs <= before) {
      outcome.unchanged++;
      continue;
    }
    records.push(record);
    if (record.withdrawn) outcome.withdrawn++;
    else if (before === undefined) outcome.added++;
    else outcome.updated++;
  }
  if (records.length === 0) return outcome;

  const replaced = records.filter((r) => stored.has(r.id)).map((r) => r.id);
  for (const ref of await deleteAdvisoryDetails(tx, replaced)) outcome.changed.push(ref);
  await saveAdvisories(
    tx,
    records.map((r) => r.advisory),
  );
  const affected = records.flatMap((r) => r.affected);
  await saveAffected(tx, affected);
  for (const row of affected) outcome.changed.push({ ecosystem: row.ecosystem, package: row.packageName });
  await markGenerationPending(tx);
  return outcome;
}

/** Where JSON.parse stopped, when it says; never its message, which quotes the text around it. */
function notJson(error: Error): string {
  const at = /at position (\d+)/.exec(error.message);
  return at ? `not JSON (at position ${at[1]})` : 'not JSON';
}

/**
 * A PostgreSQL error about the data itself (SQLSTATE class 22, data exception; 23, integrity),
 * as opposed to the connection or the server failing, which must end the import.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
