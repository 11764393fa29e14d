// PHP packages installed by Composer: vendor/composer/installed.json lists every package in the
// vendor folder (Composer 1 wrote a top-level array, Composer 2 writes {"packages": [...]}), and
// a project's composer.lock pins them ("packages" and "packages-dev"). Names are Packagist's
// "vendor/package", lower case; versions as Composer writes them ("v5.4.31", "1.2.3").
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { insidePackage, isObject, readJson, shortString } from './lockfiles.ts';

const INSTALLED = /(?:^|\/)vendor\/composer\/installed\.json$/;
const LOCKFILE = /(?:^|\/)composer\.lock$/;
// Composer's own name pattern, written so that no input can make it backtrack.
const NAME = /^[a-z0-9]+(?:[_.-][a-z0-9]+)*\/[a-z0-9]+(?:(?:[_.]|--?)[a-z0-9]+)*$/;

export const phpParser: WholeFileParser = {
  kind: 'whole',
  name: 'php',
  // Both files carry every package's description, autoload map and authors: a large project's
  // run to a few MiB.
  maxBytes: 32 * 1024 * 1024,
  wants: (entry: EntryInfo) =>
    INSTALLED.test(entry.path) || (LOCKFILE.test(entry.path) && !insidePackage(entry.path)),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    const json = readJson(entry.path, content);
    if (!json.ok) return json;
    const declared = LOCKFILE.test(entry.path);
    let lists: unknown[];
    if (declared) {
      if (!isObject(json.value)) return { ok: false, warning: `${entry.path}: not a composer.lock object` };
      lists = [json.value.packages ?? [], json.value['packages-dev'] ?? []];
    } else if (Array.isArray(json.value)) {
      lists = [json.value];
    } else if (isObject(json.value)) {
      lists = [json.value.packages];
    } else {
      return { ok: false, warning: `${entry.path}: neither Composer 1 nor Composer 2 installed.json` };
    }
    if (!lists.every(Array.isArray)) return { ok: false, warning: `${entry.path}: "packages" is not a list` };
    const found = new Map<string, FoundPackage>();
    let skipped = 0;
    for (const item of (lists as unknown[][]).flat()) {
      const name = isObject(item) ? shortString(item.name) : undefined;
      const version = isObject(item) ? shortString(item.version) : undefined;
      if (name === undefined || version === undefined || !NAME.test(name)) {
        skipped++;
        continue;
      }
      const pkg: FoundPackage = { kind: 'composer', name, version };
      if (declared) pkg.declared = true;
      found.set(`${name}@${version}`, pkg);
    }
    const packages = [...found.values()];
    if (skipped === 0) return { ok: true, packages };
    return {
      ok: true,
      packages,
      warnings: [`${entry.path}: ${skipped} entries without a name and version not read`],
    };
  },
};
