// origin/scan/os/rpm.ts: an rpmdb.sqlite made by rpm itself, holding packages built by
// rpmbuild, is read as `rpm -qa` reads it; older databases and hostile SQLite files give
// warnings, and the temporary copy never outlives the parse.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeLayer } from '../../../origin/scan/layer/analyze-layer.ts';
import { mergeLayers } from '../../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../../origin/scan/layer/readers.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { parseRpmSqlite, parseSourceRpm } from '../../../origin/scan/os/rpm.ts';
import { chunked, run, tarBytes } from './tar-helpers.ts';

// One source package, "tiny", with an epoch, building two binary packages: tiny and tiny-libs.
const SPEC = `
Name: tiny
Version: 1.2.3
Release: 4.el9
Epoch: 2
Summary: a package for the scanner's tests
License: MIT
BuildArch: noarch
%description
test
%package libs
Summary: its libraries
%description libs
libs
%files
%files libs
`;

let work: string;
let rpmdb: Uint8Array;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'scan-layer-rpm-'));
  writeFileSync(join(work, 'tiny.spec'), SPEC);
  run('rpmbuild', ['--define', `_topdir ${work}/top`, '--quiet', '-bb', join(work, 'tiny.spec')]);
  const dir = join(work, 'top/RPMS/noarch');
  const rpms = readdirSync(dir).map((f) => join(dir, f));
  expect(rpms.length).toBe(2);
  const dbpath = join(work, 'db');
  run('rpm', ['--dbpath', dbpath, '--initdb']);
  run('rpm', ['--dbpath', dbpath, '-i', '--justdb', '--nodeps', '--nosignature', ...rpms]);
  rpmdb = new Uint8Array(readFileSync(join(dbpath, 'rpmdb.sqlite')));
}, 60_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const leftovers = () => readdirSync(tmpdir()).filter((f) => f.startsWith('scan-rpmdb-'));

describe('rpm sqlite database', () => {
  it('lists what rpm -qa lists: [epoch:]version-release and the source RPM name', async () => {
    const expected = run('rpm', [
      '--dbpath',
      join(work, 'db'),
      '-qa',
      '--qf',
      '%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE} %{SOURCERPM}\n',
    ])
      .toString()
      .trim()
      .split('\n')
      .sort();
    expect(expected).toEqual([
      'tiny 2:1.2.3-4.el9 tiny-1.2.3-4.el9.src.rpm',
      'tiny-libs 2:1.2.3-4.el9 tiny-1.2.3-4.el9.src.rpm',
    ]);
    const outcome = await parseRpmSqlite(rpmdb);
    expect(outcome.ok && outcome.packages.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { kind: 'rpm', name: 'tiny', version: '2:1.2.3-4.el9', sourceName: 'tiny' },
      { kind: 'rpm', name: 'tiny-libs', version: '2:1.2.3-4.el9', sourceName: 'tiny' },
    ]);
  });

  it('leaves no temporary copy behind', async () => {
    const before = leftovers();
    await parseRpmSqlite(rpmdb);
    await parseRpmSqlite(new Uint8Array(rpmdb.subarray(0, 4096)));
    expect(leftovers()).toEqual(before);
  });

  it('scans a Rocky Linux layer holding the database, matching its packages as Rocky Linux:9', async () => {
    const tar = await tarBytes([
      { path: 'etc/os-release', content: 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n' },
      { path: 'var/lib/rpm/rpmdb.sqlite', content: rpmdb },
    ]);
    const layer = await analyzeLayer(chunked(tar, 65536), osPackageParsers);
    if (!layer.ok) throw new Error(layer.reason);
    const image = mergeLayers(
      [{ digest: 'sha256:rocky', inventory: layer.inventory }],
      linkReaders(osPackageParsers),
    ).inventory;
    expect(image.os).toEqual({ id: 'rocky', versionId: '9.3', ecosystem: 'Rocky Linux:9' });
    expect(image.packages.map((p) => [p.name, p.ecosystem, p.path]).sort()).toEqual([
      ['tiny', 'Rocky Linux:9', 'var/lib/rpm/rpmdb.sqlite'],
      ['tiny-libs', 'Rocky Linux:9', 'var/lib/rpm/rpmdb.sqlite'],
    ]);
  });

  it('says BerkeleyDB and NDB databases are not supported, reading no more than a chunk', async () => {
    const tar = await tarBytes([
      { path: 'var/lib/rpm/Packages', lazySize: 50 * 1024 * 1024 },
      { path: 'usr/lib/sysimage/rpm/Packages.db', content: 'ndb' },
    ]);
    const layer = await analyzeLayer(chunked(tar, 65536), osPackageParsers, { maxParserBytes: 1024 * 1024 });
    expect(layer.ok && layer.inventory.warnings).toEqual([
      'var/lib/rpm/Packages: rpm BerkeleyDB databases are not supported (only rpmdb.sqlite); its packages are not listed',
      'usr/lib/sysimage/rpm/Packages.db: rpm NDB databases are not supported (only rpmdb.sqlite); its packages are not listed',
    ]);
  });
});

describe('hostile rpm databases give warnings', () => {
  /** An SQLite file made by `build`, as bytes. */
  function sqliteFile(build: (db: DatabaseSync) => void): Uint8Array {
    const file = join(work, `hostile-${Math.random()}.sqlite`);
    const db = new DatabaseSync(file);
    build(db);
    db.close();
    return new Uint8Array(readFileSync(file));
  }

  it('a file that is not SQLite', async () => {
    expect(await parseRpmSqlite(new TextEncoder().encode('hello'))).toEqual({
      ok: false,
      warning: 'not an SQLite database',
    });
  });

  it('a truncated database', async () => {
    const outcome = await parseRpmSqlite(new Uint8Array(rpmdb.subarray(0, 8192)));
    expect(outcome.ok).toBe(false);
  });

  it('a Packages view that would run SQL of the file’s choosing', async () => {
    const file = sqliteFile((db) => {
      db.exec(
        'CREATE VIEW Packages AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i AS blob FROM n',
      );
    });
    expect(await parseRpmSqlite(file)).toEqual({
      ok: false,
      warning: 'the rpm database has no Packages table',
    });
  });

  it('a generated blob column', async () => {
    const file = sqliteFile((db) => {
      db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB AS (zeroblob(1000000000)))');
      db.exec('INSERT INTO Packages (hnum) VALUES (1)');
    });
    expect(await parseRpmSqlite(file)).toEqual({
      ok: false,
      warning: 'the rpm database has no stored blob column in Packages',
    });
  });

  it('headers that are not RPM headers', async () => {
    const file = sqliteFile((db) => {
      db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)');
      const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
      insert.run(new Uint8Array([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
      insert.run(new Uint8Array(3));
      insert.run(
        new Uint8Array([
          0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 0x61, 0x62, 0x63, 0x64,
        ]),
      );
    });
    expect(await parseRpmSqlite(file)).toEqual({
      ok: false,
      warning: "none of the rpm database's 3 headers could be read",
    });
  });

  it('a header that cannot be read beside ones that can: the packages, and a warning naming the database', async () => {
    const file = join(work, 'one-bad.sqlite');
    writeFileSync(file, rpmdb);
    const db = new DatabaseSync(file);
    db.prepare('INSERT INTO Packages (blob) VALUES (?)').run(new Uint8Array(3));
    db.close();
    const tar = await tarBytes([{ path: 'var/lib/rpm/rpmdb.sqlite', content: readFileSync(file) }]);
    const layer = await analyzeLayer(chunked(tar, 65536), osPackageParsers);
    if (!layer.ok) throw new Error(layer.reason);
    expect(layer.inventory.files.flatMap((f) => f.packages.map((p) => p.name)).sort()).toEqual([
      'tiny',
      'tiny-libs',
    ]);
    expect(layer.inventory.warnings).toEqual([
      "var/lib/rpm/rpmdb.sqlite: 1 of the rpm database's headers could not be read; their packages are not listed",
    ]);
  });
});

describe('source RPM names', () => {
  it('splits name, version and release from the file name', () => {
    expect(parseSourceRpm('glibc-2.34-60.el9.src.rpm')).toEqual({
      name: 'glibc',
      versionRelease: '2.34-60.el9',
    });
    expect(parseSourceRpm('python3-pip-21.3.1-1.el9.nosrc.rpm')).toEqual({
      name: 'python3-pip',
      versionRelease: '21.3.1-1.el9',
    });
    expect(parseSourceRpm('(none)')).toBeUndefined();
    expect(parseSourceRpm('nodashes.src.rpm')).toBeUndefined();
    expect(parseSourceRpm(undefined)).toBeUndefined();
  });
});
