// .NET packages: an application's NAME.deps.json, which the SDK writes beside the assemblies it
// publishes, lists under "libraries" every NuGet package the app loads ("Name/Version" keys,
// type "package"; the app's own projects are type "project"). A project's packages.lock.json
// (NuGet's lock file, version 1 or 2) pins the packages of each target framework.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { insidePackage, isObject, readJson, shortString } from './lockfiles.ts';

const DEPS = /(?:^|\/)[^/]+\.deps\.json$/;
const LOCKFILE = /(?:^|\/)packages\.lock\.json$/;
// NuGet package ids: letters, digits, ".", "_" and "-".
const ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,255}$/;
const LOCK_TYPES = new Set(['Direct', 'Transitive', 'CentralTransitive']);

export const dotnetParser: WholeFileParser = {
  kind: 'whole',
  name: 'dotnet',
  // deps.json of an ASP.NET app with its runtime packs: a few MiB at most.
  maxBytes: 32 * 1024 * 1024,
  wants: (entry: EntryInfo) =>
    DEPS.test(entry.path) || (LOCKFILE.test(entry.path) && !insidePackage(entry.path)),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    const json = readJson(entry.path, content);
    if (!json.ok) return json;
    return DEPS.test(entry.path) ? readDeps(entry.path, json.value) : readLock(entry.path, json.value);
  },
};

function readDeps(path: string, json: unknown): ParseOutcome {
  if (!isObject(json) || !isObject(json.libraries)) {
    return { ok: false, warning: `${path}: no "libraries" object; not a deps.json` };
  }
  const packages: FoundPackage[] = [];
  let skipped = 0;
  for (const [key, library] of Object.entries(json.libraries)) {
    if (!isObject(library) || library.type !== 'package') continue;
    const slash = key.indexOf('/');
    const name = key.slice(0, slash);
    const version = key.slice(slash + 1);
    if (slash <= 0 || !ID.test(name) || shortString(version) === undefined) {
      skipped++;
      continue;
    }
    packages.push({ kind: 'nuget', name, version });
  }
  if (skipped === 0) return { ok: true, packages };
  return {
    ok: true,
    packages,
    warnings: [`${path}: ${skipped} libraries not named "Name/Version"; not read`],
  };
}

function readLock(path: string, json: unknown): ParseOutcome {
  if (!isObject(json) || !isObject(json.dependencies)) {
    return { ok: false, warning: `${path}: no "dependencies" object; not a NuGet lock file` };
  }
  if (json.version !== 1 && json.version !== 2) {
    return {
      ok: false,
      warning: `${path}: NuGet lock file version ${String(json.version)} is not read (1 and 2 are)`,
    };
  }
  const found = new Map<string, FoundPackage>();
  let skipped = 0;
  for (const framework of Object.values(json.dependencies)) {
    if (!isObject(framework)) {
      skipped++;
      continue;
    }
    for (const [name, dependency] of Object.entries(framework)) {
      // Project references are the solution's own code, not packages.
      if (!isObject(dependency) || !LOCK_TYPES.has(dependency.type as string)) continue;
      const version = shortString(dependency.resolved);
      if (!ID.test(name) || version === undefined) {
        skipped++;
        continue;
      }
      found.set(`${name.toLowerCase()}@${version}`, { kind: 'nuget', name, version, declared: true });
    }
  }
  const packages = [...found.values()];
  if (skipped === 0) return { ok: true, packages };
  return {
    ok: true,
    packages,
    warnings: [`${path}: ${skipped} entries without a resolved version not read`],
  };
}
