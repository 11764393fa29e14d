// The Trivy adapter's mapping, on a report in Trivy's documented JSON format (SchemaVersion 2).
// No Trivy binary runs here; see the README for what was and was not checked against a real one.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { mapTrivyReport } from '../../origin/scan/trivy-report.ts';

const REPORT = readFileSync('test/fixtures/trivy/alpine-report.json', 'utf8');

describe('Trivy report mapping', () => {
  test('packages keep their source package, ecosystem, path and layer', () => {
    const mapped = mapTrivyReport(REPORT);
    if (!mapped.ok) throw new Error(mapped.error);
    expect(mapped.inventory.os).toEqual({ id: 'alpine', versionId: '3.14.0' });
    expect(mapped.inventory.packages).toEqual([
      expect.objectContaining({
        kind: 'apk',
        name: 'libcrypto1.1',
        version: '1.1.1k-r0',
        sourceName: 'openssl',
        ecosystem: 'Alpine:v3.14',
      }),
      expect.objectContaining({ kind: 'apk', name: 'musl', version: '1.2.2-r3', ecosystem: 'Alpine:v3.14' }),
      expect.objectContaining({
        kind: 'npm',
        name: 'minimist',
        ecosystem: 'npm',
        path: 'srv/app/node_modules/minimist/package.json',
      }),
    ]);
  });

  test('findings carry severity, the first fixed version, NVD CVSS first, and the layer', () => {
    const mapped = mapTrivyReport(REPORT);
    if (!mapped.ok) throw new Error(mapped.error);
    expect(mapped.findings).toEqual([
      expect.objectContaining({
        id: 'CVE-2021-3711',
        severity: 'critical',
        package: 'libcrypto1.1',
        installedVersion: '1.1.1k-r0',
        // Trivy compares Alpine packages by their origin, as the built-in scanner does.
        sourcePackage: 'openssl',
        sourceVersion: '1.1.1k-r0',
        fixedVersion: '1.1.1l-r0',
        cvssScore: 9.8,
        cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
        layer: 'sha256:31bb99ca61ec338dd3e79636c2f338903fb8ec5fc7be438a79f5daf086c29cb2',
        description: 'openssl: SM2 Decryption Buffer Overflow',
      }),
      expect.objectContaining({
        id: 'CVE-2021-44906',
        severity: 'critical',
        fixedVersion: '1.2.6',
        ecosystem: 'npm',
      }),
    ]);
    expect(mapped.findings[1]).not.toHaveProperty('sourcePackage');
  });

  test('what is not a SchemaVersion 2 report is refused with the reason', () => {
    expect(mapTrivyReport('not json')).toEqual({
      ok: false,
      error: 'trivy printed something that is not JSON',
    });
    const v1 = mapTrivyReport(JSON.stringify([{ Target: 'x', Vulnerabilities: [] }]));
    expect(v1.ok).toBe(false);
    const wrong = mapTrivyReport(JSON.stringify({ SchemaVersion: 3, Results: [] }));
    expect(wrong.ok).toBe(false);
  });
});
