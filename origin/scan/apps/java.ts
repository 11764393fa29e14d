// Java archives (.jar, .war, .ear) name the Maven artifacts they hold in
// META-INF/maven/<groupId>/<artifactId>/pom.properties, one per artifact built or shaded in.
// Archives nest (Spring Boot BOOT-INF/lib, WEB-INF/lib, an EAR's modules), so nested ones are
// opened too, within a depth and byte budget.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, ParseOutcome, WholeFileParser } from '../layer/file-parser.ts';
import { openZip, type ZipEntry, type ZipResult } from '../zip-reader.ts';

const MiB = 1024 * 1024;
const ARCHIVE = /\.(?:jar|war|ear)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/(?:.+\/)?([^/]+)\/([^/]+)\/pom\.properties$/;
const MANIFEST = 'META-INF/MANIFEST.MF';
// pom.properties and manifests are a few hundred bytes; anything larger is not one.
const MAX_METADATA = 64 * 1024;

export interface JavaParserOptions {
  /** Largest archive read whole (default 256 MiB). */
  maxBytes?: number;
  /** Levels of archives inside archives opened (default 3: an EAR's WAR's WEB-INF/lib jar). */
  maxDepth?: number;
  /** Bytes of nested archives read per outer archive, in total (default 512 MiB). */
  maxNestedBytes?: number;
  /** Nested archives opened per outer archive (default 5000). */
  maxNestedArchives?: number;
}

export function createJavaParser(options: JavaParserOptions = {}): WholeFileParser {
  // A zip's directory is at its end and entries are read by offset, so an archive cannot be
  // streamed: it is held whole. Spring Boot fat jars reach 100–200 MB; 256 MiB admits those
  // while bounding what one file can make the walker hold.
  const maxBytes = options.maxBytes ?? 256 * MiB;
  const limits: Limits = {
    maxDepth: options.maxDepth ?? 3,
    maxNestedBytes: options.maxNestedBytes ?? 512 * MiB,
    maxNestedArchives: options.maxNestedArchives ?? 5000,
    maxArchiveBytes: maxBytes,
  };
  return {
    kind: 'whole',
    name: 'java',
    maxBytes,
    wants: (entry: EntryInfo) => ARCHIVE.test(entry.path),
    parse: async (entry: EntryInfo, content: Uint8Array): Promise<ParseOutcome> => {
      const scan: Scan = { found: new Map(), problems: [], nestedBytes: 0, nestedArchives: 0, limits };
      const opened = await scanArchive(content, entry.path, 0, scan);
      if (!opened) return { ok: false, warning: scan.problems[0] ?? `${entry.path}: unreadable` };
      const packages = [...scan.found.values()];
      if (scan.problems.length === 0) return { ok: true, packages };
      // Each problem starts with the path of the archive it is in ("outer.jar!/lib/inner.jar").
      const more = scan.problems.length > 3 ? `; and ${scan.problems.length - 3} more` : '';
      const warning = scan.problems.slice(0, 3).join('; ') + more;
      // What was found counts, and so does what could not be read beside it: a nested jar over
      // the budget may be the vulnerable one.
      return packages.length === 0 ? { ok: false, warning } : { ok: true, packages, warnings: [warning] };
    },
  };
}

export const javaParser: WholeFileParser = createJavaParser();

interface Limits {
  maxDepth: number;
  maxNestedBytes: number;
  maxNestedArchives: number;
  maxArchiveBytes: number;
}

interface Scan {
  found: Map<string, FoundPackage>;
  problems: string[];
  nestedBytes: number;
  nestedArchives: number;
  limits: Limits;
}

/** Adds what the archive and those inside it name to `scan.found`; false if it is not a readable zip. */
async function scanArchive(bytes: Uint8Array, path: string, depth: number, scan: Scan): Promise<boolean> {
  const opened = await openZip(bytes);
  if (!opened.ok) {
    scan.problems.push(`${path}: ${opened.error}`);
    return false;
  }
  const archive = opened.value;
  const poms: ZipEntry[] = [];
  const nested: ZipEntry[] = [];
  let manifest: ZipEntry | undefined;
  for (const entry of archive.entries()) {
    if (entry.isDirectory) continue;
    if (POM_PROPERTIES.test(entry.name)) poms.push(entry);
    else if (entry.name.toUpperCase() === MANIFEST) manifest = entry;
    else if (ARCHIVE.test(entry.name)) nested.push(entry);
  }

  let named = false;
  for (const entry of poms) {
    const text = await readText(archive.read(entry, { maxBytes: MAX_METADATA }), path, scan);
    if (text === undefined) continue;
    const [, dirGroup, dirArtifact] = POM_PROPERTIES.exec(entry.name)!;
    const props = parseProperties(text);
    // Maven writes the folder names from the same coordinates; the file's own values come first.
    const groupId = props.get('groupId') || dirGroup;
    const artifactId = props.get('artifactId') || dirArtifact;
    const version = props.get('version');
    if (!groupId || !artifactId || !version) continue;
    add(scan, { kind: 'maven', name: `${groupId}:${artifactId}`, version });
    named = true;
  }
  if (!named && manifest) {
    const text = await readText(archive.read(manifest, { maxBytes: MAX_METADATA }), path, scan);
    const found = text === undefined ? undefined : fromManifest(parseManifest(text), baseName(path));
    if (found) add(scan, found);
  }

  if (nested.length > 0 && depth >= scan.limits.maxDepth) {
    scan.problems.push(`${path}: archives nested deeper than ${scan.limits.maxDepth} levels not read`);
    return true;
  }
  for (const entry of nested) {
    const left = scan.limits.maxNestedBytes - scan.nestedBytes;
    if (scan.nestedArchives >= scan.limits.maxNestedArchives || entry.size > left) {
      scan.problems.push(`${path}: nested archives past the budget not read (from ${entry.name})`);
      break;
    }
    const content = await archive.read(entry, { maxBytes: Math.min(left, scan.limits.maxArchiveBytes) });
    scan.nestedArchives++;
    if (!content.ok) {
      scan.problems.push(`${path}: ${content.error}`);
      continue;
    }
    scan.nestedBytes += content.value.length;
    await scanArchive(content.value, `${path}!/${entry.name}`, depth + 1, scan);
  }
  return true;
}

async function readText(
  pending: Promise<ZipResult<Uint8Array>>,
  path: string,
  scan: Scan,
): Promise<string | undefined> {
  const read = await pending;
  if (!read.ok) {
    scan.problems.push(`${path}: ${read.error}`);
    return undefined;
  }
  return new TextDecoder().decode(read.value);
}

function add(scan: Scan, found: FoundPackage): void {
  scan.found.set(`${found.name}@${found.version}`, found);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** java.util.Properties as Maven writes it: key=value or key: value lines, # and ! comments. */
export function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) props.set(m[1]!, m[2]!.trim());
  }
  return props;
}

/** The manifest's main section: "Name: value" lines, a leading space continuing the line before. */
export function parseManifest(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n|\r/)) {
    if (line === '') break;
    if (line.startsWith(' ') && last) {
      attributes.set(last, attributes.get(last)! + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim();
    attributes.set(last, line.slice(colon + 1).trim());
  }
  return attributes;
}

/**
 * An artifact from the manifest, only when the coordinates are not a guess: the version is
 * stated, the file is named artifactId-version.jar (or the title equals the file name), and the
 * groupId is stated (Implementation-Vendor-Id) or is the rest of an OSGi symbolic name
 * "groupId.artifactId". A title alone is often a display name ("Apache Commons Text"), so no.
 */
export function fromManifest(attributes: Map<string, string>, fileName: string): FoundPackage | undefined {
  const version = attributes.get('Implementation-Version') || attributes.get('Bundle-Version');
  if (!version) return undefined;
  const stem = fileName.replace(ARCHIVE, '');
  const title = attributes.get('Implementation-Title');
  const artifactId = stem.endsWith(`-${version}`)
    ? stem.slice(0, -(version.length + 1))
    : title === stem
      ? stem
      : undefined;
  if (!artifactId) return undefined;
  const symbolicName = attributes.get('Bundle-SymbolicName')?.split(';')[0]?.trim();
  const groupId =
    attributes.get('Implementation-Vendor-Id') ||
    (symbolicName?.endsWith(`.${artifactId}`) ? symbolicName.slice(0, -(artifactId.length + 1)) : undefined);
  if (!groupId) return undefined;
  return { kind: 'maven', name: `${groupId}:${artifactId}`, version };
}
