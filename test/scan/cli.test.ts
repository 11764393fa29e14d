// `registry vulndb import` and `registry scan`, run as a user runs them, against the database and
// storage of a registry (stopped, so that the embedded PGlite database is free).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
