// What a layer, and then an image, contains: the files that name packages, the packages they name,
// and the whiteouts that hide earlier layers' files. Computed once per layer digest and stored;
// an image's inventory is the ordered merge of its layers' inventories.

/** The package manager or language ecosystem a package was found through. */
export type PackageKind =
  | 'dpkg'
  | 'apk'
  | 'rpm'
  | 'npm'
  | 'pypi'
  | 'go'
  | 'maven'
  | 'gem'
  | 'composer'
  | 'nuget';

/** One package as its database or manifest file names it, before the OS is known. */
export interface FoundPackage {
  kind: PackageKind;
  /** dpkg/apk/rpm binary package name; npm/PyPI/gem/NuGet name; Go module path ("stdlib" for the toolchain); Maven "groupId:artifactId"; Composer "vendor/package". */
  name: string;
  /** Exactly as the ecosystem writes it: dpkg with epoch and revision, rpm as [epoch:]version-release, Go without the leading "v". */
  version: string;
  /** The source package, where the ecosystem has one (dpkg Source:, apk origin, rpm source RPM name). */
  sourceName?: string;
  /** The source package version where it differs from `version` (dpkg "Source: name (version)"). */
  sourceVersion?: string;
  /**
   * Named by a lockfile (Gemfile.lock, composer.lock, packages.lock.json, poetry.lock,
   * Pipfile.lock, requirements*.txt): what a project pinned, not what is installed. Dropped from
   * an image whose installed metadata names a package of the same kind and name (merge-layers.ts).
   */
  declared?: true;
}

/** A file in a layer that names packages (a package database, a package.json, a Go binary…). */
export interface PackageFile {
  /** Normalised path inside the image: no leading "/" or "./", no "..", forward slashes. */
  path: string;
  packages: FoundPackage[];
}

/**
 * A hardlink or symlink at a path that is read (one a parser wants, or an OS file). It is followed
 * when the image is merged, not when the layer is read: its target may be in a lower layer, and a
 * symlink is resolved in the image as it finally stands (see layer/merge-layers.ts).
 */
export interface LinkFile {
  path: string;
  type: 'hardlink' | 'symlink';
  /**
   * Normalised. A hardlink names its target from the root; a relative symlink is resolved
   * against its own directory, an absolute one against the image root (the container's root).
   */
  target: string;
}

/** What a layer holds at a path, as following a link needs to know it. */
export type PathEntry =
  | { type: 'none' }
  /** A directory, device, fifo or sparse file: nothing a parser reads. */
  | { type: 'other' }
  | { type: 'link'; link: 'hardlink' | 'symlink'; target: string }
  | { type: 'packages'; packages: FoundPackage[]; warnings?: string[] }
  /** An OS identification file's text. */
  | { type: 'text'; text: string }
  | { type: 'unreadable'; warning: string };

/**
 * A path of a layer read again because a link reaches it: what is there, read as a file at the
 * link's path would be (the link's parser, its limits). Added to the layer's stored inventory when
 * first needed, so any image that follows the same link later reads nothing.
 */
export interface LinkTargetRead {
  path: string;
  /** The path of the link whose target this is. */
  as: string;
  entry: PathEntry;
}

/** What one layer contributes, independent of the layers below it. */
export interface LayerInventory {
  files: PackageFile[];
  /** Links at paths that are read, followed when the image is merged. */
  links: LinkFile[];
  /** Link targets this layer was read again for (absent until one is needed). */
  linkTargets?: LinkTargetRead[];
  /** Every link of the layer, wherever it is, recorded when the layer was first read again. */
  allLinks?: LinkFile[];
  /** Files that identify the OS, by normalised path (etc/os-release, usr/lib/os-release, etc/alpine-release, etc/debian_version), with their text (bounded). */
  osFiles: Record<string, string>;
  /** Paths removed by `.wh.NAME` entries (the path of NAME, normalised). */
  whiteouts: string[];
  /** Directories made opaque by `.wh..wh..opq`: everything below them from earlier layers is hidden. */
  opaqueDirs: string[];
  /** Reasons some files could not be read (too large, malformed); the layer still counts as scanned. */
  warnings: string[];
}

/** The OS of an image and the OSV ecosystem its OS packages belong to. */
export interface OsInfo {
  /** os-release ID: "debian", "alpine", "ubuntu", "rhel", "rocky"… */
  id: string;
  /** os-release VERSION_ID ("12", "3.18.4", "22.04"). */
  versionId: string;
  prettyName?: string;
  /** OSV ecosystem name for the OS packages, e.g. "Debian:12", "Alpine:v3.18", "Ubuntu:22.04"; absent when unknown. */
  ecosystem?: string;
}

/** A package in an image, with the OSV ecosystem it is matched in and the layer that brought it. */
export interface ImagePackage extends FoundPackage {
  /** OSV ecosystem: "Debian:12", "Alpine:v3.18", "npm", "PyPI", "Go", "Maven", "RubyGems", "Packagist", "NuGet", "Red Hat"…; absent when the OS is unknown. */
  ecosystem?: string;
  path: string;
  /** Digest of the layer that introduced this package at this version. */
  layer: string;
}

export interface ImageInventory {
  os?: OsInfo;
  packages: ImagePackage[];
  /**
   * What the scan could not read or match (a database too large or unsupported, a link that
   * leads nowhere, an OS without a package database), each naming the layer or the file: a
   * result with warnings may miss packages.
   */
  warnings: string[];
}
