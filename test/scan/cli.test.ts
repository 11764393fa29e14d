// `registry vulndb import|update|status` and `registry scan`, run as a user runs them, against the database and
// storage of a registry (stopped, so that the embedded PGlite database is free).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { buildImage, pushImage } from '../harness/oci-image.ts';
import {
  createPostgresDatabase,
  dropPostgresDatabase,
  startTestRegistry,
  testDatabase,
  testStorage,
} from '../harness/registry.ts';
import { startS3Server } from '../harness/s3.ts';

const OSV = path.resolve('test/fixtures/osv');
const FIXTURES = path.resolve('test/fixtures/images/alpine-3.14');

test('vulndb import reports what it added and is incremental; scan prints the vulnerabilities found', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'scan-cli-'));
  const databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
  const s3 = testStorage() === 's3' ? await startS3Server() : undefined;
  try {
    const registry = await startTestRegistry({
      dataDir,
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(s3 ? { s3 } : {}),
      config: { scan: { on_push: false } },
    });
    const image = buildImage({
      layers: [
        {
          'etc/os-release': readFileSync(path.join(FIXTURES, 'os-release'), 'utf8'),
          'lib/apk/db/installed': readFileSync(path.join(FIXTURES, 'installed'), 'utf8'),
        },
        // A BerkeleyDB rpm database: not read, and the scan says so.
        { 'var/lib/rpm/Packages': 'not read' },
      ],
    });
    try {
      await pushImage(registry, 'cli/alpine', image, '3.14');
    } finally {
      await registry.close();
    }
    const config = ['--config', path.join(dataDir, 'config.yaml')];
    const records = readdirSync(OSV).filter((f) => f.endsWith('.json')).length;

    const first = await runCli(['vulndb', 'import', OSV, ...config]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`${records} records read`);
    expect(first.stdout).toContain(`${records} added, 0 updated, 0 unchanged`);

    const scan = await runCli(['scan', 'cli/alpine:3.14', ...config], { timeoutMs: 120_000 });
    expect(scan.code, scan.stderr).toBe(0);
    expect(scan.stdout).toContain(`cli/alpine@${image.manifest.digest}: scan completed`);
    expect(scan.stdout).toContain('2 vulnerabilities: 2 critical, 0 high, 0 medium, 0 low, 0 unknown');
    expect(scan.stdout).toMatch(
      /^ {2}matched against: Alpine 1 records \(imported \d{4}-\d\d-\d\dT[^)]+\)$/m,
    );
    expect(scan.stdout).toMatch(
      /CVE-2021-3711\s+critical\s+libcrypto1\.1\s+1\.1\.1k-r0\s+openssl 1\.1\.1k-r0\s+1\.1\.1l-r0\s+lib\/apk\/db\/installed/,
    );
    const berkeley = `layer ${image.layers[1]?.digest}: var/lib/rpm/Packages: rpm BerkeleyDB databases are not supported (only rpmdb.sqlite); its packages are not listed`;
    expect(scan.stdout).toContain(
      `1 warning (what was not read may hide vulnerabilities):\n    ${berkeley}\n`,
    );

    const json = await runCli(['scan', 'cli/alpine:3.14', '--json', ...config], { timeoutMs: 120_000 });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { warnings: string[]; details: Record<string, unknown>[] };
    expect(report.warnings).toEqual([berkeley]);
    expect(report.details[0]).toMatchObject({
      id: 'CVE-2021-3711',
      cve: 'CVE-2021-3711',
      package: 'libcrypto1.1',
      installed_version: '1.1.1k-r0',
      source_package: 'openssl',
      source_version: '1.1.1k-r0',
      fixed_version: '1.1.1l-r0',
    });

    const again = await runCli(['vulndb', 'import', OSV, ...config]);
    expect(again.stdout).toContain(`0 added, 0 updated, ${records} unchanged`);
    expect(again.stdout).toContain('Re-matched 0 stored images');

    const unknown = await runCli(['scan', 'cli/alpine:nope', ...config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('cli/alpine:nope: manifest unknown');
  } finally {
    if (databaseUrl) await dropPostgresDatabase(databaseUrl);
    await s3?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  // Five runs of the command, each opening the database afresh.
}, 180_000);

test('vulndb update fetches scan.sources and exits 1 if one failed; vulndb status shows the data and each source', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vulndb-cli-'));
  try {
    const registry = await startTestRegistry({ dataDir, config: { scan: { on_push: false } } });
    await registry.close();
    const config = ['--config', path.join(dataDir, 'config.yaml')];
    // A mirror directory that works, and an address where nothing listens (the port of a server
    // just closed).
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/Debian/all.zip`;
    await new Promise((resolve) => closed.close(resolve));
    const env = { REGISTRY_SCAN_SOURCES: JSON.stringify([OSV, gone]), REGISTRY_SCAN_UPDATE_RETRIES: '0' };
    const records = readdirSync(OSV).filter((f) => f.endsWith('.json')).length;

    const empty = await runCli(['vulndb', 'status', ...config], { env });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('Vulnerability data: 0 records');
    expect(empty.stdout).toContain('no records: scans match against nothing');
    expect(empty.stdout).toContain(`  ${gone}\n    last success: never`);
    // Never checked, a source is due now (not at the epoch).
    const nextChecks = [...empty.stdout.matchAll(/next check: (\S+)/g)].map((m) =>
      Date.parse(m[1] as string),
    );
    expect(nextChecks).toHaveLength(2);
    for (const next of nextChecks) expect(Math.abs(next - Date.now())).toBeLessThan(60_000);

    const update = await runCli(['vulndb', 'update', ...config], { env });
    expect(update.code).toBe(1);
    expect(update.stdout).toContain(`${OSV}: imported: ${records} added, 0 updated`);
    expect(update.stdout).toMatch(new RegExp(`${gone}: FAILED after 1 attempt\\(s\\): .*ECONNREFUSED`));

    const status = await runCli(['vulndb', 'status', ...config], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`Vulnerability data: ${records} records`);
    expect(status.stdout).toMatch(/^ {2}Debian: 5 records, imported \S+$/m);
    expect(status.stdout).toMatch(/^ {2}npm: 1 records, imported \S+$/m);
    expect(status.stdout).toMatch(/last error: fetch failed: .*ECONNREFUSED.* 1 failed in a row\)/);

    const json = await runCli(['vulndb', 'status', '--json', ...config], { env });
    const parsed = JSON.parse(json.stdout) as { sources: { source: string; last_success: string | null }[] };
    expect(parsed.sources.map((s) => [s.source, s.last_success === null])).toEqual([
      [OSV, false],
      [gone, true],
    ]);

    const none = await runCli(['vulndb', 'update', ...config]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('scan.sources is empty');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}, 180_000);
