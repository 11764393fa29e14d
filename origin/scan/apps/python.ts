// Installed Python distributions: wheels leave NAME-VERSION.dist-info/METADATA, setuptools
// NAME.egg-info/PKG-INFO (or a single NAME.egg-info file, as Debian's python packages do), and
// eggs EGG-INFO/PKG-INFO. All are RFC 822 style headers with Name and Version.
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';

const METADATA =
  /(?:^|\/)[^/]+\.dist-info\/METADATA$|(?:^|\/)[^/]+\.egg-info\/PKG-INFO$|(?:^|\/)[^/]+\.egg-info$|(?:^|\/)[^/]+\.egg\/EGG-INFO\/PKG-INFO$/;

export const pythonParser: WholeFileParser = {
  kind: 'whole',
  name: 'python',
  // The headers are short, but the long description follows them in the same file.
  maxBytes: 4 * 1024 * 1024,
  wants: (entry: EntryInfo) => METADATA.test(entry.path),
  parse: (entry: EntryInfo, content: Uint8Array): ParseOutcome => {
    const headers = readHeaders(new TextDecoder().decode(content));
    const name = headers.get('name');
    const version = headers.get('version');
    if (!name || !version) return { ok: false, warning: `${entry.path}: no Name or Version header` };
    return { ok: true, packages: [{ kind: 'pypi', name: normalizePythonName(name), version }] };
  },
};

/** PEP 503: lower case, and each run of "-", "_" and "." becomes one "-". */
export function normalizePythonName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The header fields before the first blank line, lower-cased names, first occurrence kept. */
function readHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    // A line starting with white space continues the previous field (a folded Description).
    if (/^[ \t]/.test(line)) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(key)) headers.set(key, line.slice(colon + 1).trim());
  }
  return headers;
}
