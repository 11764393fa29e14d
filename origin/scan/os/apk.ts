// Alpine (and Wolfi/Chainguard) packages: apk's installed database, blank-line separated
// records of "X:value" lines (P: name, V: version, o: origin, the source package).
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';

const INSTALLED = 'lib/apk/db/installed';
const utf8 = new TextDecoder('utf-8', { fatal: false });

export const apkParser: WholeFileParser = {
  kind: 'whole',
  name: 'apk',
  // The database lists every installed file too; a large image's is a few MiB.
  maxBytes: 32 * 1024 * 1024,
  wants(entry: EntryInfo): boolean {
    return entry.path === INSTALLED;
  },
  parse(_entry: EntryInfo, content: Uint8Array): ParseOutcome {
    return { ok: true, packages: parseApkInstalled(utf8.decode(content)) };
  },
};

/** Records without a name or version are skipped; a missing origin means the package is its own source. */
export function parseApkInstalled(text: string): FoundPackage[] {
  const packages: FoundPackage[] = [];
  let name: string | undefined;
  let version: string | undefined;
  let origin: string | undefined;
  const flush = () => {
    if (name && version) packages.push({ kind: 'apk', name, version, sourceName: origin || name });
    name = version = origin = undefined;
  };
  let at = 0;
  while (at <= text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const line = text.slice(at, end).replace(/\r$/, '');
    at = end + 1;
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') continue;
    const value = line.slice(2).trim();
    if (line[0] === 'P') name = value;
    else if (line[0] === 'V') version = value;
    else if (line[0] === 'o') origin = value;
  }
  flush();
  return packages;
}
