// origin/scan/apps/php.ts: Composer's vendor/composer/installed.json (Composer 1 and 2 formats)
// and composer.lock. The oracle is Debian's `composer`: it installs a project offline from local
// packages, writing both files, and `composer show` lists what it installed and locked.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { phpParser } from '../../../origin/scan/apps/php.ts';
import type { FoundPackage } from '../../../origin/scan/inventory.ts';
import type { EntryInfo, ParseOutcome } from '../../../origin/scan/layer/file-parser.ts';
import { requireTool } from '../versions/oracle.ts';

const entry = (path: string): EntryInfo => ({ path, mode: 0o644, size: 1000 });
const parse = (path: string, text: string): Promise<ParseOutcome> =>
  Promise.resolve(phpParser.parse(entry(path), Buffer.from(text)));
async function packagesOf(path: string, text: string): Promise<FoundPackage[]> {
  const outcome = await parse(path, text);
  if (!outcome.ok) throw new Error(outcome.warning);
  return outcome.packages;
}

// What Composer 1 wrote (a top-level array), from a Laravel 5 image.
const INSTALLED_V1 = JSON.stringify(
  [
    {
      name: 'symfony/http-foundation',
      version: 'v4.4.7',
      version_normalized: '4.4.7.0',
      source: { type: 'git', url: 'https://github.com/symfony/http-foundation.git', reference: '62f9250' },
      require: { php: '>=7.1.3' },
      time: '2020-03-30T14:07:33+00:00',
      type: 'library',
      'installation-source': 'dist',
      autoload: { 'psr-4': { 'Symfony\\Component\\HttpFoundation\\': '' } },
      license: ['MIT'],
    },
    {
      name: 'guzzlehttp/guzzle',
      version: '6.5.2',
      version_normalized: '6.5.2.0',
      type: 'library',
      'installation-source': 'dist',
    },
    { name: 'laravel/framework', version: 'dev-master', version_normalized: '9999999-dev', type: 'library' },
  ],
  null,
  4,
);

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  requireTool(
    'composer (Debian)',
    'composer',
    ['--version', '--no-plugins'],
    'apt-get install php-cli composer',
  );
  dir = mkdtempSync(join(tmpdir(), 'scan-php-'));
  env = { ...process.env, COMPOSER_HOME: join(dir, 'home'), COMPOSER_ALLOW_SUPERUSER: '1' };
  const packages: Record<string, object> = {
    logger: { name: 'acme/logger', version: '1.4.2', require: { 'acme/util': '^2.0' } },
    util: { name: 'acme/util', version: 'v2.0.1' },
    'test-kit': { name: 'acme/test-kit', version: '0.9.0-beta2' },
  };
  for (const [folder, manifest] of Object.entries(packages)) {
    mkdirSync(join(dir, 'pkgs', folder), { recursive: true });
    writeFileSync(join(dir, 'pkgs', folder, 'composer.json'), JSON.stringify(manifest));
  }
  mkdirSync(join(dir, 'app'));
  writeFileSync(
    join(dir, 'app/composer.json'),
    JSON.stringify({
      name: 'acme/app',
      'minimum-stability': 'beta',
      repositories: [
        { type: 'path', url: '../pkgs/*', options: { symlink: false } },
        { 'packagist.org': false },
      ],
      require: { 'acme/logger': '^1.4' },
      'require-dev': { 'acme/test-kit': '^0.9@beta' },
    }),
  );
  execFileSync('composer', ['install', '--no-interaction', '--no-plugins', '--no-progress'], {
    cwd: join(dir, 'app'),
    env,
    stdio: 'pipe',
  });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function composerShow(...args: string[]): string[] {
  const out = execFileSync('composer', ['show', '--format=json', '--no-plugins', ...args], {
    cwd: join(dir, 'app'),
    env,
    encoding: 'utf8',
  });
  const json = JSON.parse(out) as Record<string, { name: string; version: string }[]>;
  return Object.values(json)
    .flat()
    .map((p) => `${p.name}@${p.version}`)
    .sort();
}

describe('PHP packages installed by Composer', () => {
  it("Composer 2's installed.json names every package `composer show` lists as installed", async () => {
    const found = await packagesOf(
      'srv/app/vendor/composer/installed.json',
      readFileSync(join(dir, 'app/vendor/composer/installed.json'), 'utf8'),
    );
    expect(found.map((p) => `${p.name}@${p.version}`).sort()).toEqual(composerShow());
    expect(found.every((p) => p.kind === 'composer' && p.declared === undefined)).toBe(true);
    expect(found).toHaveLength(3);
  });

  it('composer.lock names every package `composer show --locked` lists, dev packages included', async () => {
    const found = await packagesOf(
      'srv/app/composer.lock',
      readFileSync(join(dir, 'app/composer.lock'), 'utf8'),
    );
    expect(found.map((p) => `${p.name}@${p.version}`).sort()).toEqual(composerShow('--locked'));
    expect(found.every((p) => p.kind === 'composer' && p.declared === true)).toBe(true);
  });

  it("Composer 1's installed.json, a top-level array; a branch keeps its name as Composer wrote it", async () => {
    expect(await packagesOf('var/www/vendor/composer/installed.json', INSTALLED_V1)).toEqual([
      { kind: 'composer', name: 'symfony/http-foundation', version: 'v4.4.7' },
      { kind: 'composer', name: 'guzzlehttp/guzzle', version: '6.5.2' },
      { kind: 'composer', name: 'laravel/framework', version: 'dev-master' },
    ]);
  });

  it('wants installed.json and project lockfiles, not the lockfiles packages ship', () => {
    const wants = (path: string) => phpParser.wants(entry(path));
    expect(wants('var/www/html/vendor/composer/installed.json')).toBe(true);
    expect(wants('var/www/html/composer.lock')).toBe(true);
    expect(wants('var/www/html/vendor/acme/util/composer.lock')).toBe(false);
    expect(wants('var/www/html/composer.json')).toBe(false);
    expect(wants('var/www/html/vendor/composer/installed.php')).toBe(false);
  });

  it('hostile and odd files are reported, never thrown', async () => {
    const path = 'app/vendor/composer/installed.json';
    expect(await parse(path, '{"packages": [{"name": "a/b", "vers')).toMatchObject({ ok: false });
    expect(await parse(path, '"a string"')).toEqual({
      ok: false,
      warning: `${path}: neither Composer 1 nor Composer 2 installed.json`,
    });
    expect(await parse(path, '{"packages": {"a/b": "1.0"}}')).toEqual({
      ok: false,
      warning: `${path}: "packages" is not a list`,
    });
    expect(await parse('app/composer.lock', '[]')).toMatchObject({ ok: false });
    // Wrong types inside: counted and reported beside what was read.
    const mixed = JSON.stringify({
      packages: [
        null,
        7,
        { name: 'a/b', version: 1 },
        { name: ['x'], version: '1' },
        { name: 'Not A Name', version: '1' },
        { name: 'a/c', version: '2.0' },
      ],
    });
    expect(await parse(path, mixed)).toEqual({
      ok: true,
      packages: [{ kind: 'composer', name: 'a/c', version: '2.0' }],
      warnings: [`${path}: 5 entries without a name and version not read`],
    });
    // A name crafted to make a backtracking pattern explode is refused at once.
    const started = Date.now();
    await parse(path, JSON.stringify({ packages: [{ name: `${'a'.repeat(250)}!/b`, version: '1' }] }));
    await parse(path, JSON.stringify({ packages: [{ name: `a/${'a-'.repeat(120)}!`, version: '1' }] }));
    expect(Date.now() - started).toBeLessThan(500);
  });
});
