// A scan states the vulnerability data it was matched against; an image scanned while its
// ecosystems have no records says so in its warnings and in the repository summary, and the pull
// policy treats it as unscanned until data arrives.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { call } from '../harness/client.ts';
import { buildImage, pushImage } from '../harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { FIXTURES as OSV, zipDirectory } from '../vulndb/db.ts';

const ALPINE = path.resolve('test/fixtures/images/alpine-3.14');

interface Report {
  status: string;
  warnings: string[];
  vulnerability_data?: { ecosystem: string; packages: number; records: number; imported_at: string | null }[];
  vulnerabilities: Record<string, number>;
}

let registry: TestRegistry;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'data-coverage-'));
  registry = await startTestRegistry({
    config: { scan: { poll_interval: '200ms' }, policy: { refresh_interval: '200ms' } },
  });
});
afterAll(async () => {
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
});

const admin = (method: string, url: string, body: unknown) =>
  call(registry, method, url, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

async function scanned(name: string, ref: string): Promise<Report> {
  let report: Report | undefined;
  await expect
    .poll(
      async () => {
        report = (await (await call(registry, 'GET', `/v2/${name}/manifests/${ref}/scan`)).json()) as Report;
        return report.status;
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBe('completed');
  return report as Report;
}

test('with no data for its ecosystem an image is reported as matched against nothing, and pulled as unscanned', async () => {
  const image = buildImage({
    layers: [
      {
        'etc/os-release': readFileSync(path.join(ALPINE, 'os-release'), 'utf8'),
        'lib/apk/db/installed': readFileSync(path.join(ALPINE, 'installed'), 'utf8'),
      },
    ],
  });
  await pushImage(registry, 'coverage/alpine', image, 'v1');
  const report = await scanned('coverage/alpine', 'v1');
  expect(report.vulnerabilities.critical).toBe(0);
  const data = report.vulnerability_data ?? [];
  expect(data).toEqual([
    { ecosystem: 'Alpine', packages: expect.any(Number), records: 0, imported_at: null },
  ]);
  const packages = data[0]?.packages as number;
  expect(packages).toBeGreaterThan(1);
  const warning = `no vulnerability data for Alpine: its ${packages} packages were matched against nothing (see scan.sources and \`registry vulndb status\`)`;
  expect(report.warnings).toEqual([warning]);

  const summary = await (await call(registry, 'GET', '/v2/coverage/alpine/scan/summary')).json();
  expect(summary).toMatchObject({
    warnings: [warning],
    missing_vulnerability_data: ['Alpine'],
    critical_count: 0,
  });

  // A policy that blocks unscanned images blocks this one; one that allows them allows it.
  expect((await admin('PUT', '/admin/policies', { prefix: 'coverage/', unscanned: 'block' })).status).toBe(
    200,
  );
  const blocked = await call(registry, 'GET', '/v2/coverage/alpine/manifests/v1');
  expect(blocked.status).toBe(403);
  expect(((await blocked.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(
    /^image blocked: no vulnerability data for Alpine/,
  );
  expect((await admin('PUT', '/admin/policies', { prefix: 'coverage/', unscanned: 'allow' })).status).toBe(
    200,
  );
  expect((await call(registry, 'GET', '/v2/coverage/alpine/manifests/v1')).status).toBe(200);

  // Data arrives: the stored result is matched again, states what it was matched against, and the
  // policy judges it on what was found.
  const zip = path.join(work, 'all.zip');
  zipDirectory(OSV, zip);
  const imported = await call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/zip' },
    body: readFileSync(zip),
  });
  expect(imported.status).toBe(200);
  const after = (await (
    await call(registry, 'GET', '/v2/coverage/alpine/manifests/v1/scan')
  ).json()) as Report;
  expect(after.warnings).toEqual([]);
  expect(after.vulnerability_data).toEqual([
    { ecosystem: 'Alpine', packages, records: 1, imported_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
  ]);
  expect(after.vulnerabilities.critical).toBe(2);
  const status = await (await call(registry, 'GET', '/admin/vulndb')).json();
  expect(status.ecosystems).toContainEqual({
    ecosystem: 'Alpine',
    records: 1,
    imported_at: after.vulnerability_data?.[0]?.imported_at,
  });

  expect(
    (await admin('PUT', '/admin/policies', { prefix: 'coverage/', threshold: 'none', unscanned: 'block' }))
      .status,
  ).toBe(200);
  expect((await call(registry, 'GET', '/v2/coverage/alpine/manifests/v1')).status).toBe(200);
  const summaryAfter = await (await call(registry, 'GET', '/v2/coverage/alpine/scan/summary')).json();
  expect(summaryAfter).toMatchObject({ warnings: [], missing_vulnerability_data: [], critical_count: 2 });
});

test('an image with no package in any ecosystem has nothing to match and no such warning', async () => {
  const image = buildImage({ layers: [{ 'srv/readme.txt': 'static content\n' }] });
  await pushImage(registry, 'coverage/static', image, 'v1');
  const report = await scanned('coverage/static', 'v1');
  expect(report.vulnerability_data).toEqual([]);
  expect(report.warnings.filter((w) => w.startsWith('no vulnerability data'))).toEqual([]);
});
