// Matching inventories against imported records: the real advisories in test/fixtures/osv (one
// per ecosystem) and a few test-only records for the corners of OSV range evaluation.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../../origin/metadata/database.ts';
import { forgetInventoryPackages } from '../../origin/metadata/vulnerability-matching.ts';
import type { ImageInventory, ImagePackage, PackageKind } from '../../origin/scan/inventory.ts';
import { compareVersions } from '../../origin/scan/versions/index.ts';
import { importOsv } from '../../origin/vulndb/import.ts';
import {
  type Finding,
  matchInventory,
  recordInventoryPackages,
  rematchCandidates,
} from '../../origin/vulndb/match.ts';
import { FIXTURES, openTestDatabase, type TestDb } from './db.ts';

let handle: TestDb;
let db: Database;

const LAYER = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';

// Test-only records (ids TEST-…) for what the real fixtures do not show.
const SYNTHETIC: Record<string, unknown>[] = [
  {
    id: 'TEST-VERSIONS-1',
    modified: '2024-01-01T00:00:00Z',
    summary: 'Only an explicit versions list',
    affected: [{ package: { ecosystem: 'npm', name: 'listed-pkg' }, versions: ['1.1.0', '1.1.2'] }],
  },
  {
    id: 'TEST-LAST-AFFECTED-1',
    modified: '2024-01-01T00:00:00Z',
    details: 'No fix yet.\nSecond line.',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'unfixed-pkg' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { last_affected: '1.4.2' }] }],
      },
    ],
  },
  {
    id: 'TEST-UNSORTED-1',
    modified: '2024-01-01T00:00:00Z',
    summary: 'Events out of order',
    affected: [
      {
        package: { ecosystem: 'PyPI', name: 'Sample_Pkg' },
        ranges: [
          {
            type: 'ECOSYSTEM',
            events: [{ fixed: '2.0.0' }, { introduced: '1.5.0' }, { fixed: '1.2.0' }, { introduced: '0' }],
          },
        ],
      },
    ],
  },
  {
    id: 'TEST-BAD-EVENT-1',
    modified: '2024-01-01T00:00:00Z',
    summary: 'A range with a version npm would refuse',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'odd-pkg' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: 'release-two' }] }],
      },
    ],
  },
  {
    id: 'TEST-GIT-1',
    modified: '2024-01-01T00:00:00Z',
    summary: 'Commits only',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'git-pkg' },
        ranges: [
          {
            type: 'GIT',
            repo: 'https://example.com/git-pkg',
            events: [{ introduced: '0' }, { fixed: 'abc123' }],
          },
        ],
      },
    ],
  },
  {
    id: 'TEST-WITHDRAWN-1',
    modified: '2024-01-01T00:00:00Z',
    withdrawn: '2024-01-01T00:00:00Z',
    summary: 'Withdrawn',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'listed-pkg' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }],
      },
    ],
  },
  {
    id: 'TEST-DEBIAN-ANY-1',
    modified: '2024-01-01T00:00:00Z',
    summary: 'A record for every Debian release',
    affected: [
      {
        package: { ecosystem: 'Debian', name: 'zlib' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:1.2.13.dfsg-2' }] }],
      },
    ],
  },
  {
    id: 'TEST-PYSEC-1',
    modified: '2024-01-01T00:00:00Z',
    aliases: ['CVE-2023-32681'],
    details: 'A second record of the requests leak, without a severity.',
    affected: [
      {
        package: { ecosystem: 'PyPI', name: 'requests' },
        ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '2.3.0' }, { fixed: '2.31.0' }] }],
      },
    ],
  },
];

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
  const fixtures = await importOsv(db, FIXTURES);
  if (!fixtures.ok || fixtures.report.skippedInvalid > 0) throw new Error('fixtures did not import');
  const dir = await mkdtemp(path.join(tmpdir(), 'vulndb-match-'));
  try {
    for (const record of SYNTHETIC)
      await writeFile(path.join(dir, `${record.id}.json`), JSON.stringify(record));
    const synthetic = await importOsv(db, dir);
    if (!synthetic.ok || synthetic.report.skippedInvalid > 0) throw new Error('test records did not import');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
afterAll(async () => {
  await handle?.close();
});

function pkg(
  kind: PackageKind,
  ecosystem: string,
  name: string,
  version: string,
  extra: Partial<ImagePackage> = {},
): ImagePackage {
  const paths: Record<PackageKind, string> = {
    dpkg: 'var/lib/dpkg/status',
    apk: 'lib/apk/db/installed',
    rpm: 'var/lib/rpm/rpmdb.sqlite',
    npm: `app/node_modules/${name}/package.json`,
    pypi: `usr/lib/python3/site-packages/${name}.dist-info/METADATA`,
    go: 'usr/local/bin/app',
    maven: 'app/lib/app.jar',
    gem: `usr/local/bundle/specifications/${name}-${version}.gemspec`,
    composer: 'app/vendor/composer/installed.json',
    nuget: 'app/App.deps.json',
  };
  return { kind, ecosystem, name, version, path: paths[kind], layer: LAYER, ...extra };
}

async function match(...packages: ImagePackage[]): Promise<Finding[]> {
  const inventory: ImageInventory = { packages, warnings: [] };
  return matchInventory(db, inventory);
}

/** id → fixed version (or null), the essentials of a result. */
async function found(...packages: ImagePackage[]): Promise<Record<string, string | null>> {
  const findings = await match(...packages);
  return Object.fromEntries(
    findings.map((f) => [`${f.id} ${f.package}@${f.installedVersion}`, f.fixedVersion ?? null]),
  );
}

describe('Debian: source packages, the source version, releases', () => {
  test('libssl1.1 of openssl 1.1.1k-1 on Debian 11 has CVE-2021-3711, fixed in 1.1.1k-1+deb11u1', async () => {
    const findings = await match(
      pkg('dpkg', 'Debian:11', 'libssl1.1', '1.1.1k-1', { sourceName: 'openssl' }),
    );
    const sm2 = findings.find((f) => f.id === 'CVE-2021-3711');
    expect(sm2).toEqual({
      id: 'CVE-2021-3711',
      advisory: 'DEBIAN-CVE-2021-3711',
      aliases: ['DEBIAN-CVE-2021-3711'],
      // No severity in the Debian record: the CVE record's CVSS is borrowed.
      severity: 'critical',
      cvssScore: 9.8,
      cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      description: expect.stringMatching(/^In order to decrypt SM2 encrypted data/),
      package: 'libssl1.1',
      sourcePackage: 'openssl',
      sourceVersion: '1.1.1k-1',
      ecosystem: 'Debian:11',
      installedVersion: '1.1.1k-1',
      fixedVersion: '1.1.1k-1+deb11u1',
      layer: LAYER,
      path: 'var/lib/dpkg/status',
    });
    expect((sm2?.description.length ?? 0) <= 250).toBe(true);
  });

  test('a DSA fixing CVEs that are all found already is folded into them, not reported twice', async () => {
    const ids = (await match(pkg('dpkg', 'Debian:11', 'openssl', '1.1.1k-1'))).map((f) => f.id);
    expect(ids.sort()).toEqual(['CVE-2021-3711', 'CVE-2021-3712']);
  });

  test('the fixed version is not reported', async () => {
    expect(
      await found(pkg('dpkg', 'Debian:11', 'libssl1.1', '1.1.1k-1+deb11u1', { sourceName: 'openssl' })),
    ).toEqual({});
  });

  test("another release's record does not apply (Debian 10's fix says nothing of Debian 12)", async () => {
    expect(
      await found(pkg('dpkg', 'Debian:12', 'libssl3', '1.1.1d-0+deb10u6', { sourceName: 'openssl' })),
    ).toEqual({});
  });

  test('libc6 of glibc 2.36-9+deb12u1 on Debian 12 has CVE-2023-4911 (high, from the Ubuntu record)', async () => {
    const findings = await match(
      pkg('dpkg', 'Debian:12', 'libc6', '2.36-9+deb12u1', { sourceName: 'glibc' }),
    );
    expect(findings).toMatchObject([
      {
        id: 'CVE-2023-4911',
        advisory: 'DEBIAN-CVE-2023-4911',
        severity: 'high',
        cvssScore: 7.8,
        package: 'libc6',
        fixedVersion: '2.36-9+deb12u3',
      },
    ]);
  });

  test('the source version decides, not the binary one (a binNMU +b1, a binary ahead of its source)', async () => {
    expect(
      await found(
        pkg('dpkg', 'Debian:12', 'libc6', '2.36-9+deb12u3+b1', {
          sourceName: 'glibc',
          sourceVersion: '2.36-9+deb12u3',
        }),
      ),
    ).toEqual({});
    expect(
      await found(
        pkg('dpkg', 'Debian:12', 'libc-bin', '2.36-9+deb12u4', {
          sourceName: 'glibc',
          sourceVersion: '2.36-9+deb12u1',
        }),
      ),
    ).toEqual({ 'CVE-2023-4911 libc-bin@2.36-9+deb12u4': '2.36-9+deb12u3' });
  });

  test('a finding names the source version it compared, and its fix is above that version, whatever the binary says', async () => {
    // A binary whose version has an epoch its source's lacks, as bsdutils 1:2.38.1-5+deb12u3 of
    // util-linux 2.38.1-5+deb12u3 in Debian 12. The record's fixed versions are source versions:
    // the binary version "ahead" of the fix says nothing. The finding shows the source version
    // it compared next to the fix, and the fix is above it.
    const libcDevBin = (source: string) =>
      pkg('dpkg', 'Debian:12', 'libc-dev-bin', '1:2.36-9+deb12u4', {
        sourceName: 'glibc',
        sourceVersion: source,
      });
    expect(await found(libcDevBin('2.36-9+deb12u3'))).toEqual({});
    const findings = await match(libcDevBin('2.36-9+deb12u1'));
    expect(
      findings.map((f) => [f.package, f.installedVersion, f.sourcePackage, f.sourceVersion, f.fixedVersion]),
    ).toEqual([['libc-dev-bin', '1:2.36-9+deb12u4', 'glibc', '2.36-9+deb12u1', '2.36-9+deb12u3']]);
    for (const f of findings) {
      expect(compareVersions('dpkg', f.fixedVersion as string, f.sourceVersion as string)).toBeGreaterThan(0);
    }
    // Without a version in Source:, the source version is the binary's, epoch and all.
    const [own] = await match(pkg('dpkg', 'Debian:12', 'libc6', '2.36-9+deb12u1', { sourceName: 'glibc' }));
    expect([own?.sourcePackage, own?.sourceVersion]).toEqual(['glibc', '2.36-9+deb12u1']);
  });

  test('findings of packages matched by their own name carry no source', async () => {
    const [npm] = await match(pkg('npm', 'npm', 'minimist', '1.2.5'));
    expect(npm?.sourcePackage).toBeUndefined();
    expect(npm?.sourceVersion).toBeUndefined();
  });

  test('a binary package is not matched by its own name when its source differs', async () => {
    expect(
      await found(pkg('dpkg', 'Debian:12', 'glibc', '2.36-9+deb12u1', { sourceName: 'glibc-doc-src' })),
    ).toEqual({});
  });

  test('epochs count: openssh-client 1:9.2p1-2+deb12u2 has CVE-2024-6387 from DSA-5724-1 (severity unknown)', async () => {
    const findings = await match(
      pkg('dpkg', 'Debian:12', 'openssh-client', '1:9.2p1-2+deb12u2', { sourceName: 'openssh' }),
    );
    expect(findings).toMatchObject([
      { id: 'CVE-2024-6387', advisory: 'DSA-5724-1', severity: 'unknown', fixedVersion: '1:9.2p1-2+deb12u3' },
    ]);
    expect(findings[0]?.aliases).toEqual(['DSA-5724-1']);
    expect(
      await found(pkg('dpkg', 'Debian:12', 'openssh-client', '1:9.2p1-2+deb12u3', { sourceName: 'openssh' })),
    ).toEqual({});
  });

  test('a record without a release ("Debian") covers every Debian release', async () => {
    expect(
      await found(pkg('dpkg', 'Debian:12', 'zlib1g', '1:1.2.13.dfsg-1', { sourceName: 'zlib' })),
    ).toEqual({
      'TEST-DEBIAN-ANY-1 zlib1g@1:1.2.13.dfsg-1': '1:1.2.13.dfsg-2',
    });
  });
});

describe('Ubuntu and Alpine: release suffixes', () => {
  test('an Ubuntu:22.04:LTS record covers an Ubuntu:22.04 package', async () => {
    expect(
      await found(pkg('dpkg', 'Ubuntu:22.04', 'libc6', '2.35-0ubuntu3.1', { sourceName: 'glibc' })),
    ).toEqual({
      'CVE-2023-4911 libc6@2.35-0ubuntu3.1': '2.35-0ubuntu3.4',
    });
    expect(
      await found(pkg('dpkg', 'Ubuntu:20.04', 'libc6', '2.31-0ubuntu9.9', { sourceName: 'glibc' })),
    ).toEqual({});
  });

  test('libcrypto1.1 of openssl 1.1.1k-r0 on Alpine 3.14 has CVE-2021-3711, fixed in 1.1.1l-r0', async () => {
    const findings = await match(
      pkg('apk', 'Alpine:v3.14', 'libcrypto1.1', '1.1.1k-r0', { sourceName: 'openssl' }),
    );
    expect(findings).toMatchObject([
      {
        id: 'CVE-2021-3711',
        advisory: 'ALPINE-CVE-2021-3711',
        severity: 'critical',
        fixedVersion: '1.1.1l-r0',
      },
    ]);
    expect(
      await found(pkg('apk', 'Alpine:v3.14', 'libcrypto1.1', '1.1.1l-r0', { sourceName: 'openssl' })),
    ).toEqual({});
    expect(
      await found(pkg('apk', 'Alpine:v3.15', 'libcrypto1.1', '1.1.1k-r0', { sourceName: 'openssl' })),
    ).toEqual({});
  });
});

describe('language ecosystems', () => {
  test('minimist: two introduced/fixed pairs, each with its own fix', async () => {
    expect(await found(pkg('npm', 'npm', 'minimist', '0.0.8'))).toEqual({
      'CVE-2021-44906 minimist@0.0.8': '0.2.4',
    });
    expect(await found(pkg('npm', 'npm', 'minimist', '1.2.5'))).toEqual({
      'CVE-2021-44906 minimist@1.2.5': '1.2.6',
    });
    expect(await found(pkg('npm', 'npm', 'minimist', '1.0.0'))).toEqual({
      'CVE-2021-44906 minimist@1.0.0': '1.2.6',
    });
    expect(await found(pkg('npm', 'npm', 'minimist', '0.2.4'))).toEqual({});
    expect(await found(pkg('npm', 'npm', 'minimist', '1.2.6'))).toEqual({});
    const [finding] = await match(pkg('npm', 'npm', 'minimist', '1.2.5'));
    expect(finding).toMatchObject({
      id: 'CVE-2021-44906',
      advisory: 'GHSA-xvch-5gv4-984h',
      aliases: ['GHSA-xvch-5gv4-984h'],
      severity: 'critical',
      cvssScore: 9.8,
      description: 'Prototype Pollution in minimist',
      ecosystem: 'npm',
    });
  });

  test('requests: introduced 2.3.0, fixed 2.31.0; two records of one CVE make one finding', async () => {
    const findings = await match(pkg('pypi', 'PyPI', 'requests', '2.28.1'));
    expect(findings).toMatchObject([
      {
        id: 'CVE-2023-32681',
        advisory: 'GHSA-j8r2-6x86-q33q',
        aliases: ['GHSA-j8r2-6x86-q33q', 'TEST-PYSEC-1'],
        severity: 'medium',
        cvssScore: 6.1,
        fixedVersion: '2.31.0',
      },
    ]);
    expect(await found(pkg('pypi', 'PyPI', 'requests', '2.2.1'))).toEqual({});
    expect(await found(pkg('pypi', 'PyPI', 'requests', '2.31.0'))).toEqual({});
  });

  test('PyPI names match after normalisation', async () => {
    expect(await found(pkg('pypi', 'PyPI', 'Requests', '2.30.0'))).toEqual({
      'CVE-2023-32681 Requests@2.30.0': '2.31.0',
    });
  });

  test('log4j-core: each affected line has its own fix (2.15.0, 2.12.2, 2.3.1)', async () => {
    const log4j = (v: string) => pkg('maven', 'Maven', 'org.apache.logging.log4j:log4j-core', v);
    expect(await found(log4j('2.14.1'))).toEqual({
      'CVE-2021-44228 org.apache.logging.log4j:log4j-core@2.14.1': '2.15.0',
    });
    expect(await found(log4j('2.12.1'))).toEqual({
      'CVE-2021-44228 org.apache.logging.log4j:log4j-core@2.12.1': '2.12.2',
    });
    expect(await found(log4j('2.0-beta9'))).toEqual({
      'CVE-2021-44228 org.apache.logging.log4j:log4j-core@2.0-beta9': '2.3.1',
    });
    for (const safe of ['2.15.0', '2.17.1', '2.12.2', '2.3.1', '2.0-beta8', '1.2.17']) {
      expect(await found(log4j(safe))).toEqual({});
    }
    const [finding] = await match(log4j('2.14.1'));
    expect(finding).toMatchObject({ severity: 'critical', cvssScore: 10 });
  });

  test('Go stdlib: pre-release introduced events, and a fix per release line', async () => {
    const go = (v: string) => pkg('go', 'Go', 'stdlib', v);
    expect(await found(go('1.20.6'))).toEqual({ 'CVE-2023-29409 stdlib@1.20.6': '1.20.7' });
    expect(await found(go('1.19.11'))).toEqual({ 'CVE-2023-29409 stdlib@1.19.11': '1.19.12' });
    expect(await found(go('1.21.0-rc.3'))).toEqual({ 'CVE-2023-29409 stdlib@1.21.0-rc.3': '1.21.0-rc.4' });
    for (const safe of ['1.20.7', '1.19.12', '1.21.0', '1.22.1']) expect(await found(go(safe))).toEqual({});
    const [finding] = await match(go('1.20.6'));
    // The Go database gives no severity and no other record of this CVE is stored.
    expect(finding).toMatchObject({ advisory: 'GO-2023-1987', severity: 'unknown' });
    expect(finding?.cvssScore).toBeUndefined();
  });
});

describe('OSV range evaluation', () => {
  test('an explicit versions list matches exactly those versions, with no fix to offer', async () => {
    expect(await found(pkg('npm', 'npm', 'listed-pkg', '1.1.0'))).toEqual({
      'TEST-VERSIONS-1 listed-pkg@1.1.0': null,
    });
    expect(await found(pkg('npm', 'npm', 'listed-pkg', '1.1.1'))).toEqual({});
  });

  test('last_affected includes its version; nothing above it is affected', async () => {
    expect(await found(pkg('npm', 'npm', 'unfixed-pkg', '1.4.2'))).toEqual({
      'TEST-LAST-AFFECTED-1 unfixed-pkg@1.4.2': null,
    });
    expect(await found(pkg('npm', 'npm', 'unfixed-pkg', '1.0.0'))).toEqual({
      'TEST-LAST-AFFECTED-1 unfixed-pkg@1.0.0': null,
    });
    expect(await found(pkg('npm', 'npm', 'unfixed-pkg', '1.4.3'))).toEqual({});
    expect(await found(pkg('npm', 'npm', 'unfixed-pkg', '0.9.0'))).toEqual({});
    const [finding] = await match(pkg('npm', 'npm', 'unfixed-pkg', '1.2.0'));
    expect(finding?.description).toBe('No fix yet.');
  });

  test('events given out of order are sorted by version first', async () => {
    const sample = (v: string) => pkg('pypi', 'PyPI', 'sample-pkg', v);
    expect(await found(sample('1.1'))).toEqual({ 'TEST-UNSORTED-1 sample-pkg@1.1': '1.2.0' });
    expect(await found(sample('1.3'))).toEqual({});
    expect(await found(sample('1.9'))).toEqual({ 'TEST-UNSORTED-1 sample-pkg@1.9': '2.0.0' });
    expect(await found(sample('2.0.1'))).toEqual({});
  });

  test('a version the ecosystem refuses is skipped, not guessed at', async () => {
    expect(await found(pkg('npm', 'npm', 'minimist', 'not-a-version'))).toEqual({});
    // The range's own fix is not a version npm knows: the range is skipped.
    expect(await found(pkg('npm', 'npm', 'odd-pkg', '1.0.0'))).toEqual({});
  });

  test('GIT ranges are not matched against package versions', async () => {
    expect(await found(pkg('npm', 'npm', 'git-pkg', '1.0.0'))).toEqual({});
  });

  test('withdrawn records match nothing', async () => {
    expect(Object.keys(await found(pkg('npm', 'npm', 'listed-pkg', '9.9.9')))).toEqual([]);
  });

  test('a package without an ecosystem (unknown OS) is not matched', async () => {
    expect(
      await found({
        kind: 'dpkg',
        name: 'openssl',
        version: '1.1.1k-1',
        path: 'var/lib/dpkg/status',
        layer: LAYER,
      }),
    ).toEqual({});
  });

  test('one finding per vulnerability, package, version and path', async () => {
    const findings = await match(
      pkg('npm', 'npm', 'minimist', '1.2.5'),
      pkg('npm', 'npm', 'minimist', '1.2.5'),
      pkg('npm', 'npm', 'minimist', '1.2.5', { path: 'other/node_modules/minimist/package.json' }),
      pkg('npm', 'npm', 'minimist', '0.0.8', { path: 'old/node_modules/minimist/package.json' }),
    );
    expect(findings.map((f) => `${f.installedVersion} ${f.path}`).sort()).toEqual([
      '0.0.8 old/node_modules/minimist/package.json',
      '1.2.5 app/node_modules/minimist/package.json',
      '1.2.5 other/node_modules/minimist/package.json',
    ]);
  });

  test('findings come most severe first', async () => {
    const findings = await match(
      pkg('go', 'Go', 'stdlib', '1.20.6'),
      pkg('pypi', 'PyPI', 'requests', '2.28.1'),
      pkg('npm', 'npm', 'minimist', '1.2.5'),
      pkg('dpkg', 'Debian:12', 'libc6', '2.36-9+deb12u1', { sourceName: 'glibc' }),
    );
    expect(findings.map((f) => f.severity)).toEqual(['critical', 'high', 'medium', 'unknown']);
  });
});

describe('finding images to match again after an import', () => {
  test('images are found by the packages an import changed', async () => {
    const debian: ImageInventory = {
      packages: [pkg('dpkg', 'Debian:12', 'libc6', '2.36-9+deb12u1', { sourceName: 'glibc' })],
      warnings: [],
    };
    const python: ImageInventory = { packages: [pkg('pypi', 'PyPI', 'Requests', '2.28.1')], warnings: [] };
    await recordInventoryPackages(db, 'sha256:debian', debian);
    await recordInventoryPackages(db, 'sha256:python', python);
    expect(await rematchCandidates(db, [{ ecosystem: 'Debian:12', package: 'glibc' }])).toEqual([
      'sha256:debian',
    ]);
    // Binary names are not what records name.
    expect(await rematchCandidates(db, [{ ecosystem: 'Debian:12', package: 'libc6' }])).toEqual([]);
    expect(await rematchCandidates(db, [{ ecosystem: 'PyPI', package: 'requests' }])).toEqual([
      'sha256:python',
    ]);
    expect(
      await rematchCandidates(db, [
        { ecosystem: 'Debian', package: 'glibc' },
        { ecosystem: 'PyPI', package: 'REQUESTS' },
      ]),
    ).toEqual(['sha256:debian', 'sha256:python']);
    await forgetInventoryPackages(db, 'sha256:python');
    expect(await rematchCandidates(db, [{ ecosystem: 'PyPI', package: 'requests' }])).toEqual([]);
  });
});
