// An image's inventory from its layers' inventories, applied bottom to top as an overlay
// filesystem would: a file replaces the one at its path, a whiteout removes a path and all
// below it, an opaque directory hides what lower layers put below it. Whiteouts and opaque
// directories act on lower layers only, never on files of their own layer (OCI image spec).
import type {
  FoundPackage,
  ImageInventory,
  ImagePackage,
  LayerInventory,
  OsInfo,
  PackageKind,
} from '../inventory.ts';
import { parseOsRelease } from '../os/os-release.ts';
import { dirname } from './path.ts';

export interface LayerInput {
  digest: string;
  inventory: LayerInventory;
}

/** A package file as it stands after some layers, with the layer each of its packages came in. */
interface Surviving {
  packages: FoundPackage[];
  /** Layer digest per package identity (kind, name, version). */
  introducedIn: Map<string, string>;
}

export function mergeLayers(layers: readonly LayerInput[]): ImageInventory {
  const files = new Map<string, Surviving>();
  const osFiles = new Map<string, string>();
  const warnings: string[] = [];

  for (const { digest, inventory } of layers) {
    const whiteouts = new Set(inventory.whiteouts);
    const opaque = new Set(inventory.opaqueDirs);
    if (whiteouts.size > 0 || opaque.size > 0) {
      for (const path of [...files.keys()]) if (hidden(path, whiteouts, opaque)) files.delete(path);
      for (const path of [...osFiles.keys()]) if (hidden(path, whiteouts, opaque)) osFiles.delete(path);
    }
    for (const file of inventory.files) {
      const before = files.get(file.path)?.introducedIn;
      const introducedIn = new Map<string, string>();
      for (const p of file.packages) {
        const key = identity(p);
        introducedIn.set(key, before?.get(key) ?? digest);
      }
      files.set(file.path, { packages: file.packages, introducedIn });
    }
    for (const [path, text] of Object.entries(inventory.osFiles)) osFiles.set(path, text);
    for (const warning of inventory.warnings) warnings.push(`layer ${digest}: ${warning}`);
  }

  const os = detectOs(osFiles);
  const packages: ImagePackage[] = [];
  for (const path of [...files.keys()].sort()) {
    const file = files.get(path)!;
    for (const p of file.packages) {
      const ecosystem = ecosystemFor(p.kind, os);
      packages.push({
        ...p,
        ...(ecosystem !== undefined ? { ecosystem } : {}),
        path,
        layer: file.introducedIn.get(identity(p))!,
      });
    }
  }
  return { ...(os !== undefined ? { os } : {}), packages, warnings };
}

/** Whether a lower layer's `path` is removed by a whiteout or hidden by an opaque directory. */
function hidden(path: string, whiteouts: Set<string>, opaque: Set<string>): boolean {
  if (whiteouts.has(path)) return true;
  // Walk up the ancestors: each lookup is O(1), so a layer costs O(files × depth).
  let dir = path;
  while (dir !== '') {
    dir = dirname(dir);
    if (opaque.has(dir) || (dir !== '' && whiteouts.has(dir))) return true;
  }
  return false;
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
};

function ecosystemFor(kind: PackageKind, os: OsInfo | undefined): string | undefined {
  const language = LANGUAGE_ECOSYSTEM[kind];
  if (language !== undefined) return language;
  if (os === undefined || OS_PACKAGE_KIND[os.id] !== kind) return undefined;
  return os.ecosystem;
}
