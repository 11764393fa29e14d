// Fuzzing the Ruby, PHP, .NET and Python lockfile parsers (origin/scan/apps/ruby.ts, php.ts,
// dotnet.ts, python-lock.ts): any bytes at any of their paths give packages or a warning naming
// the file, never an exception; files written from packages read back as those packages.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { dotnetParser } from '../../origin/scan/apps/dotnet.ts';
import { phpParser } from '../../origin/scan/apps/php.ts';
import { pythonLockParser } from '../../origin/scan/apps/python-lock.ts';
import { rubyParser } from '../../origin/scan/apps/ruby.ts';
import type { ParseOutcome, WholeFileParser } from '../../origin/scan/layer/file-parser.ts';
import { anyText, fuzz, mutated } from './fuzz-settings.ts';

const encoder = new TextEncoder();
const name = fc.stringMatching(/^[a-z][a-z0-9]{0,8}(?:[-_][a-z0-9]{1,6}){0,2}$/);
const version = fc.stringMatching(/^[0-9]{1,3}(?:\.[0-9]{1,3}){1,3}$/);
const packages = fc.uniqueArray(fc.tuple(name, version), { selector: ([n]) => n, maxLength: 5 });

const PATHS: [WholeFileParser, string][] = [
  [rubyParser, 'usr/local/bundle/specifications/x-1.0.gemspec'],
  [rubyParser, 'srv/app/Gemfile.lock'],
  [phpParser, 'var/www/vendor/composer/installed.json'],
  [phpParser, 'var/www/composer.lock'],
  [dotnetParser, 'app/App.deps.json'],
  [dotnetParser, 'src/App/packages.lock.json'],
  [pythonLockParser, 'app/poetry.lock'],
  [pythonLockParser, 'app/Pipfile.lock'],
  [pythonLockParser, 'app/requirements.txt'],
];

// Files of each kind, written from packages, for the mutations to start from.
const writers: Record<string, (p: [string, string][]) => string> = {
  'x-1.0.gemspec': (p) =>
    `Gem::Specification.new do |s|\n  s.name = "${p[0]?.[0] ?? 'x'}".freeze\n  s.version = "${p[0]?.[1] ?? '1'}"\nend\n`,
  'Gemfile.lock': (p) =>
    `GEM\n  remote: https://rubygems.org/\n  specs:\n${p.map(([n, v]) => `    ${n} (${v})\n      dep (>= 1)\n`).join('')}\nPLATFORMS\n  ruby\n`,
  'installed.json': (p) =>
    JSON.stringify({ packages: p.map(([n, v]) => ({ name: `acme/${n}`, version: v })) }, null, 4),
  'composer.lock': (p) =>
    JSON.stringify({ packages: p.map(([n, v]) => ({ name: `acme/${n}`, version: v })), 'packages-dev': [] }),
  'App.deps.json': (p) =>
    JSON.stringify({ libraries: Object.fromEntries(p.map(([n, v]) => [`${n}/${v}`, { type: 'package' }])) }),
  'packages.lock.json': (p) =>
    JSON.stringify({
      version: 1,
      dependencies: {
        'net8.0': Object.fromEntries(p.map(([n, v]) => [n, { type: 'Transitive', resolved: v }])),
      },
    }),
  'poetry.lock': (p) =>
    `${p.map(([n, v]) => `[[package]]\nname = "${n}"\nversion = "${v}"\nfiles = [\n]\n\n`).join('')}[metadata]\nlock-version = "2.1"\n`,
  'Pipfile.lock': (p) =>
    JSON.stringify({ _meta: {}, default: Object.fromEntries(p.map(([n, v]) => [n, { version: `==${v}` }])) }),
  'requirements.txt': (p) => p.map(([n, v]) => `${n}==${v} \\\n    --hash=sha256:00\n`).join(''),
};
const writerOf = (path: string) => writers[path.slice(path.lastIndexOf('/') + 1)]!;

describe.each(PATHS)('%s at %s', (parser, path) => {
  const entry = { path, mode: 0o644, size: 0 };
  const parse = (b: Uint8Array) => parser.parse(entry, b) as ParseOutcome;

  test('any bytes: packages or a warning naming the file, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(packages.map(writerOf(path))).map((t) => encoder.encode(t)),
          fc.jsonValue().map((v) => encoder.encode(JSON.stringify(v))),
          fc.uint8Array({ maxLength: 400 }),
          anyText.map((t) => encoder.encode(t)),
        ),
        (b) => {
          const outcome = parse(b);
          if (outcome.ok)
            for (const p of outcome.packages) expect(p.name !== '' && p.version !== '').toBe(true);
          else expect(outcome.warning.startsWith(`${path}:`)).toBe(true);
          for (const w of outcome.ok ? (outcome.warnings ?? []) : [])
            expect(w.startsWith(`${path}:`)).toBe(true);
        },
      ),
      fuzz(),
    );
  });

  test('a file written from packages reads back as them', () => {
    fc.assert(
      fc.property(packages, (written) => {
        const outcome = parse(encoder.encode(writerOf(path)(written)));
        expect(outcome.ok).toBe(true);
        const read = outcome.ok
          ? outcome.packages.map((p) => `${p.name.replace(/^acme\//, '')}@${p.version}`)
          : [];
        const one = path.endsWith('.gemspec');
        const expected = (one ? written.slice(0, 1) : written).map(
          ([n, v]) =>
            `${path.startsWith('app/') && !path.endsWith('.deps.json') ? n.replace(/[-_.]+/g, '-') : n}@${v}`,
        );
        if (one && written.length === 0) expected.push('x@1');
        expect(read.sort()).toEqual(expected.sort());
      }),
      fuzz(),
    );
  });
});
