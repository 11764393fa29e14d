// OSV records (https://ossf.github.io/osv-schema/) as osv.dev exports them, and the keys a record
// is stored and matched under. Lenient: unknown fields pass through, and values that only some
// producers fill (null arrays, new severity or range types) are accepted and ignored, so that a
// producer adding something never costs us its records.
import { z } from 'zod';
import { rfc3339Micros } from '../rfc3339.ts';

// RFC 3339 as osv.dev writes it: "2021-08-24T00:00:00Z", with up to nanoseconds, or an offset.

const timestamp = z.string().refine((s) => toMicros(s) !== undefined, 'not an RFC 3339 timestamp');

/** Each event holds exactly one of these (the spec's rule; we require at least one). */
const event = z
  .looseObject({
    introduced: z.string().optional(),
    fixed: z.string().optional(),
    last_affected: z.string().optional(),
    limit: z.string().optional(),
  })
  .refine(
    (e) =>
      e.introduced !== undefined ||
      e.fixed !== undefined ||
      e.last_affected !== undefined ||
      e.limit !== undefined,
    'an event needs introduced, fixed, last_affected or limit',
  );

const severity = z.looseObject({
  /** CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu; others are kept and ignored. */
  type: z.string(),
  score: z.string(),
});

const range = z.looseObject({
  /** ECOSYSTEM, SEMVER or GIT; GIT ranges (commits) are not matched against package versions. */
  type: z.string(),
  repo: z.string().nullish(),
  events: z.array(event),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

const affected = z.looseObject({
  /** Absent on records that only name commits (GIT ranges); those never match a package. */
  package: z
    .looseObject({
      ecosystem: z.string().min(1),
      name: z.string().min(1),
      purl: z.string().nullish(),
    })
    .nullish(),
  severity: z.array(severity).nullish(),
  ranges: z.array(range).nullish(),
  versions: z.array(z.string()).nullish(),
  ecosystem_specific: z.record(z.string(), z.unknown()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

export const osvRecord = z.looseObject({
  schema_version: z.string().nullish(),
  id: z.string().min(1).max(256),
  modified: timestamp,
  published: timestamp.nullish(),
  withdrawn: timestamp.nullish(),
  aliases: z.array(z.string()).nullish(),
  upstream: z.array(z.string()).nullish(),
  related: z.array(z.string()).nullish(),
  summary: z.string().nullish(),
  details: z.string().nullish(),
  severity: z.array(severity).nullish(),
  affected: z.array(affected).nullish(),
  references: z.array(z.unknown()).nullish(),
  credits: z.array(z.unknown()).nullish(),
  database_specific: z.record(z.string(), z.unknown()).nullish(),
});

export type OsvRecord = z.infer<typeof osvRecord>;
export type OsvAffected = z.infer<typeof affected>;
export type OsvRange = z.infer<typeof range>;
export type OsvEvent = z.infer<typeof event>;
export type OsvSeverity = z.infer<typeof severity>;

/** Parses one record; the reason names the first field that is wrong. */
export function parseOsv(value: unknown): { ok: true; record: OsvRecord } | { ok: false; reason: string } {
  const parsed = osvRecord.safeParse(value);
  if (parsed.success) return { ok: true, record: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'record';
  return { ok: false, reason: `${where}: ${issue?.message ?? 'invalid'}` };
}

/**
 * Microseconds since the epoch, PostgreSQL's timestamp precision, so that "newer than stored"
 * compares exactly what the database holds. Undefined when the text is not RFC 3339.
 */
export function toMicros(timestamp: string): number | undefined {
  // OSV's schema says RFC 3339 with a "T" (a space is RFC 3339's allowance, not OSV's).
  return /^\S+$/.test(timestamp) ? rfc3339Micros(timestamp) : undefined;
}

export const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

/**
 * The CVEs a record *is*: its id, its aliases, or its single upstream CVE (ALPINE-CVE-…,
 * DEBIAN-CVE-…, UBUNTU-CVE-… records name the CVE they track that way). A record fixing several
 * upstream CVEs (a DSA, a USN) is none of them.
 */
export function identityCves(record: Pick<OsvRecord, 'id' | 'aliases' | 'upstream'>): string[] {
  const cves = new Set<string>();
  if (CVE_ID.test(record.id)) cves.add(record.id);
  for (const alias of record.aliases ?? []) if (CVE_ID.test(alias)) cves.add(alias);
  const upstream = (record.upstream ?? []).filter((u) => CVE_ID.test(u));
  if (upstream.length === 1) cves.add(upstream[0] as string);
  return [...cves].sort(compareCveIds);
}

/** The CVEs a record is about, its own or those it fixes upstream (for borrowing a severity). */
export function relatedCves(record: Pick<OsvRecord, 'id' | 'aliases' | 'upstream'>): string[] {
  const cves = new Set(identityCves(record));
  for (const u of record.upstream ?? []) if (CVE_ID.test(u)) cves.add(u);
  return [...cves].sort(compareCveIds);
}

/** CVE ids in numeric order: CVE-2021-3711 before CVE-2021-23840. */
export function compareCveIds(a: string, b: string): number {
  const [, ya = '', na = ''] = a.split('-');
  const [, yb = '', nb = ''] = b.split('-');
  return Number(ya) - Number(yb) || Number(na) - Number(nb) || a.localeCompare(b);
}

/** "Debian:12" → "Debian"; "Ubuntu:22.04:LTS" → "Ubuntu"; "npm" → "npm". */
export function ecosystemBase(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/**
 * The name a package is stored and looked up under. PyPI names compare after PEP 503
 * normalisation (records and installed metadata spell "Flask_Cors" and "flask-cors" alike);
 * NuGet ids are case-insensitive (a lock file may write "newtonsoft.json" for the record's
 * "Newtonsoft.Json"); every other ecosystem compares names exactly.
 */
export function packageKey(ecosystem: string, name: string): string {
  const base = ecosystemBase(ecosystem);
  if (base === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  if (base === 'NuGet') return name.toLowerCase();
  return name;
}

/**
 * Whether a record's ecosystem covers a package's. Equal strings match; a record without a
 * release ("Debian") covers every release of its OS; a record whose ecosystem extends the
 * package's ("Ubuntu:22.04:LTS" for "Ubuntu:22.04") covers it. A package whose release is
 * unknown matches only release-less records: its version says nothing about which release's
 * fixes apply.
 */
export function ecosystemCovers(recordEcosystem: string, packageEcosystem: string): boolean {
  if (recordEcosystem === packageEcosystem) return true;
  const record = recordEcosystem.split(':');
  const pkg = packageEcosystem.split(':');
  if (record[0] !== pkg[0]) return false;
  if (record.length === 1) return true;
  if (pkg.length === 1 || pkg.length > record.length) return false;
  return pkg.every((part, i) => record[i] === part);
}
