// Python projects' lockfiles, for images that ship a project without installing it where the
// scanner sees (or before installing it): poetry.lock, Pipfile.lock ("default" and "develop"),
// and requirements*.txt lines that pin one version with "==". Their packages are `declared`: an
// image whose installed metadata (python.ts) names the same distribution keeps only that one
// (merge-layers.ts), so a lockfile adds only what is not seen installed.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { insidePackage, isObject, readJson, shortString } from './lockfiles.ts';
import { normalizePythonName } from './python.ts';

const POETRY = /(?:^|\/)poetry\.lock$/;
const PIPFILE = /(?:^|\/)Pipfile\.lock$/;
const REQUIREMENTS = /(?:^|\/)requirements[^/]*\.txt$/;
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$/;
// A version as a pin writes it: no spaces, no operators (PEP 440 characters, "*" excluded).
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,100}$/;
// A requirement line: name, optional [extras], "==" or "===", the version; a marker may follow.
const PIN =
  /^([A-Za-z0-9][A-Za-z0-9._-]{0,200})\s*(?:\[[^\]]{0,500}\])?\s*={2,3}\s*([A-Za-z0-9][A-Za-z0-9.+!_-]{0,100})\s*(?:;.*)?$/;
const MAX_LINE = 8192;

export const pythonLockParser: WholeFileParser = {
  kind: 'whole',
  name: 'python-lock',
  // poetry.lock holds every file hash of every package: tens of MiB are possible for big projects.
  maxBytes: 32 * 1024 * 1024,
  wants: (entry: EntryInfo) =>
    (POETRY.test(entry.path) || PIPFILE.test(entry.path) || REQUIREMENTS.test(entry.path)) &&
    !insidePackage(entry.path),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    if (PIPFILE.test(entry.path)) return readPipfileLock(entry.path, content);
    const text = new TextDecoder().decode(content);
    return POETRY.test(entry.path) ? readPoetryLock(entry.path, text) : readRequirements(text);
  },
};

function pin(name: string, version: string): FoundPackage {
  return { kind: 'pypi', name: normalizePythonName(name), version, declared: true };
}

function readPipfileLock(path: string, content: Uint8Array): ParseOutcome {
  const json = readJson(path, content);
  if (!json.ok) return json;
  if (!isObject(json.value) || !isObject(json.value._meta)) {
    return { ok: false, warning: `${path}: no "_meta" object; not a Pipfile.lock` };
  }
  const found = new Map<string, FoundPackage>();
  for (const section of ['default', 'develop']) {
    const packages = json.value[section];
    if (packages === undefined) continue;
    if (!isObject(packages)) return { ok: false, warning: `${path}: "${section}" is not an object` };
    for (const [name, entry] of Object.entries(packages)) {
      // Packages from git or a path have no "version", only a ref: not a PyPI release.
      const version = isObject(entry) ? shortString(entry.version) : undefined;
      if (version === undefined || !version.startsWith('==') || !NAME.test(name)) continue;
      const exact = version.replace(/^={2,3}/, '');
      if (!VERSION.test(exact)) continue;
      const p = pin(name, exact);
      found.set(`${p.name}@${exact}`, p);
    }
  }
  return { ok: true, packages: [...found.values()] };
}

/**
 * poetry.lock is TOML, read here as Poetry writes it: `[[package]]` tables with `name = "…"` and
 * `version = "…"` at their top, and a `[package.source]` table for packages not from an index
 * (git, a directory, a file, a URL), which are skipped. Lock versions 1.x and 2.x are read.
 */
function readPoetryLock(path: string, text: string): ParseOutcome {
  interface Table {
    name?: string;
    version?: string;
    sourceType?: string;
  }
  const tables: Table[] = [];
  let current: Table | undefined;
  // Which table the lines belong to: a [[package]]'s top, its [package.source], or another.
  let where: 'package' | 'source' | 'metadata' | 'other' = 'other';
  let lockVersion: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.length > MAX_LINE || line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (line === '[[package]]') {
        current = {};
        tables.push(current);
        where = 'package';
      } else if (line === '[package.source]' && current) where = 'source';
      else if (line === '[metadata]') where = 'metadata';
      else where = 'other';
      continue;
    }
    const m = /^([A-Za-z0-9_-]+)\s*=\s*"([^"\\]*)"$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const value = m[2]!;
    if (where === 'metadata' && key === 'lock-version') lockVersion = value;
    else if (where === 'source' && key === 'type' && current) current.sourceType = value;
    else if (where === 'package' && current && (key === 'name' || key === 'version')) current[key] ??= value;
  }
  if (lockVersion === undefined)
    return { ok: false, warning: `${path}: no [metadata] lock-version; not a poetry.lock` };
  if (!/^[12]\.\d+$/.test(lockVersion)) {
    return {
      ok: false,
      warning: `${path}: poetry.lock version ${lockVersion} is not read (1.x and 2.x are)`,
    };
  }
  const found = new Map<string, FoundPackage>();
  let skipped = 0;
  for (const table of tables) {
    // "legacy" is a private package index: still PyPI names and releases.
    if (table.sourceType !== undefined && table.sourceType !== 'legacy') continue;
    if (!table.name || !table.version || !NAME.test(table.name) || !VERSION.test(table.version)) {
      skipped++;
      continue;
    }
    const p = pin(table.name, table.version);
    found.set(`${p.name}@${p.version}`, p);
  }
  const packages = [...found.values()];
  if (skipped === 0) return { ok: true, packages };
  return {
    ok: true,
    packages,
    warnings: [`${path}: ${skipped} packages without a name and version not read`],
  };
}

/**
 * requirements*.txt: only lines pinning one version ("flask==3.0.0", "Flask[async] == 3.0.0 ;
 * python_version >= '3.8'"). Ranges, URLs, editable installs and options (-r, -e, --hash) say
 * nothing exact and are skipped; a continued line's "--hash" tail is dropped first.
 */
function readRequirements(text: string): ParseOutcome {
  const found = new Map<string, FoundPackage>();
  for (const raw of text.split('\n')) {
    if (raw.length > MAX_LINE) continue;
    // Comments start at " #" or at the line's start; a trailing "\" continues onto hash lines.
    let line = raw.replace(/(?:^|\s)#.*$/, '').replace(/\\\s*$/, '');
    line = line.replace(/\s--hash[=\s]\S*/g, '').trim();
    if (line === '' || line.startsWith('-')) continue;
    const m = PIN.exec(line);
    if (!m) continue;
    const p = pin(m[1]!, m[2]!);
    found.set(`${p.name}@${p.version}`, p);
  }
  return { ok: true, packages: [...found.values()] };
}
