// Ruby gems: installed ones by their specification (GEM_HOME/specifications/NAME-VERSION.gemspec,
// and specifications/default/ for the gems Ruby ships), and a project's Gemfile.lock (or
// gems.locked), whose GEM sections list every gem Bundler resolved from a gem server.
//
// A gemspec is Ruby code. RubyGems writes installed ones itself (Gem::Specification#to_ruby),
// with `s.name = "rack".freeze` and `s.version = "2.2.22"` on lines of their own; those two lines
// are read as text, strictly: a gemspec that does not have them in that form is reported, never
// evaluated or guessed from its file name.

import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { isValidRubyGems } from '../versions/rubygems.ts';
import { insidePackage } from './lockfiles.ts';

const GEMSPEC = /(?:^|\/)specifications\/(?:default\/)?[^/]+\.gemspec$/;
const LOCKFILE = /(?:^|\/)(?:Gemfile\.lock|gems\.locked)$/;
// The literal as RubyGems writes it: a double-quoted string without escapes or interpolation.
const NAME_LINE = /^\s*s\.name = "([A-Za-z0-9._-]{1,200})"(?:\.freeze)?\s*$/;
const VERSION_LINE = /^\s*s\.version = "([^"\\#]{1,200})"(?:\.freeze)?\s*$/;
// The top-level sections a Bundler lockfile may have; a file with none of them is not one.
const BUNDLER_SECTIONS = new Set(['GEM', 'GIT', 'PATH', 'PLUGIN SOURCE', 'PLATFORMS', 'DEPENDENCIES']);
// Bundler's lockfile spec line: four spaces, the name, then (version[-platform]).
const SPEC_LINE = /^ {4}([^\s(]{1,200}) \(([^)\s]{1,200})\)$/;

export const rubyParser: WholeFileParser = {
  kind: 'whole',
  name: 'ruby',
  // Installed gemspecs leave out the file list; a lockfile of thousands of gems is under 1 MiB.
  maxBytes: 8 * 1024 * 1024,
  wants: (entry: EntryInfo) =>
    GEMSPEC.test(entry.path) || (LOCKFILE.test(entry.path) && !insidePackage(entry.path)),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    const text = new TextDecoder().decode(content);
    return GEMSPEC.test(entry.path) ? readGemspec(entry.path, text) : readGemfileLock(entry.path, text);
  },
};

function readGemspec(path: string, text: string): ParseOutcome {
  let name: string | undefined;
  let version: string | undefined;
  for (const line of text.split('\n')) {
    const n = NAME_LINE.exec(line);
    if (n) {
      if (name !== undefined && name !== n[1]) return { ok: false, warning: `${path}: two gem names` };
      name = n[1];
    }
    const v = VERSION_LINE.exec(line);
    if (v) {
      if (version !== undefined && version !== v[1])
        return { ok: false, warning: `${path}: two gem versions` };
      version = v[1];
    }
  }
  if (name === undefined || version === undefined) {
    return { ok: false, warning: `${path}: no s.name and s.version lines as RubyGems writes them; not read` };
  }
  if (!isValidRubyGems(version) || version.trim() === '') {
    return { ok: false, warning: `${path}: "${version}" is not a gem version` };
  }
  return { ok: true, packages: [{ kind: 'gem', name, version }] };
}

function readGemfileLock(path: string, text: string): ParseOutcome {
  const found = new Map<string, FoundPackage>();
  let section = '';
  let inSpecs = false;
  let bundler = false;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    if (!line.startsWith(' ')) {
      section = line;
      inSpecs = false;
      if (BUNDLER_SECTIONS.has(section)) bundler = true;
      continue;
    }
    if (section !== 'GEM') continue;
    if (line === '  specs:') {
      inSpecs = true;
      continue;
    }
    if (!inSpecs) continue;
    // Six spaces: a dependency of the gem above, with a requirement, not a resolved gem.
    const m = SPEC_LINE.exec(line);
    if (!m) continue;
    // Bundler reads "1.15.4-x86_64-linux" as version 1.15.4 on that platform: gem versions have no "-".
    const version = m[2]!.split('-')[0]!;
    if (!isValidRubyGems(version) || version === '') continue;
    found.set(`${m[1]}@${version}`, { kind: 'gem', name: m[1]!, version, declared: true });
  }
  if (!bundler) return { ok: false, warning: `${path}: not a Bundler lockfile (none of its sections)` };
  return { ok: true, packages: [...found.values()] };
}
