// Import throughput on 20,000 generated records shaped like osv.dev's (Debian tracker records
// with per-release ranges and version lists, GHSA records with CVSS vectors), read from an
// all.zip. The rates are printed; the assertions are loose so that a busy machine never fails.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { importOsv } from '../../origin/vulndb/import.ts';
import { matchInventory } from '../../origin/vulndb/match.ts';
import { openTestDatabase, type TestDb, zipDirectory } from './db.ts';

const RECORDS = 20_000;
const PACKAGES = ['openssl', 'glibc', 'curl', 'zlib', 'systemd', 'perl', 'libxml2', 'expat', 'tiff', 'krb5'];

let handle: TestDb;
let work: string;

beforeAll(async () => {
  handle = await openTestDatabase();
  work = await mkdtemp(path.join(tmpdir(), 'vulndb-throughput-'));
});
afterAll(async () => {
  await handle?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function debianRecord(i: number): Record<string, unknown> {
  const cve = `CVE-${2015 + (i % 10)}-${10000 + i}`;
  const name = PACKAGES[i % PACKAGES.length] as string;
  const versions = Array.from(
    { length: 12 + (i % 20) },
    (_, k) => `${1 + (k >> 3)}.${k & 7}.${i % 5}-${1 + (k % 3)}`,
  );
  return {
    schema_version: '1.6.0',
    id: `DEBIAN-${cve}`,
    modified: `2025-0${1 + (i % 9)}-1${i % 10}T08:${String(i % 60).padStart(2, '0')}:00Z`,
    published: '2023-10-03T18:15:10Z',
    upstream: [cve],
    details:
      `${name}: a flaw in the parser allows a remote attacker to cause a denial of service or possibly execute arbitrary code via a crafted input (generated record ${i}). `.repeat(
        3,
      ),
    affected: ['Debian:11', 'Debian:12', 'Debian:13'].map((ecosystem, r) => ({
      package: { ecosystem, name, purl: `pkg:deb/debian/${name}?arch=source` },
      ranges: [
        {
          type: 'ECOSYSTEM',
          events: [{ introduced: '0' }, { fixed: `${2 + r}.${i % 9}.${i % 7}-1+deb${11 + r}u1` }],
        },
      ],
      versions,
    })),
    references: [{ type: 'ADVISORY', url: `https://security-tracker.debian.org/tracker/${cve}` }],
  };
}

function ghsaRecord(i: number): Record<string, unknown> {
  return {
    schema_version: '1.4.0',
    id: `GHSA-gen${String(i).padStart(5, '0')}-aaaa-bbbb`,
    modified: '2024-11-19T16:43:09Z',
    published: '2023-05-22T20:36:32Z',
    aliases: [`CVE-2024-${20000 + i}`],
    summary: `Prototype pollution in generated-package-${i % 500}`,
    details: '### Impact\n\nA crafted payload can modify Object.prototype.\n\n### Patches\n\nUpgrade.'.repeat(
      2,
    ),
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [
      {
        package: { ecosystem: 'npm', name: `generated-package-${i % 500}` },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `1.${i % 20}.${i % 7}` }] }],
        database_specific: { source: 'https://github.com/advisories/...' },
      },
    ],
    database_specific: { cwe_ids: ['CWE-1321'], severity: 'CRITICAL', github_reviewed: true },
  };
}

test(`imports ${RECORDS} records from an all.zip, then re-reads them all as unchanged`, {
  timeout: 600_000,
}, async () => {
  const dir = path.join(work, 'records');
  await mkdir(dir);
  for (let i = 0; i < RECORDS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, RECORDS - i) }, (_, k) => {
        const record = (i + k) % 4 === 3 ? ghsaRecord(i + k) : debianRecord(i + k);
        return writeFile(path.join(dir, `${record.id}.json`), JSON.stringify(record, null, 2));
      }),
    );
  }
  const zip = path.join(work, 'all.zip');
  zipDirectory(dir, zip);

  const first = await importOsv(handle.db, zip);
  if (!first.ok) throw new Error(first.error);
  const second = await importOsv(handle.db, zip);
  if (!second.ok) throw new Error(second.error);
  const fromDirectory = await importOsv(handle.db, dir);
  if (!fromDirectory.ok) throw new Error(fromDirectory.error);

  const inventory = {
    packages: PACKAGES.map((name) => ({
      kind: 'dpkg' as const,
      name: `lib${name}`,
      sourceName: name,
      version: '1.0.0-1',
      ecosystem: 'Debian:12',
      path: 'var/lib/dpkg/status',
      layer: 'sha256:00',
    })),
    warnings: [],
  };
  const matchStarted = performance.now();
  const findings = await matchInventory(handle.db, inventory);
  const matchMs = performance.now() - matchStarted;

  const rate = (n: number, ms: number) => Math.round((n * 1000) / ms);
  console.log(
    `[vulndb throughput, ${handle.db.engine}] first import: ${RECORDS} records in ${first.report.elapsedMs} ms ` +
      `(${rate(RECORDS, first.report.elapsedMs)} records/s); unchanged re-import from the zip: ` +
      `${second.report.elapsedMs} ms (${rate(RECORDS, second.report.elapsedMs)} records/s); from a directory: ` +
      `${fromDirectory.report.elapsedMs} ms; matching ${inventory.packages.length} packages against ` +
      `${RECORDS * 0.75} records of theirs: ${Math.round(matchMs)} ms, ${findings.length} findings`,
  );
  expect(first.report).toMatchObject({ added: RECORDS, skippedInvalid: 0, generation: 1 });
  expect(second.report).toMatchObject({
    unchanged: RECORDS,
    added: 0,
    generation: 1,
    generationBumped: false,
  });
  expect(fromDirectory.report).toMatchObject({ unchanged: RECORDS });
  expect(findings.length).toBe(RECORDS * 0.75);
  // Loose on purpose: the machine is shared.
  expect(rate(RECORDS, first.report.elapsedMs)).toBeGreaterThan(100);
});
