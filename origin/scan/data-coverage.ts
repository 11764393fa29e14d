// Which vulnerability data an image is matched against: for each ecosystem its packages belong to,
// the records stored and when they were imported. An ecosystem with no records means those
// packages were compared with nothing: a result with no findings there reads as clean and is not,
// so the report warns and the pull policy treats the image as unscanned.
import type { EcosystemData } from '../metadata/vuln-sources.ts';
import { ecosystemBase } from '../vulndb/osv.ts';
import type { ImageInventory } from './inventory.ts';

export interface MatchedData {
  /** Without its release: "Debian", "npm". */
  ecosystem: string;
  /** The image's packages in it. */
  packages: number;
  records: number;
  imported_at: string | null;
}

export interface DataCoverage {
  matched: MatchedData[];
  /** The ecosystems of the image with no records. */
  missing: string[];
}

/** The built-in scanner matches against the stored data; other scanners keep data of their own. */
export const MATCHES_STORED_DATA = 'builtin';

export function dataCoverage(inventory: ImageInventory, data: readonly EcosystemData[]): DataCoverage {
  const packages = new Map<string, number>();
  for (const pkg of inventory.packages) {
    // Without an ecosystem (an OS not recognised) a package is matched in none: the inventory's
    // own warnings say so.
    if (!pkg.ecosystem) continue;
    const base = ecosystemBase(pkg.ecosystem);
    packages.set(base, (packages.get(base) ?? 0) + 1);
  }
  const stored = new Map(data.map((d) => [d.ecosystem, d]));
  const matched = [...packages.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ecosystem, count]) => {
      const d = stored.get(ecosystem);
      return {
        ecosystem,
        packages: count,
        records: d?.records ?? 0,
        imported_at: d?.importedAt.toISOString() ?? null,
      };
    });
  return { matched, missing: matched.filter((m) => m.records === 0).map((m) => m.ecosystem) };
}

/** The warning of each ecosystem without data. */
export function coverageWarnings(coverage: DataCoverage): string[] {
  return coverage.matched
    .filter((m) => m.records === 0)
    .map(
      (m) =>
        `no vulnerability data for ${m.ecosystem}: its ${m.packages} package${m.packages === 1 ? ' was' : 's were'} ` +
        'matched against nothing (see scan.sources and `registry vulndb status`)',
    );
}
