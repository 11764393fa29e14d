// origin/scan/apps/ruby.ts: installed gems by their specifications, and Gemfile.lock's GEM
// sections. The oracles are Debian's `ruby`: `gem list` over the gems installed on this machine,
// and Bundler itself writing a Gemfile.lock from them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rubyParser } from '../../../origin/scan/apps/ruby.ts';
import type { FoundPackage } from '../../../origin/scan/inventory.ts';
import type { EntryInfo, ParseOutcome } from '../../../origin/scan/layer/file-parser.ts';
import { requireTool } from '../versions/oracle.ts';

const entry = (path: string, size = 1000): EntryInfo => ({ path, mode: 0o644, size });
const parse = (path: string, text: string | Uint8Array): Promise<ParseOutcome> =>
  Promise.resolve(rubyParser.parse(entry(path), typeof text === 'string' ? Buffer.from(text) : text));
const requireRuby = () => requireTool("gem (Debian's ruby)", 'gem', ['--version'], 'apt-get install ruby');

async function packagesOf(path: string, text: string | Uint8Array): Promise<FoundPackage[]> {
  const outcome = await parse(path, text);
  if (!outcome.ok) throw new Error(outcome.warning);
  return outcome.packages;
}

// Written by RubyGems on Debian 12 (ruby-rack 2.2.x, /usr/share/rubygems-integration/all).
const RACK_GEMSPEC = `# -*- encoding: utf-8 -*-
# stub: rack 2.2.22 ruby lib

Gem::Specification.new do |s|
  s.name = "rack".freeze
  s.version = "2.2.22"

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.metadata = { "bug_tracker_uri" => "https://github.com/rack/rack/issues" } if s.respond_to? :metadata=
  s.require_paths = ["lib".freeze]
  s.authors = ["Leah Neukirchen".freeze]
  s.date = "2026-07-25"
  s.executables = ["rackup".freeze]
  s.files = ["bin/rackup".freeze]
  s.homepage = "https://github.com/rack/rack".freeze
  s.licenses = ["MIT".freeze]
  s.required_ruby_version = Gem::Requirement.new(">= 2.3.0".freeze)
  s.rubygems_version = "3.3.15".freeze
  s.summary = "A modular Ruby webserver interface.".freeze

  s.installed_by_version = "3.3.15" if s.respond_to? :installed_by_version

  if s.respond_to? :specification_version then
    s.specification_version = 4
  end

  if s.respond_to? :add_runtime_dependency then
    s.add_development_dependency(%q<minitest>.freeze, ["~> 5.0"])
  else
    s.add_dependency(%q<minitest>.freeze, ["~> 5.0"])
  end
end
`;

// A platform gem as `gem install` leaves it in /usr/local/bundle/specifications.
const NOKOGIRI_GEMSPEC = `# -*- encoding: utf-8 -*-
# stub: nokogiri 1.15.4 x86_64-linux lib

Gem::Specification.new do |s|
  s.name = "nokogiri".freeze
  s.version = "1.15.4"
  s.platform = "x86_64-linux".freeze
  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.require_paths = ["lib".freeze]
  s.add_runtime_dependency(%q<racc>.freeze, ["~> 1.4"])
end
`;

// A Rails application's lockfile as Bundler 2.4 writes it: a GIT and a PATH source (not
// read), platform variants of one gem, dependency lines under each spec.
const RAILS_LOCK = `GIT
  remote: https://github.com/example/forked-gem.git
  revision: 0123456789abcdef0123456789abcdef01234567
  specs:
    forked-gem (0.3.0)

PATH
  remote: engines/billing
  specs:
    billing (0.1.0)
      rails (>= 7.0)

GEM
  remote: https://rubygems.org/
  specs:
    actionpack (7.0.4.3)
      actionview (= 7.0.4.3)
      rack (~> 2.0, >= 2.2.0)
    actionview (7.0.4.3)
    nokogiri (1.15.4-aarch64-linux)
      racc (~> 1.4)
    nokogiri (1.15.4-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.1)
    rack (2.2.8)
    rails (7.0.4.3)
      actionpack (= 7.0.4.3)
    sprockets (4.0.0.beta10)

PLATFORMS
  aarch64-linux
  x86_64-linux

DEPENDENCIES
  billing!
  forked-gem!
  rails (~> 7.0.4)

BUNDLED WITH
   2.4.19
`;

describe('Ruby gems', () => {
  it("Debian's gemspec format names its gem; a platform gem keeps its plain version", async () => {
    expect(
      await packagesOf('usr/share/rubygems-integration/all/specifications/rack-2.2.22.gemspec', RACK_GEMSPEC),
    ).toEqual([{ kind: 'gem', name: 'rack', version: '2.2.22' }]);
    expect(
      await packagesOf(
        'usr/local/bundle/specifications/nokogiri-1.15.4-x86_64-linux.gemspec',
        NOKOGIRI_GEMSPEC,
      ),
    ).toEqual([{ kind: 'gem', name: 'nokogiri', version: '1.15.4' }]);
  });

  it('every gem `gem list` shows on this machine is found in the specifications of its GEM_PATH', async () => {
    requireRuby();
    const listed = execFileSync('gem', ['list', '--local'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .flatMap((line) => {
        const m = /^(\S+) \((.*)\)$/.exec(line);
        if (!m) throw new Error(`gem list line not understood: ${line}`);
        return m[2]!.split(', ').map((v) => `${m[1]}@${v.replace(/^default: /, '')}`);
      })
      .sort();
    const found: string[] = [];
    const paths = execFileSync('gem', ['env', 'paths'], { encoding: 'utf8' }).trim().split(':');
    for (const home of paths) {
      for (const dir of [join(home, 'specifications'), join(home, 'specifications/default')]) {
        if (!existsSync(dir)) continue;
        for (const file of readdirSync(dir).filter((f) => f.endsWith('.gemspec'))) {
          const path = join(dir, file).slice(1);
          expect(rubyParser.wants(entry(path))).toBe(true);
          for (const p of await packagesOf(path, readFileSync(join(dir, file))))
            found.push(`${p.name}@${p.version}`);
        }
      }
    }
    expect(listed.length).toBeGreaterThan(50);
    // A gem installed in two GEM_PATH entries (Ruby's bundled rake and Debian's) is two files
    // here, one line in `gem list`.
    expect([...new Set(found)].sort()).toEqual(listed);
  });

  it("a Gemfile.lock Bundler writes from this machine's gems names each at its version", async () => {
    requireRuby();
    const dir = mkdtempSync(join(tmpdir(), 'scan-ruby-'));
    try {
      writeFileSync(
        join(dir, 'Gemfile'),
        'source "https://rubygems.org"\ngem "rack"\ngem "rake"\ngem "webrick"\n',
      );
      const bundle = 'require "bundler"; load Gem.bin_path("bundler", "bundle")';
      execFileSync('ruby', ['-e', bundle, '--', 'lock', '--local'], { cwd: dir, stdio: 'pipe' });
      const lock = readFileSync(join(dir, 'Gemfile.lock'), 'utf8');
      const versions = execFileSync(
        'ruby',
        ['-e', 'puts %w[rack rake webrick].map { |n| "#{n}@#{Gem::Specification.find_by_name(n).version}" }'],
        { encoding: 'utf8' },
      )
        .trim()
        .split('\n');
      const found = await packagesOf('srv/app/Gemfile.lock', lock);
      expect(found.map((p) => `${p.name}@${p.version}`)).toEqual(versions);
      expect(found.every((p) => p.kind === 'gem' && p.declared === true)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads only the GEM sections: one entry per gem whatever its platforms, dependency lines skipped', async () => {
    const found = await packagesOf('srv/app/Gemfile.lock', RAILS_LOCK.replaceAll('\n', '\r\n'));
    expect(found).toEqual(
      [
        ['actionpack', '7.0.4.3'],
        ['actionview', '7.0.4.3'],
        ['nokogiri', '1.15.4'],
        ['racc', '1.7.1'],
        ['rack', '2.2.8'],
        ['rails', '7.0.4.3'],
        ['sprockets', '4.0.0.beta10'],
      ].map(([name, version]) => ({ kind: 'gem', name, version, declared: true })),
    );
  });

  it('wants specifications and project lockfiles, not the lockfiles gems ship inside themselves', () => {
    const wants = (path: string) => rubyParser.wants(entry(path));
    expect(wants('usr/local/bundle/specifications/rack-3.0.8.gemspec')).toBe(true);
    expect(wants('var/lib/gems/3.1.0/specifications/rails-7.0.4.gemspec')).toBe(true);
    expect(wants('usr/lib/ruby/gems/3.1.0/specifications/default/cgi-0.3.5.gemspec')).toBe(true);
    expect(wants('app/vendor/bundle/ruby/3.2.0/specifications/puma-6.4.0.gemspec')).toBe(true);
    expect(wants('srv/app/Gemfile.lock')).toBe(true);
    expect(wants('srv/app/gems.locked')).toBe(true);
    expect(wants('usr/local/bundle/gems/rack-3.0.8/Gemfile.lock')).toBe(false);
    expect(wants('app/vendor/bundle/ruby/3.2.0/bundler/gems/x-0123/Gemfile.lock')).toBe(false);
    expect(wants('usr/local/bundle/gems/rack-3.0.8/rack.gemspec')).toBe(false);
    expect(wants('srv/app/Gemfile')).toBe(false);
  });

  it('hostile and odd files are reported, never thrown, and nothing is guessed', async () => {
    const spec = 'usr/local/bundle/specifications/x-1.0.gemspec';
    // A hand-written gemspec computes its version: not evaluated, not taken from the file name.
    expect(
      await parse(spec, 'Gem::Specification.new do |s|\n  s.name = "x"\n  s.version = X::VERSION\nend\n'),
    ).toEqual({
      ok: false,
      warning: `${spec}: no s.name and s.version lines as RubyGems writes them; not read`,
    });
    expect(await parse(spec, 's.name = "x"\ns.version = "#{1+1}"\n')).toMatchObject({ ok: false });
    expect(await parse(spec, 's.name = "x"\ns.version = "1.0 beta"\n')).toEqual({
      ok: false,
      warning: `${spec}: "1.0 beta" is not a gem version`,
    });
    expect(await parse(spec, 's.name = "x"\ns.name = "y"\ns.version = "1"\n')).toEqual({
      ok: false,
      warning: `${spec}: two gem names`,
    });
    // Truncated before the version line.
    expect(await parse(spec, RACK_GEMSPEC.slice(0, RACK_GEMSPEC.indexOf('s.version')))).toMatchObject({
      ok: false,
    });
    // Binary garbage and a huge single line.
    expect(
      await parse(
        spec,
        new Uint8Array(65536).map((_, i) => (i * 31) % 256),
      ),
    ).toMatchObject({ ok: false });
    const huge = `s.name = "${'a'.repeat(4_000_000)}"\n`;
    const started = Date.now();
    expect(await parse(spec, huge)).toMatchObject({ ok: false });
    expect(Date.now() - started).toBeLessThan(2000);
    // A lockfile that is not Bundler's.
    expect(await parse('srv/Gemfile.lock', '{"json": true}')).toEqual({
      ok: false,
      warning: 'srv/Gemfile.lock: not a Bundler lockfile (none of its sections)',
    });
    // A truncated lockfile gives what it holds.
    expect(
      await packagesOf('srv/Gemfile.lock', RAILS_LOCK.slice(0, RAILS_LOCK.indexOf('    racc'))),
    ).toHaveLength(3);
    expect(rubyParser.maxBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
  });
});
