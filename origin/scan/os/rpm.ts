// Red Hat family packages: rpm's SQLite database (RHEL/Rocky/Alma 9+, Fedora 33+, UBI), whose
// Packages table holds one RPM header per package. SQLite opens files, not buffers (Node's
// in-memory deserialize() only exists from 24.16 and copies the database once more), so the
// bytes go to a file in a fresh private temporary directory, under a fixed name of our own,
// removed before parse() returns. The older BerkeleyDB and NDB databases are recognised and
// reported as unsupported, reading only their first chunk.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, StreamingFileParser, WholeFileParser } from '../layer/file-parser.ts';

const SQLITE_DBS = new Set(['var/lib/rpm/rpmdb.sqlite', 'usr/lib/sysimage/rpm/rpmdb.sqlite']);
const LEGACY_DBS: ReadonlyMap<string, string> = new Map([
  ['var/lib/rpm/Packages', 'BerkeleyDB'],
  ['usr/lib/sysimage/rpm/Packages', 'BerkeleyDB'],
  ['var/lib/rpm/Packages.db', 'NDB'],
  ['usr/lib/sysimage/rpm/Packages.db', 'NDB'],
]);

/** rpm refuses headers with a data store over 256 MiB; a real one is a few hundred KiB. */
const MAX_HEADER_BYTES = 256 * 1024 * 1024;
const MAX_INDEX_ENTRIES = 0xffff;

const TAG_NAME = 1000;
const TAG_VERSION = 1001;
const TAG_RELEASE = 1002;
const TAG_EPOCH = 1003;
const TAG_SOURCERPM = 1044;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

export const rpmParser: WholeFileParser = {
  kind: 'whole',
  name: 'rpm',
  // A UBI or Rocky base image's database is 5–30 MiB; even a full Fedora desktop's is ~100 MiB.
  maxBytes: 128 * 1024 * 1024,
  wants(entry: EntryInfo): boolean {
    return SQLITE_DBS.has(entry.path);
  },
  async parse(entry: EntryInfo, content: Uint8Array): Promise<ParseOutcome> {
    const outcome = await parseRpmSqlite(content);
    if (!outcome.ok) return { ok: false, warning: `${entry.path}: ${outcome.warning}` };
    return outcome.warnings
      ? { ...outcome, warnings: outcome.warnings.map((w) => `${entry.path}: ${w}`) }
      : outcome;
  },
};

export const rpmLegacyDbParser: StreamingFileParser = {
  kind: 'streaming',
  name: 'rpm',
  wants(entry: EntryInfo): boolean {
    return LEGACY_DBS.has(entry.path);
  },
  open(entry: EntryInfo) {
    const format = LEGACY_DBS.get(entry.path);
    return {
      push: () => false,
      finish: (): ParseOutcome => ({
        ok: false,
        warning: `${entry.path}: rpm ${format} databases are not supported (only rpmdb.sqlite); its packages are not listed`,
      }),
    };
  },
};

/** The packages of an rpmdb.sqlite file's bytes; the warnings do not name the file. */
export async function parseRpmSqlite(content: Uint8Array): Promise<ParseOutcome> {
  if (!startsWith(content, 'SQLite format 3\0')) return { ok: false, warning: 'not an SQLite database' };
  const dir = await mkdtemp(join(tmpdir(), 'scan-rpmdb-'));
  try {
    const file = join(dir, 'rpmdb.sqlite');
    await writeFile(file, content, { mode: 0o600 });
    return readPackages(file);
  } catch (error) {
    return {
      ok: false,
      warning: `cannot read the rpm database: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function readPackages(file: string): ParseOutcome {
  const db = new DatabaseSync(file, {
    readOnly: true,
    defensive: true,
    // Caps any value SQLite makes, so a hostile schema cannot have it build huge ones.
    limits: { length: MAX_HEADER_BYTES },
  });
  try {
    // The schema is the file's: reading through a view or a generated column would run
    // whatever SQL it holds, so only a plain table with a stored blob column is read.
    const table = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'Packages'")
      .get();
    if (table === undefined || /^\s*CREATE\s+VIRTUAL/i.test(String(table.sql))) {
      return { ok: false, warning: 'the rpm database has no Packages table' };
    }
    const blob = db.prepare("SELECT hidden FROM pragma_table_xinfo('Packages') WHERE name = 'blob'").get();
    if (blob === undefined || blob.hidden !== 0) {
      return { ok: false, warning: 'the rpm database has no stored blob column in Packages' };
    }
    const packages: FoundPackage[] = [];
    let bad = 0;
    for (const row of db.prepare('SELECT blob FROM Packages').iterate()) {
      const header = row.blob instanceof Uint8Array ? parseRpmHeader(row.blob) : undefined;
      if (header === undefined) bad++;
      else if (header.name !== 'gpg-pubkey') packages.push(header);
    }
    if (bad > 0 && packages.length === 0) {
      return { ok: false, warning: `none of the rpm database's ${bad} headers could be read` };
    }
    if (bad > 0) {
      const warning = `${bad} of the rpm database's headers could not be read; their packages are not listed`;
      return { ok: true, packages, warnings: [warning] };
    }
    return { ok: true, packages };
  } finally {
    db.close();
  }
}

/**
 * One package from an RPM header as the database stores it: il and dl (big-endian counts of
 * index entries and data bytes), il 16-byte entries (tag, type, offset, count), the data store.
 * Undefined when the header is malformed or lacks a name or version. gpg-pubkey entries are
 * returned too: they are keys, not packages, and the caller drops them.
 */
export function parseRpmHeader(blob: Uint8Array): FoundPackage | undefined {
  if (blob.length < 8) return undefined;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  if (il === 0 || il > MAX_INDEX_ENTRIES || dl > MAX_HEADER_BYTES) return undefined;
  const dataStart = 8 + il * 16;
  if (dataStart + dl > blob.length) return undefined;
  const data = blob.subarray(dataStart, dataStart + dl);

  const strings = new Map<number, string>();
  let epoch: number | undefined;
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getInt32(at);
    const type = view.getUint32(at + 4);
    const offset = view.getInt32(at + 8);
    const count = view.getUint32(at + 12);
    if (offset < 0 || offset >= dl) continue;
    if (tag === TAG_EPOCH && type === TYPE_INT32 && count >= 1 && offset % 4 === 0 && offset + 4 <= dl) {
      epoch = new DataView(data.buffer, data.byteOffset + offset, 4).getUint32(0);
    } else if (
      (tag === TAG_NAME || tag === TAG_VERSION || tag === TAG_RELEASE || tag === TAG_SOURCERPM) &&
      (type === TYPE_STRING || type === TYPE_STRING_ARRAY || type === TYPE_I18NSTRING)
    ) {
      const end = data.indexOf(0, offset);
      if (end < 0) return undefined;
      strings.set(tag, new TextDecoder().decode(data.subarray(offset, end)));
    }
  }
  const name = strings.get(TAG_NAME);
  const version = strings.get(TAG_VERSION);
  if (!name || !version) return undefined;
  const release = strings.get(TAG_RELEASE);
  const versionRelease = release ? `${version}-${release}` : version;
  const found: FoundPackage = {
    kind: 'rpm',
    name,
    version: epoch !== undefined ? `${epoch}:${versionRelease}` : versionRelease,
  };
  const source = parseSourceRpm(strings.get(TAG_SOURCERPM));
  if (source !== undefined) {
    found.sourceName = source.name;
    if (source.versionRelease !== versionRelease) found.sourceVersion = source.versionRelease;
  }
  return found;
}

/** "glibc-2.34-60.el9.src.rpm" → glibc, 2.34-60.el9. */
export function parseSourceRpm(
  file: string | undefined,
): { name: string; versionRelease: string } | undefined {
  const base = file?.replace(/\.(?:no)?src\.rpm$/, '');
  if (base === undefined || base === file) return undefined;
  const releaseDash = base.lastIndexOf('-');
  const versionDash = base.lastIndexOf('-', releaseDash - 1);
  if (releaseDash <= 0 || versionDash <= 0) return undefined;
  return { name: base.slice(0, versionDash), versionRelease: base.slice(versionDash + 1) };
}

function startsWith(bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false;
  return true;
}
