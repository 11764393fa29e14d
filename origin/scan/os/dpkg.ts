// Debian and Ubuntu packages: dpkg's status database, and distroless images' status.d, where
// each package has its own file and no Status field (the image build wrote only what is
// installed). A malformed stanza is skipped; the rest of the database still counts.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { basename, dirname } from '../layer/path.ts';
import { stanzas } from './control-file.ts';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d';
const FIELDS = new Set(['package', 'version', 'status', 'source']);
const utf8 = new TextDecoder('utf-8', { fatal: false });

export const dpkgParser: WholeFileParser = {
  kind: 'whole',
  name: 'dpkg',
  // The largest status databases (Ubuntu desktops, ~4,000 packages) are 5–10 MiB.
  maxBytes: 64 * 1024 * 1024,
  wants(entry: EntryInfo): boolean {
    if (entry.path === STATUS) return true;
    return dirname(entry.path) === STATUS_D && !basename(entry.path).endsWith('.md5sums');
  },
  parse(entry: EntryInfo, content: Uint8Array): ParseOutcome {
    return { ok: true, packages: parseDpkgStatus(utf8.decode(content), entry.path !== STATUS) };
  },
};

/**
 * The installed packages of a status database. A package counts when its Status says it is
 * "installed" ("install ok installed", or "hold ok installed" for a held one: its files are on
 * disk all the same); half-installed, config-files and not-installed ones do not. `statusOptional`
 * (status.d) accepts stanzas without a Status field.
 */
export function parseDpkgStatus(text: string, statusOptional = false): FoundPackage[] {
  const packages: FoundPackage[] = [];
  for (const { fields, malformed } of stanzas(text, FIELDS)) {
    if (malformed) continue;
    const name = fields.get('package');
    const version = fields.get('version');
    if (!name || !version || /\s/.test(name) || /\s/.test(version)) continue;
    const status = fields.get('status');
    if (status === undefined ? !statusOptional : !isInstalled(status)) continue;
    const found: FoundPackage = { kind: 'dpkg', name, version, sourceName: name };
    const source = fields.get('source');
    if (source !== undefined) {
      // "glibc" or "glibc (2.36-9+deb12u4)" when the source version differs from the binary's.
      const m = /^(\S+)(?:\s+\(\s*([^\s()]+)\s*\))?$/.exec(source);
      if (m === null) continue;
      found.sourceName = m[1]!;
      if (m[2] !== undefined && m[2] !== version) found.sourceVersion = m[2];
    }
    packages.push(found);
  }
  return packages;
}

/** Status is "want flag state"; only the state says whether the files are there. */
function isInstalled(status: string): boolean {
  const words = status.split(/\s+/);
  return words.length === 3 && words[1] === 'ok' && words[2] === 'installed';
}
