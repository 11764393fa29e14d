// Version ordering per ecosystem. Every comparator returns a negative number, zero or a positive
// number as a sorts before, equal to or after b, exactly as the ecosystem's own tool orders them.
//
// Comparing never throws. Where an ecosystem refuses a string (see isValidVersion), the result is
// still deterministic but says nothing the ecosystem would agree with: for semver, go, pep440,
// rubygems, nuget and composer an invalid version sorts before every valid one and all invalid
// ones are equal; dpkg, rpm and apk order invalid strings as their tools do when asked to
// (leniently); Maven orders any string.
// A matcher should skip invalid versions rather than trust such an order.

import { compareApk, isValidApk } from './apk.ts';
import { compareComposer, isValidComposer } from './composer.ts';
import { compareDpkg, isValidDpkg } from './dpkg.ts';
import { compareGo, isValidGo } from './go.ts';
import { compareMaven, isValidMaven } from './maven.ts';
import { compareNuGet, isValidNuGet } from './nuget.ts';
import { comparePep440, isValidPep440 } from './pep440.ts';
import { compareRpm, isValidRpm } from './rpm.ts';
import { compareRubyGems, isValidRubyGems } from './rubygems.ts';
import { compareSemver, isValidSemver } from './semver.ts';

export type VersionScheme =
  | 'dpkg'
  | 'apk'
  | 'rpm'
  | 'semver'
  | 'go'
  | 'pep440'
  | 'maven'
  | 'rubygems'
  | 'nuget'
  | 'composer';

const SCHEMES: Record<
  VersionScheme,
  { compare: (a: string, b: string) => number; isValid: (v: string) => boolean }
> = {
  dpkg: { compare: compareDpkg, isValid: isValidDpkg },
  apk: { compare: compareApk, isValid: isValidApk },
  rpm: { compare: compareRpm, isValid: isValidRpm },
  semver: { compare: compareSemver, isValid: isValidSemver },
  go: { compare: compareGo, isValid: isValidGo },
  pep440: { compare: comparePep440, isValid: isValidPep440 },
  maven: { compare: compareMaven, isValid: isValidMaven },
  rubygems: { compare: compareRubyGems, isValid: isValidRubyGems },
  nuget: { compare: compareNuGet, isValid: isValidNuGet },
  composer: { compare: compareComposer, isValid: isValidComposer },
};

// OSV ecosystem names (the part before any ":release" suffix) and the scheme each orders by.
const ECOSYSTEMS: Record<string, VersionScheme> = {
  Debian: 'dpkg',
  Ubuntu: 'dpkg',
  Alpine: 'apk',
  'Red Hat': 'rpm',
  'Rocky Linux': 'rpm',
  AlmaLinux: 'rpm',
  openSUSE: 'rpm',
  SUSE: 'rpm',
  Mageia: 'rpm',
  openEuler: 'rpm',
  npm: 'semver',
  Go: 'go',
  PyPI: 'pep440',
  Maven: 'maven',
  RubyGems: 'rubygems',
  NuGet: 'nuget',
  Packagist: 'composer',
};

/** The scheme an OSV ecosystem ("Debian:12", "Alpine:v3.18", "npm", "PyPI"…) orders versions by. */
export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const colon = ecosystem.indexOf(':');
  const name = colon < 0 ? ecosystem : ecosystem.slice(0, colon);
  return Object.hasOwn(ECOSYSTEMS, name) ? ECOSYSTEMS[name] : undefined;
}

export function compareVersions(scheme: VersionScheme, a: string, b: string): number {
  return SCHEMES[scheme].compare(a, b);
}

/** Whether the ecosystem would accept v as a version at all (dpkg --validate-version, semver.valid, …). */
export function isValidVersion(scheme: VersionScheme, v: string): boolean {
  return SCHEMES[scheme].isValid(v);
}
