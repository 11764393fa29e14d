// Maps a Trivy JSON report (SchemaVersion 2, `trivy image --format json --list-all-pkgs`) into the
// registry's inventory and findings, so results read the same whichever scanner made them.
import { z } from 'zod';
import type { Severity } from '../../shared/policy.ts';
import type { Finding } from '../vulndb/match.ts';
import type { ImageInventory, ImagePackage, PackageKind } from './inventory.ts';

const layer = z.object({ Digest: z.string().optional(), DiffID: z.string().optional() }).partial().optional();

const cvssEntry = z
  .object({
    V3Vector: z.string().optional(),
    V3Score: z.number().optional(),
    V2Vector: z.string().optional(),
    V2Score: z.number().optional(),
  })
  .passthrough();

const report = z.object({
  SchemaVersion: z.literal(2),
  Metadata: z
    .object({ OS: z.object({ Family: z.string(), Name: z.string() }).partial().optional() })
    .passthrough()
    .optional(),
  Results: z
    .array(
      z
        .object({
          Target: z.string(),
          Class: z.string().optional(),
          Type: z.string().optional(),
          Packages: z
            .array(
              z
                .object({
                  Name: z.string(),
                  Version: z.string(),
                  SrcName: z.string().optional(),
                  SrcVersion: z.string().optional(),
                  SrcRelease: z.string().optional(),
                  SrcEpoch: z.number().optional(),
                  Release: z.string().optional(),
                  Epoch: z.number().optional(),
                  FilePath: z.string().optional(),
                  Layer: layer,
                })
                .passthrough(),
            )
            .optional(),
          Vulnerabilities: z
            .array(
              z
                .object({
                  VulnerabilityID: z.string(),
                  PkgName: z.string(),
                  PkgPath: z.string().optional(),
                  InstalledVersion: z.string(),
                  FixedVersion: z.string().optional(),
                  Severity: z.string().optional(),
                  Title: z.string().optional(),
                  Description: z.string().optional(),
                  CVSS: z.record(z.string(), cvssEntry).optional(),
                  Layer: layer,
                  DataSource: z.object({ ID: z.string().optional() }).passthrough().optional(),
                })
                .passthrough(),
            )
            .optional(),
        })
        .passthrough(),
    )
    .optional(),
});

export type TrivyReport = z.infer<typeof report>;

// Trivy's package types, by the ecosystems our inventory names.
const KIND: Record<string, PackageKind> = {
  debian: 'dpkg',
  ubuntu: 'dpkg',
  alpine: 'apk',
  redhat: 'rpm',
  centos: 'rpm',
  rocky: 'rpm',
  alma: 'rpm',
  amazon: 'rpm',
  oracle: 'rpm',
  photon: 'rpm',
  suse: 'rpm',
  'cbl-mariner': 'rpm',
  'node-pkg': 'npm',
  npm: 'npm',
  yarn: 'npm',
  pnpm: 'npm',
  'python-pkg': 'pypi',
  pip: 'pypi',
  pipenv: 'pypi',
  poetry: 'pypi',
  gobinary: 'go',
  gomod: 'go',
  jar: 'maven',
  pom: 'maven',
  gradle: 'maven',
  gemspec: 'gem',
  bundler: 'gem',
  composer: 'composer',
  'composer-vendor': 'composer',
  nuget: 'nuget',
  'dotnet-core': 'nuget',
  'packages-props': 'nuget',
};

const ECOSYSTEM: Record<PackageKind, string | undefined> = {
  npm: 'npm',
  pypi: 'PyPI',
  go: 'Go',
  maven: 'Maven',
  gem: 'RubyGems',
  composer: 'Packagist',
  nuget: 'NuGet',
  dpkg: undefined,
  apk: undefined,
  rpm: undefined,
};

const SEVERITY: Record<string, Severity> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
};

export type TrivyMapping =
  | { ok: true; inventory: ImageInventory; findings: Finding[] }
  | { ok: false; error: string };

export function mapTrivyReport(json: string): TrivyMapping {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, error: 'trivy printed something that is not JSON' };
  }
  const parsed = report.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      error: `unexpected trivy report: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
    };
  }
  const r = parsed.data;
  const osFamily = r.Metadata?.OS?.Family;
  const osName = r.Metadata?.OS?.Name;
  const packages: ImagePackage[] = [];
  const findings: Finding[] = [];
  for (const result of r.Results ?? []) {
    const kind = KIND[result.Type ?? ''];
    const isOs = result.Class === 'os-pkgs';
    // Debian, Ubuntu and Alpine advisories (and Trivy's fixed versions for them) are about
    // source packages; findings say which source version was compared, as the built-in scanner's do.
    const sources = new Map<string, { name: string; version: string }>();
    for (const p of result.Packages ?? []) {
      if (!kind) continue;
      const version = fullVersion(p.Version, p.Release, p.Epoch);
      const sourceVersion = p.SrcVersion ? fullVersion(p.SrcVersion, p.SrcRelease, p.SrcEpoch) : undefined;
      if ((kind === 'dpkg' || kind === 'apk') && p.SrcName) {
        sources.set(p.Name, { name: p.SrcName, version: sourceVersion ?? version });
      }
      packages.push({
        kind,
        name: p.Name,
        version,
        ...(p.SrcName ? { sourceName: p.SrcName } : {}),
        ...(sourceVersion && sourceVersion !== version ? { sourceVersion } : {}),
        ...(ecosystemOf(kind, isOs, osFamily, osName)
          ? { ecosystem: ecosystemOf(kind, isOs, osFamily, osName) }
          : {}),
        path: p.FilePath ?? result.Target,
        layer: p.Layer?.Digest ?? '',
      });
    }
    for (const v of result.Vulnerabilities ?? []) {
      const cvss = pickCvss(v.CVSS);
      const source = sources.get(v.PkgName);
      findings.push({
        id: v.VulnerabilityID,
        advisory: v.DataSource?.ID ? `${v.DataSource.ID}:${v.VulnerabilityID}` : v.VulnerabilityID,
        aliases: [],
        severity: SEVERITY[(v.Severity ?? '').toUpperCase()] ?? 'unknown',
        description: v.Title ?? firstLine(v.Description ?? ''),
        package: v.PkgName,
        ...(source ? { sourcePackage: source.name, sourceVersion: source.version } : {}),
        ecosystem: (kind && ecosystemOf(kind, isOs, osFamily, osName)) ?? result.Type ?? '',
        installedVersion: v.InstalledVersion,
        ...(v.FixedVersion ? { fixedVersion: v.FixedVersion.split(',')[0]?.trim() as string } : {}),
        ...(cvss ? { cvssScore: cvss.score, cvssVector: cvss.vector } : {}),
        layer: v.Layer?.Digest ?? '',
        path: v.PkgPath ?? result.Target,
      });
    }
  }
  return {
    ok: true,
    inventory: {
      ...(osFamily ? { os: { id: osFamily, versionId: osName ?? '' } } : {}),
      packages,
      warnings: [],
    },
    findings,
  };
}

/** Trivy splits rpm versions into epoch, version and release; the inventory writes them as rpm does. */
function fullVersion(version: string, release: string | undefined, epoch: number | undefined): string {
  return release ? `${epoch ? `${epoch}:` : ''}${version}-${release}` : version;
}

function ecosystemOf(kind: PackageKind, isOs: boolean, family?: string, name?: string): string | undefined {
  if (!isOs) return ECOSYSTEM[kind];
  if (!family) return undefined;
  const major = (name ?? '').split('.')[0];
  if (family === 'debian') return `Debian:${major}`;
  if (family === 'ubuntu') return `Ubuntu:${name}`;
  if (family === 'alpine') return `Alpine:v${(name ?? '').split('.').slice(0, 2).join('.')}`;
  return family;
}

/** NVD's CVSS v3 first, then any vendor's. */
function pickCvss(
  cvss: Record<string, { V3Vector?: string | undefined; V3Score?: number | undefined }> | undefined,
) {
  if (!cvss) return undefined;
  const sources = ['nvd', ...Object.keys(cvss).filter((k) => k !== 'nvd')];
  for (const source of sources) {
    const entry = cvss[source];
    if (entry?.V3Vector && entry.V3Score !== undefined)
      return { vector: entry.V3Vector, score: entry.V3Score };
  }
  return undefined;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 250 ? `${line.slice(0, 247)}...` : line;
}
