// Matches an image's packages against the stored OSV records: one indexed query per batch of
// packages finds the affected rows by (ecosystem without release, package), and the release and
// the version ranges are checked here with the ecosystem's own version ordering.
import type { Severity } from '../../shared/policy.ts';
import { SEVERITIES } from '../../shared/policy.ts';
import type { Queryable } from '../metadata/database.ts';
import type { PackageRef } from '../metadata/vulnerabilities.ts';
import {
  type AffectedMatch,
  findAffected,
  findMatchedAdvisories,
  findSeverityDonors,
  imagesWithPackages,
  type LookupKey,
  type MatchedAdvisory,
  type PackageLookup,
  replaceInventoryPackages,
  type SeverityDonor,
} from '../metadata/vulnerability-matching.ts';
import type { ImageInventory, ImagePackage } from '../scan/inventory.ts';
import { compareVersions, isValidVersion, schemeFor, type VersionScheme } from '../scan/versions/index.ts';
import { CVE_ID, ecosystemBase, ecosystemCovers, packageKey } from './osv.ts';

export interface Finding {
  /** The CVE the record is (its id, an alias, or its single upstream CVE), else the record's id. */
  id: string;
  /** The OSV record that matched. */
  advisory: string;
  /** Other ids of the same vulnerability (the record's id when `id` is a CVE, its aliases). */
  aliases: string[];
  severity: Severity;
  /** The summary, or the first line of the details (at most 250 characters). */
  description: string;
  /** The package as installed (for dpkg and apk, the binary package). */
  package: string;
  /**
   * The source package and its version, when the record was compared with them rather than with
   * the binary package (dpkg and apk: Debian, Ubuntu and Alpine records name source packages).
   * `fixedVersion` is then a source version too: compare it with `sourceVersion`, not with
   * `installedVersion`, which may be ahead (a binNMU, an epoch only the binary has) or behind.
   */
  sourcePackage?: string;
  sourceVersion?: string;
  ecosystem: string;
  /** The binary package's version, as installed. */
  installedVersion: string;
  /** The lowest fixed version above the compared one (`sourceVersion`, else `installedVersion`) in the range that matched. */
  fixedVersion?: string;
  cvssScore?: number;
  cvssVector?: string;
  layer: string;
  path: string;
}

/** Distinct package lookups per query. */
const LOOKUP_BATCH = 1000;
const DESCRIPTION_MAX = 250;

/**
 * The source package and version an OS package is looked up and compared at: Debian, Ubuntu and
 * Alpine records name source packages (openssl, not libssl3), at source versions. Undefined for
 * the others, compared as they are: rpm records (Red Hat, Rocky, Alma) name binary packages.
 */
function sourceOf(pkg: ImagePackage): { name: string; version: string } | undefined {
  if (pkg.kind !== 'dpkg' && pkg.kind !== 'apk') return undefined;
  // A dpkg Source: without a version, and an apk origin, mean the binary's own version.
  return { name: pkg.sourceName ?? pkg.name, version: pkg.sourceVersion ?? pkg.version };
}

function lookupOf(pkg: ImagePackage): PackageLookup | undefined {
  if (!pkg.ecosystem) return undefined;
  const { name, version: compared } = sourceOf(pkg) ?? pkg;
  let version = compared;
  const base = ecosystemBase(pkg.ecosystem);
  // Go records write versions without "v" (and the toolchain without "go").
  if (base === 'Go') version = version.replace(/^(v|go)(?=\d)/, '');
  return { ecosystem: pkg.ecosystem, base, key: packageKey(pkg.ecosystem, name), version };
}

/** A record that affects a package, before it becomes a finding. */
interface Hit {
  pkg: ImagePackage;
  advisory: string;
  fixed?: string;
}

/** The findings for an image's packages; withdrawn records never match. */
export async function matchInventory(db: Queryable, inventory: ImageInventory): Promise<Finding[]> {
  const lookups = new Map<string, { lookup: PackageLookup; packages: ImagePackage[] }>();
  for (const pkg of inventory.packages) {
    const lookup = lookupOf(pkg);
    if (!lookup) continue;
    const id = `${lookup.ecosystem}\0${lookup.key}\0${lookup.version}`;
    const entry = lookups.get(id);
    if (entry) entry.packages.push(pkg);
    else lookups.set(id, { lookup, packages: [pkg] });
  }

  const hits: Hit[] = [];
  const entries = [...lookups.values()];
  const validity = new Map<string, boolean>();
  for (let i = 0; i < entries.length; i += LOOKUP_BATCH) {
    const batch = entries.slice(i, i + LOOKUP_BATCH);
    // The exact release test is ecosystemCovers(), below.
    const rows = await findAffected(
      db,
      batch.map((e) => e.lookup),
    );
    for (const row of rows) {
      const entry = lookups.get(`${row.packageEcosystem}\0${row.key}\0${row.version}`);
      if (!entry) continue;
      for (const pkg of entry.packages) {
        if (!ecosystemCovers(row.ecosystem, pkg.ecosystem as string)) continue;
        const verdict = affects(row, pkg.ecosystem as string, validity);
        if (verdict.affected)
          hits.push({ pkg, advisory: row.advisoryId, ...(verdict.fixed ? { fixed: verdict.fixed } : {}) });
      }
    }
  }
  if (hits.length === 0) return [];

  const advisories = await findMatchedAdvisories(db, [...new Set(hits.map((h) => h.advisory))]);
  const found = new Map<string, Found>();
  for (const hit of hits) {
    const advisory = advisories.get(hit.advisory);
    if (!advisory) continue;
    const next: Found = { finding: toFinding(hit, advisory), advisory };
    const key = findingKey(next.finding);
    const other = found.get(key);
    found.set(key, other ? merge(other, next) : next);
  }
  await borrowSeverities(db, [...found.values()]);
  foldUpstream(found);
  return [...found.values()]
    .map((f) => f.finding)
    .sort(
      (a, b) =>
        SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) ||
        a.id.localeCompare(b.id) ||
        a.package.localeCompare(b.package) ||
        a.path.localeCompare(b.path),
    );
}

/** A finding and the record it came from. */
interface Found {
  finding: Finding;
  advisory: MatchedAdvisory;
}

/** One finding per (vulnerability, package, installed version, path). */
function findingKey(f: Finding): string {
  return `${f.id}\0${f.package}\0${f.installedVersion}\0${f.path}`;
}

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, unknown: 0 };

/** Two records for one vulnerability: keep the one that says more (a fix, a severity, a score). */
function merge(a: Found, b: Found): Found {
  const weigh = (f: Finding) => [f.fixedVersion ? 1 : 0, RANK[f.severity], f.cvssScore === undefined ? 0 : 1];
  const wa = weigh(a.finding);
  const wb = weigh(b.finding);
  const differs = wa.findIndex((w, i) => w !== wb[i]);
  const better =
    differs >= 0
      ? (wa[differs] as number) > (wb[differs] as number)
        ? a
        : b
      : a.advisory.id <= b.advisory.id
        ? a
        : b;
  const aliases = new Set([...a.finding.aliases, ...b.finding.aliases, a.advisory.id, b.advisory.id]);
  aliases.delete(better.finding.id);
  return { finding: { ...better.finding, aliases: [...aliases].sort() }, advisory: better.advisory };
}

function toFinding(hit: Hit, advisory: MatchedAdvisory): Finding {
  const pkg = hit.pkg;
  const id = advisory.cves[0] ?? advisory.id;
  const aliases = new Set([advisory.id, ...advisory.aliases, ...advisory.cves]);
  aliases.delete(id);
  const source = sourceOf(pkg);
  return {
    id,
    advisory: advisory.id,
    aliases: [...aliases].sort(),
    severity: advisory.severity,
    description: describe(advisory),
    package: pkg.name,
    ...(source ? { sourcePackage: source.name, sourceVersion: source.version } : {}),
    ecosystem: pkg.ecosystem as string,
    installedVersion: pkg.version,
    ...(hit.fixed ? { fixedVersion: hit.fixed } : {}),
    ...(advisory.cvssScore === null ? {} : { cvssScore: advisory.cvssScore }),
    ...(advisory.cvssVector === null ? {} : { cvssVector: advisory.cvssVector }),
    layer: pkg.layer,
    path: pkg.path,
  };
}

function describe(advisory: MatchedAdvisory): string {
  const summary = advisory.summary?.trim();
  const text = summary || (advisory.details ?? '').split('\n').find((line) => line.trim() !== '') || '';
  const line = text.trim();
  return line.length > DESCRIPTION_MAX ? `${line.slice(0, DESCRIPTION_MAX - 1)}…` : line;
}

/**
 * A finding whose record has no severity takes one from another stored record of the same CVE
 * (a GHSA, a record with CVSS); a record fixing several CVEs (a DSA) takes the worst of theirs.
 * The highest severity wins among several, then the highest score.
 */
async function borrowSeverities(db: Queryable, found: readonly Found[]): Promise<void> {
  const wanting = found.filter((f) => f.finding.severity === 'unknown');
  const cvesOf = (advisory: MatchedAdvisory) =>
    advisory.cves.length > 0 ? advisory.cves : advisory.upstream.filter((u) => CVE_ID.test(u));
  const wanted = [...new Set(wanting.flatMap((f) => cvesOf(f.advisory)))];
  if (wanted.length === 0) return;
  const donors = await findSeverityDonors(db, wanted);
  for (const { finding, advisory } of wanting) {
    const cves = new Set(cvesOf(advisory));
    let best: SeverityDonor | undefined;
    for (const donor of donors) {
      if (donor.advisoryId === advisory.id || !cves.has(donor.cve)) continue;
      if (
        !best ||
        RANK[donor.severity] > RANK[best.severity] ||
        (RANK[donor.severity] === RANK[best.severity] && (donor.cvssScore ?? -1) > (best.cvssScore ?? -1))
      ) {
        best = donor;
      }
    }
    if (!best) continue;
    finding.severity = best.severity;
    if (best.cvssScore !== null) finding.cvssScore = best.cvssScore;
    if (best.cvssVector !== null) finding.cvssVector = best.cvssVector;
  }
}

/**
 * A distribution advisory fixing several CVEs (DSA-…, USN-…) says nothing more than the findings
 * of those CVEs for the same package, when every one of them is found: it is dropped then, so
 * one fix is not counted twice.
 */
function foldUpstream(found: Map<string, Found>): void {
  for (const [key, { finding, advisory }] of found) {
    if (advisory.cves.length > 0) continue;
    const upstream = advisory.upstream.filter((u) => CVE_ID.test(u));
    if (upstream.length === 0) continue;
    if (upstream.every((cve) => found.has(findingKey({ ...finding, id: cve })))) found.delete(key);
  }
}

type Verdict = { affected: false } | { affected: true; fixed?: string };

/** Whether an affected row covers the installed version, and the fix for it. */
function affects(row: AffectedMatch, ecosystem: string, validity: Map<string, boolean>): Verdict {
  const scheme = schemeFor(ecosystem);
  const version = row.version;
  const valid = (s: VersionScheme, v: string) => {
    const key = `${s}\0${v}`;
    let known = validity.get(key);
    if (known === undefined) {
      known = isValidVersion(s, v);
      validity.set(key, known);
    }
    return known;
  };
  let affected = row.listed;
  let fixed: string | undefined;
  let fixedFromMatch = false;
  for (const range of row.ranges) {
    // SEMVER ranges are semver whatever the ecosystem; ECOSYSTEM ranges need the ecosystem's order.
    const s: VersionScheme | undefined =
      range.type === 'SEMVER' ? (scheme === 'go' || scheme === 'semver' ? scheme : 'semver') : scheme;
    if (!s || !valid(s, version)) continue;
    const verdict = inRange(range.events, version, s, valid);
    if (verdict === undefined) continue;
    if (verdict.affected) {
      affected = true;
      if (verdict.nextFix && (!fixedFromMatch || !fixed || compareVersions(s, verdict.nextFix, fixed) < 0)) {
        fixed = verdict.nextFix;
      }
      fixedFromMatch = true;
    } else if (row.listed && !fixedFromMatch && verdict.nextFix) {
      // Listed explicitly but outside every range: the next fix of any range is the best we know.
      if (!fixed || compareVersions(s, verdict.nextFix, fixed) < 0) fixed = verdict.nextFix;
    }
  }
  if (!affected) return { affected: false };
  return fixed ? { affected: true, fixed } : { affected: true };
}

interface Event {
  kind: 'introduced' | 'fixed' | 'last_affected' | 'limit';
  /** Undefined for introduced "0": before every version. */
  version: string | undefined;
}

const KIND_ORDER: Record<Event['kind'], number> = { introduced: 0, fixed: 1, last_affected: 1, limit: 2 };

/**
 * The OSV evaluation of one range: events sorted by version, walked in order, each introduced at
 * or below the installed version opening the range, each fixed (or limit) at or below it and each
 * last_affected below it closing it. Undefined when an event's version is not valid in the scheme:
 * such a range is skipped, not guessed at.
 */
function inRange(
  rawEvents: readonly Record<string, string>[],
  version: string,
  scheme: VersionScheme,
  valid: (s: VersionScheme, v: string) => boolean,
): { affected: boolean; nextFix?: string } | undefined {
  const events: Event[] = [];
  for (const raw of rawEvents) {
    for (const kind of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
      const v = raw[kind];
      if (typeof v !== 'string') continue;
      if (kind === 'introduced' && v === '0') {
        events.push({ kind, version: undefined });
        continue;
      }
      if (!valid(scheme, v)) return undefined;
      events.push({ kind, version: v });
    }
  }
  events.sort((a, b) => {
    if (a.version === undefined || b.version === undefined) {
      return (a.version === undefined ? 0 : 1) - (b.version === undefined ? 0 : 1);
    }
    return compareVersions(scheme, a.version, b.version) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  });
  let affected = false;
  for (const event of events) {
    const cmp = event.version === undefined ? 1 : compareVersions(scheme, version, event.version);
    if (event.kind === 'introduced' && cmp >= 0) affected = true;
    else if ((event.kind === 'fixed' || event.kind === 'limit') && cmp >= 0) affected = false;
    else if (event.kind === 'last_affected' && cmp > 0) affected = false;
  }
  // Sorted ascending, so the first fix above the installed version is the lowest.
  const nextFix = events.find(
    (e) => e.kind === 'fixed' && e.version !== undefined && compareVersions(scheme, e.version, version) > 0,
  )?.version;
  return nextFix ? { affected, nextFix } : { affected };
}

/**
 * Notes which lookup keys an image's inventory has, so that `rematchCandidates` can find the
 * image after an import. Call it where the inventory is stored (replacing what was noted).
 */
export async function recordInventoryPackages(
  q: Queryable,
  digest: string,
  inventory: ImageInventory,
): Promise<void> {
  const keys = new Map<string, LookupKey>();
  for (const pkg of inventory.packages) {
    const lookup = lookupOf(pkg);
    if (lookup) keys.set(`${lookup.base}\0${lookup.key}`, { base: lookup.base, key: lookup.key });
  }
  await replaceInventoryPackages(q, digest, [...keys.values()]);
}

/**
 * The images (manifest digests noted by `recordInventoryPackages`) that have a package an
 * import changed, and so need matching again. Coarse on purpose: the release is ignored
 * ("Debian:11" also finds Debian 12 images), since matching again is exact and cheap.
 */
export async function rematchCandidates(q: Queryable, changed: readonly PackageRef[]): Promise<string[]> {
  if (changed.length === 0) return [];
  const keys = new Map<string, LookupKey>();
  for (const ref of changed) {
    const base = ecosystemBase(ref.ecosystem);
    const key = packageKey(ref.ecosystem, ref.package);
    keys.set(`${base}\0${key}`, { base, key });
  }
  return imagesWithPackages(q, [...keys.values()]);
}
