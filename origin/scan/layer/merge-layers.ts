// An image's inventory from its layers' inventories, applied bottom to top as an overlay
// filesystem would: a file replaces the one at its path, a whiteout removes a path and all
// below it, an opaque directory hides what lower layers put below it. Whiteouts and opaque
// directories act on lower layers only, never on files of their own layer (OCI image spec).
// Links at read paths then stand like files, and are followed once every layer is applied
// (follow-links.ts); a link whose target some layer must be read again for is reported in
// `reads`, and the image is merged again once it has been.
import type {
  FoundPackage,
  ImageInventory,
  ImagePackage,
  LinkFile,
  LinkTargetRead,
  OsInfo,
  PackageKind,
} from '../inventory.ts';
import { parseOsRelease } from '../os/os-release.ts';
import { type Followed, hidden, type LayerInput, LinkFollower, type TargetRequest } from './follow-links.ts';
import type { TargetWanted } from './link-targets.ts';
import type { Reader } from './readers.ts';

export type { LayerInput, TargetRequest } from './follow-links.ts';

export interface MergedImage {
  inventory: ImageInventory;
  /** Layers to read again so that links can be followed; empty when every link was. */
  reads: TargetRequest[];
}

/** Links followed per image; a layer of links to make the merge work hard gets a warning instead. */
const MAX_LINKS = 10_000;
/** Warnings kept per image (each layer keeps up to a thousand of its own). */
const MAX_WARNINGS = 1000;

/** A package file as it stands after some layers, with the layer each of its packages came in. */
interface Surviving {
  kind: 'file';
  /** The index of the layer the file is from. */
  layer: number;
  packages: FoundPackage[];
  /** Layer digest per package identity (kind, name, version). */
  introducedIn: Map<string, string>;
}

interface StandingLink {
  kind: 'link';
  layer: number;
  link: LinkFile;
}

const OS_KINDS: ReadonlySet<PackageKind> = new Set(['dpkg', 'apk', 'rpm']);

/** `readerOf` says what reads a path (readers.ts linkReaders), which links are read as. */
export function mergeLayers(
  layers: readonly LayerInput[],
  readerOf: (path: string) => Reader | undefined,
): MergedImage {
  const files = new Map<string, Surviving | StandingLink>();
  const osFiles = new Map<string, string | StandingLink>();
  const warnings: string[] = [];

  layers.forEach(({ digest, inventory }, i) => {
    const whiteouts = new Set(inventory.whiteouts);
    const opaque = new Set(inventory.opaqueDirs);
    if (whiteouts.size > 0 || opaque.size > 0) {
      for (const path of [...files.keys()]) if (hidden(path, whiteouts, opaque)) files.delete(path);
      for (const path of [...osFiles.keys()]) if (hidden(path, whiteouts, opaque)) osFiles.delete(path);
    }
    for (const file of inventory.files) {
      const below = files.get(file.path);
      const before = below?.kind === 'file' ? below.introducedIn : undefined;
      const introducedIn = new Map<string, string>();
      for (const p of file.packages) {
        const key = identity(p);
        introducedIn.set(key, before?.get(key) ?? digest);
      }
      files.set(file.path, { kind: 'file', layer: i, packages: file.packages, introducedIn });
    }
    for (const link of inventory.links) {
      const reader = readerOf(link.path);
      if (reader === undefined) continue;
      (reader === 'os' ? osFiles : files).set(link.path, { kind: 'link', layer: i, link });
    }
    for (const [path, text] of Object.entries(inventory.osFiles)) osFiles.set(path, text);
    for (const warning of inventory.warnings) warnings.push(`layer ${digest}: ${warning}`);
  });

  const follower = new LinkFollower(layers, readerOf, (path, layer) => {
    const standing = files.get(path);
    return standing?.kind === 'file' && standing.layer === layer;
  });
  const reads = new Map<string, TargetRequest>();
  let followed = 0;
  let notFollowed = 0;
  /** The link's content, or undefined after noting why there is none. */
  const follow = (standing: StandingLink) => {
    if (followed >= MAX_LINKS) {
      notFollowed++;
      return undefined;
    }
    followed++;
    const result: Followed = follower.follow(standing.link, standing.layer);
    const at = `layer ${(layers[standing.layer] as LayerInput).digest}: `;
    if (result.kind === 'unknown') {
      for (const r of result.reads) reads.set(`${r.layer}\0${r.path}\0${r.as}`, r);
      warnings.push(
        `${at}${standing.link.path} → ${standing.link.target}: too many links through files nothing reads; not read`,
      );
      return undefined;
    }
    if (result.kind === 'broken') warnings.push(`${at}${result.warning}`);
    if (result.kind !== 'content') return undefined;
    const { entry } = result;
    const through = `(through the ${standing.link.type} to ${standing.link.target})`;
    if (entry.type === 'unreadable') {
      warnings.push(`${at}${entry.warning} ${through}`);
      return undefined;
    }
    if (entry.type === 'packages')
      for (const w of entry.warnings ?? []) warnings.push(`${at}${w} ${through}`);
    return { entry, layer: (layers[result.layer] as LayerInput).digest };
  };

  const osText = new Map<string, string>();
  for (const [path, standing] of osFiles) {
    if (typeof standing === 'string') osText.set(path, standing);
    else {
      const content = follow(standing);
      if (content?.entry.type === 'text') osText.set(path, content.entry.text);
    }
  }
  const os = detectOs(osText);

  const packages: ImagePackage[] = [];
  const add = (path: string, found: readonly FoundPackage[], layerOf: (p: FoundPackage) => string) => {
    for (const p of found) {
      const ecosystem = ecosystemFor(p.kind, os);
      packages.push({ ...p, ...(ecosystem !== undefined ? { ecosystem } : {}), path, layer: layerOf(p) });
    }
  };
  for (const path of [...files.keys()].sort()) {
    const standing = files.get(path) as Surviving | StandingLink;
    if (standing.kind === 'file') {
      add(path, standing.packages, (p) => standing.introducedIn.get(identity(p)) as string);
      continue;
    }
    // The packages a link names came in with the layer that holds the file it leads to.
    const content = follow(standing);
    if (content?.entry.type === 'packages') add(path, content.entry.packages, () => content.layer);
  }
  dropDeclaredInstalled(packages);
  if (notFollowed > 0)
    warnings.push(`${notFollowed} more links not followed (at most ${MAX_LINKS} per image)`);
  if (os !== undefined && !packages.some((p) => OS_KINDS.has(p.kind))) {
    warnings.push(
      `the OS is ${os.prettyName ?? `${os.id} ${os.versionId}`} but no OS package was found (no package database, or an empty one): its OS packages are not scanned`,
    );
  }
  if (warnings.length > MAX_WARNINGS) {
    const more = warnings.length - MAX_WARNINGS;
    warnings.length = MAX_WARNINGS;
    warnings.push(`${more} more warnings not shown`);
  }
  return {
    inventory: { ...(os !== undefined ? { os } : {}), packages, warnings },
    reads: [...reads.values()],
  };
}

/**
 * Rounds of reading layers again for link targets per image. One reads the file a link names, if
 * no parser read it, and learns every link of the layers read; a second reads the file at the end
 * of a chain of such links; a third, past a symlinked directory found on the way. Each round reads
 * a layer at most once.
 */
export const MAX_LINK_ROUNDS = 3;

/** Reads a layer again at the paths links reach (link-targets.ts), keeping what it learns. */
export type TargetReader = (
  digest: string,
  wanted: TargetWanted[],
) => Promise<{ ok: true; reads: LinkTargetRead[]; links: LinkFile[] } | { ok: false; error: string }>;

/**
 * The image's inventory: merged, then merged again after each round of reading the layers its
 * links need (at most MAX_LINK_ROUNDS; a link still not followed then is a warning).
 */
export async function mergeImage(
  layers: readonly LayerInput[],
  readerOf: (path: string) => Reader | undefined,
  readTargets: TargetReader,
): Promise<{ ok: true; inventory: ImageInventory } | { ok: false; error: string }> {
  const current = [...layers];
  let merged = mergeLayers(current, readerOf);
  for (let round = 0; merged.reads.length > 0 && round < MAX_LINK_ROUNDS; round++) {
    const byLayer = new Map<string, TargetWanted[]>();
    for (const { layer, path, as } of merged.reads) {
      const wanted = byLayer.get(layer);
      if (wanted) wanted.push({ path, as });
      else byLayer.set(layer, [{ path, as }]);
    }
    for (const [digest, wanted] of byLayer) {
      const read = await readTargets(digest, wanted);
      if (!read.ok) return { ok: false, error: `layer ${digest}: ${read.error}` };
      // The same layer may be in the image twice.
      for (const [i, layer] of current.entries()) {
        if (layer.digest !== digest) continue;
        const linkTargets = [...(layer.inventory.linkTargets ?? []), ...read.reads];
        current[i] = { digest, inventory: { ...layer.inventory, linkTargets, allLinks: read.links } };
      }
    }
    merged = mergeLayers(current, readerOf);
  }
  return { ok: true, inventory: merged.inventory };
}

/**
 * A lockfile says what a project pinned; installed metadata says what is there. Where the image
 * has installed metadata for a package (a gemspec, installed.json, deps.json, a dist-info), the
 * lockfiles' entries of the same kind and name are dropped, whatever their version: the installed
 * one is what runs. A project is not tied to its install location (a venv, a GEM_HOME, a publish
 * folder can be anywhere), so the match is by name across the image, not by directory.
 */
function dropDeclaredInstalled(packages: ImagePackage[]): void {
  const installed = new Set(packages.filter((p) => !p.declared).map(nameKey));
  let kept = 0;
  for (const p of packages) if (!p.declared || !installed.has(nameKey(p))) packages[kept++] = p;
  packages.length = kept;
}

/** NuGet ids are case-insensitive; the other ecosystems' names are already normalised. */
function nameKey(p: FoundPackage): string {
  return `${p.kind}\0${p.kind === 'nuget' ? p.name.toLowerCase() : p.name}`;
}

function identity(p: FoundPackage): string {
  return `${p.kind}\0${p.name}\0${p.version}`;
}

/**
 * The OS from the surviving identification files: os-release (etc/, then usr/lib/), then
 * alpine-release, then debian_version. Debian testing and sid have no VERSION_ID in os-release;
 * debian_version then supplies it when it is a release number.
 */
export function detectOs(osFiles: ReadonlyMap<string, string>): OsInfo | undefined {
  const release = osFiles.get('etc/os-release') ?? osFiles.get('usr/lib/os-release');
  if (release !== undefined) {
    const fields = parseOsRelease(release);
    const id = fields.ID?.toLowerCase();
    if (id !== undefined && id !== '') {
      let versionId = fields.VERSION_ID ?? '';
      if (versionId === '' && id === 'debian') versionId = osFiles.get('etc/debian_version')?.trim() ?? '';
      return osInfo(id, versionId, fields.PRETTY_NAME);
    }
  }
  const alpine = osFiles.get('etc/alpine-release');
  if (alpine !== undefined) return osInfo('alpine', alpine.trim(), undefined);
  const debian = osFiles.get('etc/debian_version');
  if (debian !== undefined) return osInfo('debian', debian.trim(), undefined);
  return undefined;
}

function osInfo(id: string, versionId: string, prettyName: string | undefined): OsInfo {
  const ecosystem = osEcosystem(id, versionId);
  return {
    id,
    versionId,
    ...(prettyName !== undefined ? { prettyName } : {}),
    ...(ecosystem !== undefined ? { ecosystem } : {}),
  };
}

/** The OSV ecosystem of an OS release; undefined when the release cannot be placed. */
export function osEcosystem(id: string, versionId: string): string | undefined {
  const major = /^(\d+)(?:\.\d+)*$/.exec(versionId)?.[1];
  switch (id) {
    case 'debian':
      // "12", "12.4"; "bookworm/sid" names no release.
      return major !== undefined ? `Debian:${major}` : undefined;
    case 'ubuntu':
      return /^\d+\.\d+$/.test(versionId) ? `Ubuntu:${versionId}` : undefined;
    case 'alpine': {
      // "3.18.4" → v3.18; edge ("3.19_alpha20230901") is no release.
      const minor = /^(\d+)\.(\d+)(?:\.\d+)?$/.exec(versionId);
      return minor ? `Alpine:v${minor[1]}.${minor[2]}` : undefined;
    }
    case 'rhel':
      return 'Red Hat';
    case 'rocky':
      return major !== undefined ? `Rocky Linux:${major}` : undefined;
    case 'almalinux':
      return major !== undefined ? `AlmaLinux:${major}` : undefined;
    default:
      return undefined;
  }
}

/** Which package manager each OS's packages come from, so that e.g. a stray apk db in a Debian image is not matched as Debian. */
const OS_PACKAGE_KIND: Record<string, PackageKind> = {
  debian: 'dpkg',
  ubuntu: 'dpkg',
  alpine: 'apk',
  rhel: 'rpm',
  rocky: 'rpm',
  almalinux: 'rpm',
};

const LANGUAGE_ECOSYSTEM: Partial<Record<PackageKind, string>> = {
  npm: 'npm',
  pypi: 'PyPI',
  go: 'Go',
  maven: 'Maven',
  gem: 'RubyGems',
  composer: 'Packagist',
  nuget: 'NuGet',
};

function ecosystemFor(kind: PackageKind, os: OsInfo | undefined): string | undefined {
  const language = LANGUAGE_ECOSYSTEM[kind];
  if (language !== undefined) return language;
  if (os === undefined || OS_PACKAGE_KIND[os.id] !== kind) return undefined;
  return os.ecosystem;
}
