// origin/scan/apps/index.ts: the walker gives each file to the first parser that wants it, and
// the list is ordered so that each kind of file reaches its own parser.
import { describe, expect, it } from 'vitest';
import { appPackageParsers } from '../../../origin/scan/apps/index.ts';

const firstWanting = (path: string, mode = 0o755, size = 2_000_000) =>
  appPackageParsers.find((parser) => parser.wants({ path, mode, size }))?.name;

describe('application package parsers', () => {
  it('each kind of file reaches its own parser, even with the x bit set', () => {
    expect(firstWanting('app/node_modules/semver/package.json')).toBe('npm');
    expect(firstWanting('usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA')).toBe('python');
    expect(firstWanting('opt/app/app.jar')).toBe('java');
    expect(firstWanting('usr/local/bundle/specifications/rack-3.0.8.gemspec')).toBe('ruby');
    expect(firstWanting('srv/app/Gemfile.lock')).toBe('ruby');
    expect(firstWanting('var/www/vendor/composer/installed.json')).toBe('php');
    expect(firstWanting('var/www/composer.lock')).toBe('php');
    expect(firstWanting('app/WebApp.deps.json')).toBe('dotnet');
    expect(firstWanting('src/WebApp/packages.lock.json')).toBe('dotnet');
    expect(firstWanting('app/poetry.lock')).toBe('python-lock');
    expect(firstWanting('app/Pipfile.lock')).toBe('python-lock');
    expect(firstWanting('app/requirements.txt')).toBe('python-lock');
    expect(firstWanting('usr/local/bin/kubectl')).toBe('go-binary');
    expect(firstWanting('etc/passwd', 0o644)).toBeUndefined();
  });
});
