// The scanning service: queues scans (on push, on request), reports results per image and per
// index, summarises a repository, and re-matches stored inventories after a data import.
import type { Logger } from 'pino';
import { parseManifest, type ScanOutline, type ScanSubject, scanSubject } from '../../shared/manifest.ts';
import { SEVERITIES, type Severity } from '../../shared/policy.ts';
import type { Database } from '../metadata/database.ts';
import { bumpPolicyEpoch } from '../metadata/policies.ts';
import {
  findScanResults,
  markCurrent,
  repositoryScanOverview,
  type ScanResult,
  staleScanResults,
  tagsReaching,
  updateFindings,
} from '../metadata/scans.ts';
import { type EcosystemData, ecosystemData } from '../metadata/vuln-sources.ts';
import type { PackageRef } from '../metadata/vulnerabilities.ts';
import { type Finding, rematchCandidates } from '../vulndb/match.ts';
import { CVE_ID } from '../vulndb/osv.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { coverageWarnings, dataCoverage, MATCHES_STORED_DATA, type MatchedData } from './data-coverage.ts';
import type { ScanQueue } from './scan-queue.ts';
import { findingKey } from './scan-worker.ts';
import type { ImageScanner } from './scanner.ts';

export type SeverityCounts = Record<Exclude<Severity, 'unknown'>, number> & { unknown: number };

export interface ImageReport {
  digest: string;
  platform?: string;
  status: ScanResult['status'] | 'none';
  scanned_at: string | null;
  scanner?: string;
  error?: string;
  os?: unknown;
  /**
   * What the scan could not read or match (see ImageInventory.warnings), and each ecosystem of the
   * image that has no vulnerability data; empty when it read and matched everything.
   */
  warnings: string[];
  /**
   * The data the result was matched against: per ecosystem of the image's packages, the records
   * stored and when they were imported (absent for a scanner with data of its own, e.g. Trivy).
   */
  vulnerability_data?: MatchedData[];
  vulnerabilities: SeverityCounts;
  details: FindingDetail[];
  packages?: unknown[];
}

export interface FindingDetail {
  id: string;
  /** The CVE this is, when the record has one (its id, an alias or its one upstream CVE). */
  cve: string | null;
  advisory: string;
  severity: Severity;
  description: string;
  package: string;
  ecosystem: string;
  /** The binary package's version. */
  installed_version: string;
  /** What the record was compared with when it names source packages (Debian, Ubuntu, Alpine); else null. */
  source_package: string | null;
  source_version: string | null;
  /** A source version when source_version is set: compare it with that, not with installed_version. */
  fixed_version: string | null;
  cvss_score: number | null;
  cvss_vector: string | null;
  layer: string;
  path: string;
}

export interface ScansDependencies {
  db: Database;
  scanner: ImageScanner;
  queue: ScanQueue;
  outbox: WebhookOutbox;
  log: Logger;
  /** Called after anything that may change a policy decision (a result stored, findings updated). */
  decisionsChanged(): void;
  readManifest(repository: string, digest: string): Promise<Uint8Array | null>;
}

export class Scans {
  private readonly d: ScansDependencies;

  constructor(dependencies: ScansDependencies) {
    this.d = dependencies;
  }

  /** A scan asked for: an image is scanned again (its layer inventories are reused); an index's images are. */
  async request(repository: string, digest: string, kind: ScanSubject): Promise<number> {
    const digests =
      kind.kind === 'image' ? [digest] : kind.kind === 'index' ? kind.children.map((c) => c.digest) : [];
    for (const d of digests) await this.d.queue.enqueue(this.d.db, d, repository, 'manual', true);
    if (digests.length > 0) this.d.queue.queued.notify();
    return digests.length;
  }

  async report(
    digest: string,
    kind: ScanSubject,
    withPackages: boolean,
  ): Promise<ImageReport & { platforms?: ImageReport[] }> {
    return (await this.reports([{ digest, outline: kind }], withPackages)).get(digest) as ImageReport;
  }

  /** The reports of several images and indexes (by digest), their results read together. */
  async reports(
    manifests: readonly { digest: string; outline: ScanOutline }[],
    withPackages: boolean,
  ): Promise<Map<string, ImageReport & { platforms?: ImageReport[] }>> {
    const imagesOf = (m: { digest: string; outline: ScanOutline }) =>
      m.outline.kind === 'image'
        ? [m.digest]
        : m.outline.kind === 'index'
          ? m.outline.children.map((c) => c.digest)
          : [];
    const [data, results] = await Promise.all([
      ecosystemData(this.d.db),
      findScanResults(this.d.db, [...new Set(manifests.flatMap(imagesOf))]),
    ]);
    const reports = new Map<string, ImageReport & { platforms?: ImageReport[] }>();
    for (const { digest, outline } of manifests) {
      if (outline.kind === 'image') {
        reports.set(digest, imageReport(digest, results.get(digest), withPackages, data));
        continue;
      }
      const children = outline.kind === 'index' ? outline.children : [];
      const platforms = children.map((c) => ({
        ...imageReport(c.digest, results.get(c.digest), withPackages, data),
        platform: c.platform,
      }));
      const details = dedupe(platforms.flatMap((p) => p.details));
      const scanned = platforms.map((p) => p.scanned_at).filter((t): t is string => t !== null);
      reports.set(digest, {
        digest,
        status: aggregateStatus(platforms.map((p) => p.status)),
        scanned_at: scanned.length > 0 ? (scanned.sort().at(-1) as string) : null,
        warnings: platforms.flatMap((p) => p.warnings.map((w) => `${p.platform ?? p.digest}: ${w}`)),
        vulnerabilities: countBySeverity(details),
        details,
        platforms,
      });
    }
    return reports;
  }

  async summary(repository: string) {
    const overview = await repositoryScanOverview(this.d.db, repository);
    if (!overview) return null;
    let latest: Awaited<ReturnType<Scans['report']>> | null = null;
    if (overview.latestDigest) {
      const bytes = await this.d.readManifest(repository, overview.latestDigest);
      const manifest = bytes && parseManifest(bytes, undefined);
      // Stored bytes that cannot be read leave the latest image unreported.
      if (manifest?.ok) latest = await this.report(overview.latestDigest, scanSubject(manifest.value), false);
    }
    const counts = latest?.vulnerabilities ?? { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
    return {
      repository,
      latest_tag: overview.latestTag,
      latest_digest: overview.latestDigest,
      latest_status: latest?.status ?? null,
      last_scanned: overview.lastScanned?.toISOString() ?? null,
      total_vulnerabilities: latest ? latest.details.length : 0,
      critical_count: counts.critical,
      high_count: counts.high,
      medium_count: counts.medium,
      low_count: counts.low,
      unknown_count: counts.unknown,
      warnings: latest?.warnings ?? [],
      /** Ecosystems of the latest image (any of its platforms) with no vulnerability data. */
      missing_vulnerability_data: missingData(latest),
      images: overview.images,
    };
  }

  /**
   * After the vulnerability data changed: stored inventories that hold a package the import
   * touched (`changed`; all stale ones when unknown) are matched again (no layer is read); the
   * other stale results are only marked current. Images that gain findings fire the
   * `vulnerabilities` webhook. Returns what changed.
   */
  async rematchStale(
    changed?: readonly PackageRef[],
    onProgress?: (done: number) => void,
  ): Promise<{ rematched: number; gained: number; newFindings: number }> {
    const rematch = this.d.scanner.rematch?.bind(this.d.scanner);
    const outcome = { rematched: 0, gained: 0, newFindings: 0 };
    if (!rematch) return outcome;
    const generation = await this.d.scanner.dataGeneration();
    const candidates = changed ? new Set(await rematchCandidates(this.d.db, changed)) : undefined;
    let after: string | null = null;
    for (;;) {
      const page = await staleScanResults(this.d.db, generation, after, 200);
      if (page.length === 0) break;
      const untouched: string[] = [];
      for (const result of page) {
        after = result.digest;
        if (!result.inventory) continue;
        if (candidates && !candidates.has(result.digest)) {
          untouched.push(result.digest);
          continue;
        }
        const findings = await rematch(result.inventory);
        await updateFindings(this.d.db, result.digest, generation, findings);
        outcome.rematched++;
        const known = new Set((result.findings ?? []).map(findingKey));
        const added = findings.filter((f) => !known.has(findingKey(f)));
        if (added.length > 0) {
          outcome.gained++;
          outcome.newFindings += added.length;
          await this.announce(result.digest, added, 'new vulnerability data');
        }
      }
      await markCurrent(this.d.db, untouched, generation);
      onProgress?.(outcome.rematched);
    }
    // Data that changed may also be the first for an image's ecosystem, which the policy reads.
    if (outcome.rematched > 0 || changed === undefined || changed.length > 0) {
      await bumpPolicyEpoch(this.d.db);
      this.d.decisionsChanged();
    }
    return outcome;
  }

  /** After a scan stored its result: decisions may change; new findings are announced. */
  async resultStored(digest: string, added: Finding[]): Promise<void> {
    await bumpPolicyEpoch(this.d.db);
    this.d.decisionsChanged();
    if (added.length > 0) await this.announce(digest, added, 'scan');
  }

  private async announce(digest: string, added: Finding[], trigger: string): Promise<void> {
    const details = added.map(detail);
    let queued = 0;
    try {
      for (const place of await tagsReaching(this.d.db, digest)) {
        queued += await this.d.outbox.queue(this.d.db, place.repository, 'vulnerabilities', {
          digest,
          tags: place.tags,
          tag: place.tags[0] ?? null,
          trigger,
          vulnerabilities: countBySeverity(details),
          new_findings: details,
        });
      }
    } catch (error) {
      // The result is stored; failing to announce it must not undo that.
      this.d.log.error({ err: error, digest }, 'webhook: queueing the vulnerabilities event failed');
    }
    if (queued > 0) this.d.outbox.committed();
  }
}

function imageReport(
  digest: string,
  result: ScanResult | undefined,
  withPackages: boolean,
  data: readonly EcosystemData[],
): ImageReport {
  const details = dedupe((result?.findings ?? []).map(detail));
  const coverage =
    result?.status === 'completed' && result.inventory && result.scanner === MATCHES_STORED_DATA
      ? dataCoverage(result.inventory, data)
      : undefined;
  return {
    digest,
    status: result?.status ?? 'none',
    scanned_at: result?.scannedAt?.toISOString() ?? null,
    ...(result?.scanner ? { scanner: result.scanner } : {}),
    ...(result?.error ? { error: result.error } : {}),
    ...(result?.inventory?.os ? { os: result.inventory.os } : {}),
    warnings: [...(result?.inventory?.warnings ?? []), ...(coverage ? coverageWarnings(coverage) : [])],
    ...(coverage ? { vulnerability_data: coverage.matched } : {}),
    vulnerabilities: countBySeverity(details),
    details,
    ...(withPackages ? { packages: result?.inventory?.packages ?? [] } : {}),
  };
}

function missingData(report: (ImageReport & { platforms?: ImageReport[] }) | null): string[] {
  if (!report) return [];
  const images = report.platforms ?? [report];
  const missing = images.flatMap((i) => (i.vulnerability_data ?? []).filter((d) => d.records === 0));
  return [...new Set(missing.map((d) => d.ecosystem))].sort();
}

function detail(f: Finding): FindingDetail {
  return {
    id: f.id,
    // Finding ids are the CVE whenever the record has one (see vulndb/match.ts).
    cve: CVE_ID.test(f.id) ? f.id : null,
    advisory: f.advisory,
    severity: f.severity,
    description: f.description,
    package: f.package,
    ecosystem: f.ecosystem,
    installed_version: f.installedVersion,
    source_package: f.sourcePackage ?? null,
    source_version: f.sourceVersion ?? null,
    fixed_version: f.fixedVersion ?? null,
    cvss_score: f.cvssScore ?? null,
    cvss_vector: f.cvssVector ?? null,
    layer: f.layer,
    path: f.path,
  };
}

function countBySeverity(details: readonly { severity: Severity }[]): SeverityCounts {
  const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const d of details) counts[d.severity]++;
  return counts;
}

function dedupe(details: FindingDetail[]): FindingDetail[] {
  const seen = new Map<string, FindingDetail>();
  for (const d of details) seen.set(`${d.id}\0${d.package}\0${d.installed_version}\0${d.path}`, d);
  return [...seen.values()].sort(
    (a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity) || a.id.localeCompare(b.id),
  );
}

/** An index is as far as its least advanced image: failed if any failed, completed when all did. */
function aggregateStatus(statuses: ImageReport['status'][]): ImageReport['status'] {
  if (statuses.length === 0) return 'none';
  for (const s of ['failed', 'running', 'pending', 'none'] as const) if (statuses.includes(s)) return s;
  return 'completed';
}
