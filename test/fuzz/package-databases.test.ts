// Fuzzing the OS package databases the scanner reads out of layers (origin/scan/os/): dpkg's
// status, apk's installed, rpm headers and rpmdb.sqlite, os-release and deb822 control data. Any
// text or bytes give packages (or a warning), never an exception; databases written from a list
// of packages read back as that list.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { apkParser, parseApkInstalled } from '../../origin/scan/os/apk.ts';
import { stanzas } from '../../origin/scan/os/control-file.ts';
import { dpkgParser, parseDpkgStatus } from '../../origin/scan/os/dpkg.ts';
import { parseOsRelease } from '../../origin/scan/os/os-release.ts';
import { parseRpmHeader, parseRpmSqlite, parseSourceRpm, rpmParser } from '../../origin/scan/os/rpm.ts';
import { anyText, fuzz, fuzzTimeout, mutated, mutatedBytes } from './fuzz-settings.ts';

const token = fc.stringMatching(/^[a-z0-9][a-z0-9+.~:-]{0,20}$/);
const pkg = fc.record({ name: token, version: token, source: fc.option(token, { nil: undefined }) });
const packages = fc.uniqueArray(pkg, { selector: (p) => p.name, maxLength: 5 });
const encoder = new TextEncoder();
const entry = (path: string) => ({ path, mode: 0o644, size: 0 });

const dpkgStatus = (list: { name: string; version: string; source?: string | undefined }[]) =>
  list
    .map(
      (p) =>
        `Package: ${p.name}\nStatus: install ok installed\nPriority: optional\n` +
        `${p.source ? `Source: ${p.source}\n` : ''}Version: ${p.version}\nDescription: a package\n two lines\n`,
    )
    .join('\n');
const apkInstalled = (list: { name: string; version: string; source?: string | undefined }[]) =>
  list
    .map((p) => `C:Q1abc=\nP:${p.name}\nV:${p.version}\n${p.source ? `o:${p.source}\n` : ''}F:usr/bin\n`)
    .join('\n');

describe('dpkg status', () => {
  test('a status database written from packages reads back as them', () => {
    fc.assert(
      fc.property(packages, (list) => {
        expect(parseDpkgStatus(dpkgStatus(list))).toEqual(
          list.map((p) => ({
            kind: 'dpkg',
            name: p.name,
            version: p.version,
            sourceName: p.source ?? p.name,
          })),
        );
      }),
      fuzz(),
    );
  });

  test('any text, and any bytes as a status.d file: packages with names and versions, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutated(packages.map(dpkgStatus)), anyText),
        fc.uint8Array({ maxLength: 300 }),
        (text, b) => {
          for (const p of [...parseDpkgStatus(text), ...parseDpkgStatus(text, true)]) {
            expect(p.name !== '' && p.version !== '' && !/\s/.test(p.name + p.version)).toBe(true);
          }
          const outcome = dpkgParser.parse(entry('var/lib/dpkg/status.d/x'), b);
          expect(outcome).toHaveProperty('ok');
          for (const stanza of stanzas(text, new Set(['package', 'version'])))
            expect(stanza.fields.size).toBeLessThanOrEqual(2);
        },
      ),
      fuzz(),
    );
  });
});

describe('apk installed', () => {
  test('an installed database written from packages reads back as them', () => {
    fc.assert(
      fc.property(packages, (list) => {
        expect(parseApkInstalled(apkInstalled(list))).toEqual(
          list.map((p) => ({
            kind: 'apk',
            name: p.name,
            version: p.version,
            sourceName: p.source ?? p.name,
          })),
        );
      }),
      fuzz(),
    );
  });

  test('any text or bytes: packages, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutated(packages.map(apkInstalled)), anyText),
        fc.uint8Array({ maxLength: 300 }),
        (text, b) => {
          for (const p of parseApkInstalled(text)) expect(p.name !== '' && p.version !== '').toBe(true);
          expect(apkParser.parse(entry('lib/apk/db/installed'), b)).toHaveProperty('ok', true);
        },
      ),
      fuzz(),
    );
  });
});

describe('os-release', () => {
  const key = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,12}$/);
  const value = fc.string({ maxLength: 20 }).filter((v) => !/[\r\n]/.test(v) && v === v.trim());
  /** The value as a shell would quote it: double quotes with \ escapes. */
  const quoted = (v: string) => `"${v.replace(/["\\$`]/g, (c) => `\\${c}`)}"`;

  test('KEY="value" lines read back as the values written', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (fields) => {
        const text = Object.entries(fields)
          .map(([k, v]) => `${k}=${quoted(v)}`)
          .join('\n');
        expect({ ...parseOsRelease(text) }).toEqual(fields);
      }),
      fuzz(),
    );
  });

  test('any text: string fields under shell-variable names, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyText, mutated(fc.constant('ID=debian\nVERSION_ID="12"\nNAME=\'Debian\' # c'))),
        (text) => {
          for (const [k, v] of Object.entries(parseOsRelease(text))) {
            expect(k).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
            expect(typeof v).toBe('string');
          }
        },
      ),
      fuzz(),
    );
  });
});

/** An rpm header blob as rpmdb.sqlite stores it: il, dl, index entries, data. */
function rpmHeader(strings: [number, string][], epoch?: number): Uint8Array {
  const data: number[] = [];
  const index: number[][] = [];
  for (const [tag, text] of strings) {
    index.push([tag, 6, data.length, 1]);
    data.push(...encoder.encode(text), 0);
  }
  if (epoch !== undefined) {
    while (data.length % 4 !== 0) data.push(0);
    index.push([1003, 4, data.length, 1]);
    data.push((epoch >>> 24) & 255, (epoch >>> 16) & 255, (epoch >>> 8) & 255, epoch & 255);
  }
  const out = new DataView(new ArrayBuffer(8 + index.length * 16 + data.length));
  out.setUint32(0, index.length);
  out.setUint32(4, data.length);
  index.forEach(([tag, type, offset, count], i) => {
    out.setInt32(8 + i * 16, tag!);
    out.setUint32(12 + i * 16, type!);
    out.setInt32(16 + i * 16, offset!);
    out.setUint32(20 + i * 16, count!);
  });
  new Uint8Array(out.buffer).set(data, 8 + index.length * 16);
  return new Uint8Array(out.buffer);
}

const rpmPackage = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9_+-]{0,15}$/),
  version: fc.stringMatching(/^[0-9][0-9a-z.]{0,8}$/),
  release: fc.stringMatching(/^[0-9][0-9a-z._]{0,8}$/),
  epoch: fc.option(fc.nat({ max: 99 }), { nil: undefined }),
});
const writeRpm = (p: { name: string; version: string; release: string; epoch?: number | undefined }) =>
  rpmHeader(
    [
      [1000, p.name],
      [1001, p.version],
      [1002, p.release],
      [1044, `${p.name}-${p.version}-${p.release}.src.rpm`],
    ],
    p.epoch,
  );

/** An rpmdb.sqlite's bytes, its Packages table as rpm creates it, holding `headers`. */
function rpmdb(headers: Uint8Array[]): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-rpmdb-'));
  try {
    const file = join(dir, 'rpmdb.sqlite');
    const db = new DatabaseSync(file);
    db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
    for (const header of headers) insert.run(header);
    db.close();
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('rpm', () => {
  test('a header written from a package reads back as it', () => {
    fc.assert(
      fc.property(rpmPackage, (p) => {
        const vr = `${p.version}-${p.release}`;
        expect(parseRpmHeader(writeRpm(p))).toEqual({
          kind: 'rpm',
          name: p.name,
          version: p.epoch === undefined ? vr : `${p.epoch}:${vr}`,
          sourceName: p.name,
        });
      }),
      fuzz(),
    );
  });

  test('any header bytes or source rpm name: a package or undefined, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutatedBytes(rpmPackage.map(writeRpm)), fc.uint8Array({ maxLength: 200 })),
        anyText,
        (b, file) => {
          const found = parseRpmHeader(b);
          if (found !== undefined) expect(found.name !== '' && found.version !== '').toBe(true);
          parseSourceRpm(file);
          parseSourceRpm(`${file}.src.rpm`);
        },
      ),
      fuzz(),
    );
  });

  test(
    'an rpmdb.sqlite written from packages reads back as them',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(rpmPackage, { selector: (p) => p.name, maxLength: 4 }),
          async (list) => {
            const outcome = await parseRpmSqlite(rpmdb(list.map(writeRpm)));
            expect(outcome.ok && outcome.packages.map((p) => p.name)).toEqual(list.map((p) => p.name));
          },
        ),
        fuzz(0.05),
      );
    },
    fuzzTimeout(20_000),
  );

  test(
    'any bytes as rpmdb.sqlite (a real database mutated, or an SQLite header then noise): an outcome naming the file',
    async () => {
      const sqliteLike = fc.oneof(
        mutatedBytes(
          fc.array(rpmPackage, { maxLength: 3 }).map((list) => rpmdb(list.map(writeRpm))),
          12,
        ),
        fc
          .tuple(fc.boolean(), fc.uint8Array({ maxLength: 2000 }))
          .map(
            ([magic, rest]) =>
              new Uint8Array([...(magic ? encoder.encode('SQLite format 3\0') : []), ...rest]),
          ),
      );
      await fc.assert(
        fc.asyncProperty(sqliteLike, async (b) => {
          const outcome = await rpmParser.parse(entry('var/lib/rpm/rpmdb.sqlite'), b);
          if (!outcome.ok) expect(outcome.warning).toMatch(/^var\/lib\/rpm\/rpmdb\.sqlite: /);
          // The bare function reports without the path.
          expect(await parseRpmSqlite(b)).toHaveProperty('ok');
        }),
        fuzz(0.25),
      );
    },
    fuzzTimeout(20_000),
  );
});
