// The new application parsers through the layer walker and the merge, as the built-in scanner
// runs them: each file reaches its parser, packages get their OSV ecosystem (RubyGems,
// Packagist, NuGet, PyPI), a lockfile's package is dropped where the image has installed
// metadata of the same name, and a file too large or unreadable is a warning, not a failure.
import { describe, expect, it } from 'vitest';
import { appPackageParsers } from '../../../origin/scan/apps/index.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { scanImage } from '../scan-layer/image-layers.ts';

const PARSERS = [...osPackageParsers, ...appPackageParsers];

const gemspec = (name: string, version: string) =>
  `Gem::Specification.new do |s|\n  s.name = "${name}".freeze\n  s.version = "${version}"\nend\n`;

describe('application ecosystems in an image', () => {
  it('each package gets its ecosystem; a lockfile adds only what is not seen installed', async () => {
    const { inventory } = await scanImage(
      [
        [
          { path: 'usr/local/bundle/specifications/rack-2.2.8.gemspec', content: gemspec('rack', '2.2.8') },
          {
            path: 'srv/app/Gemfile.lock',
            content:
              'GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.6)\n    rake (13.0.6)\n\nPLATFORMS\n  ruby\n',
          },
          {
            path: 'var/www/vendor/composer/installed.json',
            content: JSON.stringify({ packages: [{ name: 'symfony/http-foundation', version: 'v5.4.31' }] }),
          },
          {
            path: 'var/www/composer.lock',
            content: JSON.stringify({
              packages: [{ name: 'symfony/http-foundation', version: 'v5.4.31' }],
              'packages-dev': [{ name: 'phpunit/phpunit', version: '9.6.13' }],
            }),
          },
          {
            path: 'app/WebApp.deps.json',
            content: JSON.stringify({
              libraries: {
                'WebApp/1.0.0': { type: 'project' },
                'Newtonsoft.Json/13.0.1': { type: 'package' },
              },
            }),
          },
          {
            path: 'src/WebApp/packages.lock.json',
            content: JSON.stringify({
              version: 1,
              dependencies: {
                'net8.0': {
                  'newtonsoft.json': { type: 'Direct', resolved: '13.0.1' },
                  Serilog: { type: 'Transitive', resolved: '3.1.1' },
                },
              },
            }),
          },
          {
            path: 'usr/local/lib/python3.12/site-packages/Flask_Cors-4.0.0.dist-info/METADATA',
            content: 'Metadata-Version: 2.1\nName: Flask-Cors\nVersion: 4.0.0\n',
          },
          { path: 'app/requirements.txt', content: 'flask_cors==3.0.10\nrequests==2.31.0\n' },
        ],
      ],
      PARSERS,
    );
    expect(inventory.warnings).toEqual([]);
    expect(inventory.packages.map((p) => `${p.ecosystem} ${p.name}@${p.version} ${p.path}`)).toEqual([
      'NuGet Newtonsoft.Json@13.0.1 app/WebApp.deps.json',
      'PyPI requests@2.31.0 app/requirements.txt',
      'NuGet Serilog@3.1.1 src/WebApp/packages.lock.json',
      'RubyGems rake@13.0.6 srv/app/Gemfile.lock',
      'RubyGems rack@2.2.8 usr/local/bundle/specifications/rack-2.2.8.gemspec',
      'PyPI flask-cors@4.0.0 usr/local/lib/python3.12/site-packages/Flask_Cors-4.0.0.dist-info/METADATA',
      'Packagist phpunit/phpunit@9.6.13 var/www/composer.lock',
      'Packagist symfony/http-foundation@v5.4.31 var/www/vendor/composer/installed.json',
    ]);
  });

  it('an unreadable or oversized file is a warning naming it; the rest of the image is still read', async () => {
    const { inventory } = await scanImage(
      [
        [
          {
            path: 'usr/local/bundle/specifications/odd-1.0.gemspec',
            content: 's.name = "odd"\ns.version = Odd::V\n',
          },
          { path: 'app/poetry.lock', lazySize: 40 * 1024 * 1024, fill: 0x61 },
          { path: 'app/Other.deps.json', content: '{"libraries": ' },
          {
            path: 'var/www/vendor/composer/installed.json',
            content: '[{"name": "a/b", "version": "1.0.0"}]',
          },
        ],
      ],
      PARSERS,
    );
    expect(inventory.packages.map((p) => `${p.ecosystem} ${p.name}@${p.version}`)).toEqual([
      'Packagist a/b@1.0.0',
    ]);
    expect(inventory.warnings).toHaveLength(3);
    expect(inventory.warnings.join('\n')).toMatch(/app\/Other\.deps\.json: not JSON/);
    expect(inventory.warnings.join('\n')).toMatch(/app\/poetry\.lock/);
    expect(inventory.warnings.join('\n')).toMatch(/odd-1\.0\.gemspec: no s\.name and s\.version lines/);
  });
});
