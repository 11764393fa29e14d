// What a layer, and then an image, contains: the files that name packages, the packages they name,
// and the whiteouts that hide earlier layers' files. Computed once per layer digest and stored;
// an image's inventory is the ordered merge of its layers' inventories.

/** The package manager or language ecosystem a package was found through. */
export type PackageKind = 'dpkg' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'go' | 'maven';

/** One package as its database or manifest file names it, before the OS is known. */
export interface FoundPackage {
  kind: PackageKind;
  /** dpkg/apk/rpm binary package name; npm/PyPI name; Go module path ("stdlib" for the toolchain); Maven "groupId:artifactId". */
  name: string;
  /** Exactly as the ecosystem writes it: dpkg with epoch and revision, rpm as [epoch:]version-release, Go without the leading "v". */
  version: string;
  /** The source package, where the ecosystem has one (dpkg Source:, apk origin, rpm source RPM name). */
  sourceName?: string;
  /** The source package version where it differs from `version` (dpkg "Source: name (version)"). */
  sourceVersion?: string;
}

/** A file in a layer that names packages (a package database, a package.json, a Go binary…). */
export interface PackageFile {
  /** Normalised path inside the image: no leading "/" or "./", no "..", forward slashes. */
  path: string;
  packages: FoundPackage[];
}

/** What one layer contributes, independent of the layers below it. */
export interface LayerInventory {
  files: PackageFile[];
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
  /** OSV ecosystem: "Debian:12", "Alpine:v3.18", "npm", "PyPI", "Go", "Maven", "Red Hat"…; absent when the OS is unknown. */
  ecosystem?: string;
  path: string;
  /** Digest of the layer that introduced this package at this version. */
  layer: string;
}

export interface ImageInventory {
  os?: OsInfo;
  packages: ImagePackage[];
  warnings: string[];
}
