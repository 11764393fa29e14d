// Importing OSV records: from a directory, an osv.dev all.zip and a single file; incremental
// re-imports; withdrawn and invalid records; the generation counter and the import ledger.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Database } from '../../origin/metadata/database.ts';
import { currentGeneration, listImports } from '../../origin/metadata/vulnerabilities.ts';
import { type ImportReport, importOsv } from '../../origin/vulndb/import.ts';
import { FIXTURES, openTestDatabase, resetVulnData, type TestDb, zipDirectory } from './db.ts';

let handle: TestDb;
let db: Database;
let work: string;

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
});
afterAll(async () => {
  await handle?.close();
});
beforeEach(async () => {
  await resetVulnData(db);
  work = await mkdtemp(path.join(tmpdir(), 'vulndb-import-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const FIXTURE_COUNT = 12;

async function imported(
  location: string,
  options: Parameters<typeof importOsv>[2] = {},
): Promise<ImportReport> {
  const result = await importOsv(db, location, options);
  if (!result.ok) throw new Error(result.error);
  return result.report;
}

async function fixture(id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(FIXTURES, `${id}.json`), 'utf8'));
}

async function count(table: string): Promise<number> {
  const rows = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? 0;
}

describe('importing OSV records', () => {
  test('a directory is searched recursively for .json records; other files are ignored', async () => {
    const nested = path.join(work, 'data', 'deeper');
    await mkdir(nested, { recursive: true });
    const files = await readdir(FIXTURES);
    for (const [i, file] of files.entries()) {
      await cp(path.join(FIXTURES, file), path.join(i % 2 ? nested : path.join(work, 'data'), file));
    }
    await writeFile(path.join(work, 'data', 'README.txt'), 'not a record');

    const report = await imported(path.join(work, 'data'));
    expect(report).toMatchObject({
      total: FIXTURE_COUNT,
      added: FIXTURE_COUNT,
      updated: 0,
      unchanged: 0,
      withdrawn: 0,
      skippedInvalid: 0,
      generation: 1,
      generationBumped: true,
      lastModified: '2025-03-09T01:02:11Z',
    });
    expect(report.changed).toContainEqual({ ecosystem: 'Debian:12', package: 'glibc' });
    expect(report.changed).toContainEqual({ ecosystem: 'npm', package: 'minimist' });
    expect(report.changed).toContainEqual({
      ecosystem: 'Maven',
      package: 'org.apache.logging.log4j:log4j-core',
    });
    expect(await count('vuln_advisories')).toBe(FIXTURE_COUNT);
    // CVE-2021-3711 names no package; GHSA-jfh8 has three affected entries, DSA-4963-1 two…
    expect(await count('vuln_affected')).toBe(17);
  });

  test('an osv.dev all.zip is read entry by entry', async () => {
    const zip = path.join(work, 'all.zip');
    zipDirectory(FIXTURES, zip);
    const progress: number[] = [];
    const report = await imported(zip, { onProgress: (p) => progress.push(p.done), batchSize: 5 });
    expect(report).toMatchObject({
      total: FIXTURE_COUNT,
      added: FIXTURE_COUNT,
      skippedInvalid: 0,
      generation: 1,
    });
    expect(progress).toEqual([5, 10, 12]);
    const rows = await db.query<{ severity: string; cvss_score: number; cves: string[] }>(
      "SELECT severity, cvss_score, cves FROM vuln_advisories WHERE id = 'GHSA-jfh8-c2jp-5v3q'",
    );
    expect(rows).toEqual([{ severity: 'critical', cvss_score: 10, cves: ['CVE-2021-44228'] }]);
  });

  test('a single JSON file is one record', async () => {
    const report = await imported(path.join(FIXTURES, 'GO-2023-1987.json'));
    expect(report).toMatchObject({
      total: 1,
      added: 1,
      generation: 1,
      changed: [{ ecosystem: 'Go', package: 'stdlib' }],
    });
  });

  test('a path that cannot be read is an error value, not an exception', async () => {
    const result = await importOsv(db, path.join(work, 'missing.zip'));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain('missing.zip');
    const bad = path.join(work, 'bad.zip');
    await writeFile(bad, 'PK\x03\x04 truncated');
    const broken = await importOsv(db, bad);
    expect(broken.ok).toBe(false);
  });
});

describe('incremental imports', () => {
  test('a second import of the same data changes nothing and leaves the generation alone', async () => {
    await imported(FIXTURES);
    const again = await imported(FIXTURES);
    expect(again).toMatchObject({
      added: 0,
      updated: 0,
      unchanged: FIXTURE_COUNT,
      generation: 1,
      generationBumped: false,
      changed: [],
    });
  });

  test('a record modified since is updated, its old and new packages reported, the generation bumped', async () => {
    await imported(FIXTURES);
    const dir = path.join(work, 'data');
    await cp(FIXTURES, dir, { recursive: true });
    const record = await fixture('GHSA-j8r2-6x86-q33q');
    record.modified = '2025-06-01T00:00:00Z';
    record.affected = [
      { package: { ecosystem: 'PyPI', name: 'requests-toolbelt' }, ranges: [], versions: ['1.0.0'] },
    ];
    await writeFile(path.join(dir, 'GHSA-j8r2-6x86-q33q.json'), JSON.stringify(record));

    const report = await imported(dir);
    expect(report).toMatchObject({
      added: 0,
      updated: 1,
      unchanged: FIXTURE_COUNT - 1,
      generation: 2,
      generationBumped: true,
    });
    expect(report.changed).toEqual([
      { ecosystem: 'PyPI', package: 'requests' },
      { ecosystem: 'PyPI', package: 'requests-toolbelt' },
    ]);
    const affected = await db.query<{ package_name: string }>(
      "SELECT package_name FROM vuln_affected WHERE advisory_id = 'GHSA-j8r2-6x86-q33q'",
    );
    expect(affected).toEqual([{ package_name: 'requests-toolbelt' }]);
  });

  test('a copy that is not newer than the stored record is skipped, whatever it says', async () => {
    await imported(path.join(FIXTURES, 'GO-2023-1987.json'));
    const record = await fixture('GO-2023-1987');
    record.summary = 'changed without a new modified time';
    const file = path.join(work, 'GO-2023-1987.json');
    await writeFile(file, JSON.stringify(record));
    expect(await imported(file)).toMatchObject({ unchanged: 1, updated: 0, generation: 1 });
    record.modified = '2020-01-01T00:00:00Z';
    await writeFile(file, JSON.stringify(record));
    expect(await imported(file)).toMatchObject({ unchanged: 1, updated: 0, generation: 1 });
  });

  test('the same id twice in one import: the newer copy is kept', async () => {
    const older = await fixture('GO-2023-1987');
    const newer = { ...older, modified: '2025-01-01T00:00:00Z', summary: 'newer' };
    await writeFile(path.join(work, 'a.json'), JSON.stringify(newer));
    await writeFile(path.join(work, 'b.json'), JSON.stringify(older));
    const report = await imported(work);
    expect(report).toMatchObject({ added: 1, unchanged: 1 });
    const rows = await db.query<{ summary: string }>(
      "SELECT summary FROM vuln_advisories WHERE id = 'GO-2023-1987'",
    );
    expect(rows).toEqual([{ summary: 'newer' }]);
  });

  test('an import that wrote and died before bumping is settled by the next import', async () => {
    await imported(FIXTURES);
    await db.query('UPDATE vuln_generation SET pending = true WHERE id = 1');
    const report = await imported(FIXTURES);
    expect(report).toMatchObject({ unchanged: FIXTURE_COUNT, generation: 2, generationBumped: true });
    expect(await currentGeneration(db)).toBe(2);
  });

  test('the ledger keeps each source with the newest modified time seen there', async () => {
    await imported(FIXTURES, { source: 'osv:test' });
    await imported(path.join(FIXTURES, 'GO-2023-1987.json'), { source: 'osv:test' });
    const ledger = await listImports(db);
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({ source: 'osv:test', lastModified: new Date('2025-03-09T01:02:11Z') });
    expect(ledger[0]?.report).toMatchObject({ total: 1, unchanged: 1 });
  });
});

describe('withdrawn records', () => {
  test('a record withdrawn since is stored as withdrawn, keeps no affected rows, and its packages are reported', async () => {
    await imported(FIXTURES);
    const record = await fixture('GHSA-xvch-5gv4-984h');
    record.modified = '2025-05-01T00:00:00Z';
    record.withdrawn = '2025-05-01T00:00:00Z';
    const file = path.join(work, 'GHSA-xvch-5gv4-984h.json');
    await writeFile(file, JSON.stringify(record));

    const report = await imported(file);
    expect(report).toMatchObject({ withdrawn: 1, updated: 0, added: 0, generation: 2 });
    expect(report.changed).toEqual([{ ecosystem: 'npm', package: 'minimist' }]);
    const rows = await db.query<{ withdrawn: Date }>(
      "SELECT withdrawn FROM vuln_advisories WHERE id = 'GHSA-xvch-5gv4-984h'",
    );
    expect(rows[0]?.withdrawn).toEqual(new Date('2025-05-01T00:00:00Z'));
    expect(await db.query("SELECT 1 FROM vuln_affected WHERE advisory_id = 'GHSA-xvch-5gv4-984h'")).toEqual(
      [],
    );
  });

  test('a record withdrawn before it was ever imported is stored (so it is skipped next time) and counted', async () => {
    const record = { ...(await fixture('GO-2023-1987')), withdrawn: '2024-06-01T00:00:00Z' };
    const file = path.join(work, 'GO-2023-1987.json');
    await writeFile(file, JSON.stringify(record));
    expect(await imported(file)).toMatchObject({ withdrawn: 1, added: 0, changed: [] });
    expect(await imported(file)).toMatchObject({ withdrawn: 0, unchanged: 1, generation: 1 });
  });
});

describe('invalid records', () => {
  test('each is counted with its reason and the rest are imported', async () => {
    await cp(path.join(FIXTURES, 'GO-2023-1987.json'), path.join(work, 'GO-2023-1987.json'));
    await writeFile(path.join(work, 'not-json.json'), '{"id": "X-1", ');
    await writeFile(path.join(work, 'array.json'), '[1, 2]');
    await writeFile(path.join(work, 'no-id.json'), JSON.stringify({ modified: '2024-01-01T00:00:00Z' }));
    await writeFile(
      path.join(work, 'bad-time.json'),
      JSON.stringify({ id: 'X-2', modified: 'last tuesday' }),
    );
    await writeFile(
      path.join(work, 'bad-affected.json'),
      JSON.stringify({ id: 'X-3', modified: '2024-01-01T00:00:00Z', affected: { package: 'nope' } }),
    );
    await writeFile(
      path.join(work, 'nul.json'),
      JSON.stringify({ id: 'X-4', modified: '2024-01-01T00:00:00Z', details: 'a\u0000b' }),
    );
    const report = await imported(work);
    expect(report).toMatchObject({ total: 7, added: 1, skippedInvalid: 6, generation: 1 });
    const reasons = Object.fromEntries(report.invalid.map((i) => [i.file, i.reason]));
    expect(reasons['not-json.json']).toMatch(/^not JSON/);
    expect(reasons['array.json']).toBe('not a JSON object');
    expect(reasons['no-id.json']).toBe('id: missing');
    expect(reasons['bad-time.json']).toBe('modified: not an RFC 3339 timestamp');
    expect(reasons['bad-affected.json']).toMatch(/^affected: /);
    expect(reasons['nul.json']).toBe('contains a NUL character');
  });

  // Found by test/fuzz/osv.test.ts: a day past the month's end passed the timestamp check, and
  // as the newest `modified` it reached the ledger, which PostgreSQL refused: the import failed.
  test('a modified time that names no instant is refused, even as the newest one', async () => {
    for (const file of await readdir(FIXTURES)) await cp(path.join(FIXTURES, file), path.join(work, file));
    await writeFile(
      path.join(work, 'X-6.json'),
      JSON.stringify({ id: 'X-6', modified: '2099-02-30T00:00:00Z' }),
    );
    const report = await imported(work);
    expect(report).toMatchObject({ added: FIXTURE_COUNT, skippedInvalid: 1 });
    expect(report.invalid[0]).toMatchObject({
      file: 'X-6.json',
      reason: 'modified: not an RFC 3339 timestamp',
    });
    expect(report.lastModified).not.toBe('2099-02-30T00:00:00Z');
  });

  test('a record the database refuses is skipped alone; the rest of its batch is kept', async () => {
    for (const file of await readdir(FIXTURES)) await cp(path.join(FIXTURES, file), path.join(work, file));
    // A lone surrogate is valid JavaScript text but not valid jsonb.
    await writeFile(
      path.join(work, 'X-5.json'),
      `{"id": "X-5", "modified": "2024-01-01T00:00:00Z", "details": "\\ud800 alone"}`,
    );
    const report = await imported(work);
    expect(report).toMatchObject({ added: FIXTURE_COUNT, skippedInvalid: 1, generation: 1 });
    expect(report.invalid[0]).toMatchObject({ file: 'X-5.json', id: 'X-5' });
    expect(report.invalid[0]?.reason).toMatch(/^refused by the database/);
  });
});
