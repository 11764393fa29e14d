// Installed npm packages: each has node_modules/<name>/package.json or
// node_modules/@scope/<name>/package.json, at any depth of nesting. Other package.json files
// inside a package (lib/package.json saying {"type":"module"}, test fixtures) name nothing installed.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';

// A package folder name never starts with "." (node_modules/.bin, .cache, .pnpm are npm's own).
const INSTALLED = /(?:^|\/)node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*\/package\.json$/;

export const npmParser: WholeFileParser = {
  kind: 'whole',
  name: 'npm',
  // Old npm versions copied the README into package.json; a few MiB covers those.
  maxBytes: 4 * 1024 * 1024,
  wants: (entry: EntryInfo) => INSTALLED.test(entry.path),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(content));
    } catch (error) {
      return { ok: false, warning: `${entry.path}: not JSON: ${(error as Error).message}` };
    }
    if (typeof json !== 'object' || json === null) return { ok: true, packages: [] };
    const { name, version } = json as { name?: unknown; version?: unknown };
    // The name is the package's own, which differs from the folder for an alias (npm:other@1.0.0).
    if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') {
      return { ok: true, packages: [] };
    }
    const found: FoundPackage = { kind: 'npm', name, version };
    return { ok: true, packages: [found] };
  },
};
