// Matching the application ecosystems the scanner reads from gems, Composer, NuGet and Python
// lockfiles against OSV records in the format osv.dev exports for RubyGems, Packagist, NuGet and
// PyPI (test/fixtures/osv-apps), with the traps of each version order: RubyGems' four-segment
// fixes and letter prereleases, Composer's "v" prefix and padding to four parts, NuGet's fourth
// part and prereleases. The inventory is what the parsers read from files in an image.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Database } from '../../origin/metadata/database.ts';
import { appPackageParsers } from '../../origin/scan/apps/index.ts';
import type { ImageInventory } from '../../origin/scan/inventory.ts';
import { osPackageParsers } from '../../origin/scan/os/index.ts';
import { importOsv } from '../../origin/vulndb/import.ts';
import { matchInventory } from '../../origin/vulndb/match.ts';
import { scanImage } from '../unit/scan-layer/image-layers.ts';
import type { TestEntry } from '../unit/scan-layer/tar-helpers.ts';
import { openTestDatabase, type TestDb } from './db.ts';

const FIXTURES = new URL('../fixtures/osv-apps', import.meta.url).pathname;
let handle: TestDb;
let db: Database;

beforeAll(async () => {
  handle = await openTestDatabase();
  db = handle.db;
  const imported = await importOsv(db, FIXTURES);
  if (!imported.ok || imported.report.skippedInvalid > 0) throw new Error('fixtures did not import');
});
afterAll(async () => {
  await handle?.close();
});

async function inventoryOf(files: TestEntry[]): Promise<ImageInventory> {
  const { inventory } = await scanImage([files], [...osPackageParsers, ...appPackageParsers]);
  expect(inventory.warnings).toEqual([]);
  return inventory;
}

/** "name@version" → the fixed version of each finding (null when none), for one file per version. */
async function verdicts(files: TestEntry[]): Promise<Record<string, string | null>> {
  const findings = await matchInventory(db, await inventoryOf(files));
  return Object.fromEntries(
    findings.map((f) => [`${f.id} ${f.package}@${f.installedVersion}`, f.fixedVersion ?? null]),
  );
}

const gemspec = (version: string): TestEntry => ({
  path: `usr/local/bundle/specifications/rack-${version}.gemspec`,
  content: `Gem::Specification.new do |s|\n  s.name = "rack".freeze\n  s.version = "${version}"\nend\n`,
});

describe('RubyGems', () => {
  test('rack in each range of CVE-2023-27530, and just past each fix', async () => {
    expect(
      await verdicts(
        [
          '1.6.13',
          '2.0.9.2',
          '2.0.9.3',
          '2.1.4.3',
          '2.2.6',
          '2.2.6.2',
          '2.2.6.3',
          '2.2.10',
          '3.0.0.beta1',
          '3.0.4.1',
          '3.0.4.2',
        ].map(gemspec),
      ),
    ).toEqual({
      'CVE-2023-27530 rack@1.6.13': '2.0.9.3',
      'CVE-2023-27530 rack@2.0.9.2': '2.0.9.3',
      'CVE-2023-27530 rack@2.2.6': '2.2.6.3',
      'CVE-2023-27530 rack@2.2.6.2': '2.2.6.3',
      // 3.0.0.beta1 is a prerelease of 3.0.0: before the range that starts there, after 2.2.6.3.
      'CVE-2023-27530 rack@3.0.4.1': '3.0.4.2',
    });
  });

  test("a Gemfile.lock's pin is matched when no installed gem names it", async () => {
    expect(
      await verdicts([
        {
          path: 'srv/app/Gemfile.lock',
          content:
            'GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.6.2)\n\nPLATFORMS\n  ruby\n',
        },
      ]),
    ).toEqual({ 'CVE-2023-27530 rack@2.2.6.2': '2.2.6.3' });
  });
});

describe('Packagist', () => {
  test('symfony/http-kernel as Composer writes it: a "v" prefix, padded parts, stability suffixes', async () => {
    const installed = [
      'v4.4.49',
      'v4.4.50',
      'v5.4.19',
      'v5.4.20',
      '6.1',
      'v6.1.12',
      'v6.2.0-BETA1',
      'v6.2.5',
      'v6.3.0',
    ].map((version) => ({ name: 'symfony/http-kernel', version }));
    const files: TestEntry[] = installed.map((p, i) => ({
      path: `srv/app${i}/vendor/composer/installed.json`,
      content: JSON.stringify({ packages: [p], dev: false, 'dev-package-names': [] }),
    }));
    expect(await verdicts(files)).toEqual({
      'CVE-2022-24894 symfony/http-kernel@v4.4.49': '4.4.50',
      'CVE-2022-24894 symfony/http-kernel@v5.4.19': '5.4.20',
      // 6.1 is 6.1.0.0, the start of a range.
      'CVE-2022-24894 symfony/http-kernel@6.1': '6.1.12',
      'CVE-2022-24894 symfony/http-kernel@v6.2.5': '6.2.6',
    });
  });
});

describe('NuGet', () => {
  test("Newtonsoft.Json from deps.json: the fourth part and prereleases in NuGet's order", async () => {
    const files: TestEntry[] = ['12.0.3', '13.0.0.1', '13.0.1-beta1', '13.0.1', '13.0.1.0', '13.0.3'].map(
      (v, i) => ({
        path: `app${i}/App.deps.json`,
        content: JSON.stringify({
          libraries: { [`Newtonsoft.Json/${v}`]: { type: 'package', serviceable: true } },
        }),
      }),
    );
    expect(await verdicts(files)).toEqual({
      'CVE-2024-21907 Newtonsoft.Json@12.0.3': '13.0.1',
      'CVE-2024-21907 Newtonsoft.Json@13.0.0.1': '13.0.1',
      'CVE-2024-21907 Newtonsoft.Json@13.0.1-beta1': '13.0.1',
    });
  });

  test('a lock file spelling the id in another case matches: NuGet ids are case-insensitive', async () => {
    expect(
      await verdicts([
        {
          path: 'src/App/packages.lock.json',
          content: JSON.stringify({
            version: 1,
            dependencies: { 'net8.0': { 'newtonsoft.json': { type: 'Transitive', resolved: '12.0.1' } } },
          }),
        },
      ]),
    ).toEqual({ 'CVE-2024-21907 newtonsoft.json@12.0.1': '13.0.1' });
  });
});

describe('PyPI lockfiles', () => {
  test('requirements.txt and poetry.lock pins, with names spelled as PEP 503 folds them', async () => {
    expect(
      await verdicts([
        { path: 'app/requirements.txt', content: 'Requests==2.30.0\n' },
        {
          path: 'worker/poetry.lock',
          content:
            '[[package]]\nname = "requests"\nversion = "2.31.0rc1"\n\n[metadata]\nlock-version = "2.1"\n',
        },
        {
          path: 'api/Pipfile.lock',
          content: JSON.stringify({ _meta: {}, default: { requests: { version: '==2.31.0' } } }),
        },
      ]),
    ).toEqual({
      'CVE-2023-32681 requests@2.30.0': '2.31.0',
      // A release candidate of the fix is before it.
      'CVE-2023-32681 requests@2.31.0rc1': '2.31.0',
    });
  });
});
