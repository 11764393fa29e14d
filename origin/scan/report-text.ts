// The text form of a scan result, for `registry scan`.
import { isRepositoryName } from '../../shared/reference.ts';
import type { FindingDetail, ImageReport } from './scans.ts';

/** "name:tag", "name@sha256:…" or "name" (tag latest), as docker writes image references. */
export function splitImageReference(value: string): { name: string; reference: string } | null {
  const at = value.indexOf('@');
  if (at > 0) {
    const name = value.slice(0, at);
    return isRepositoryName(name) ? { name, reference: value.slice(at + 1) } : null;
  }
  const colon = value.lastIndexOf(':');
  const slash = value.lastIndexOf('/');
  const [name, reference] =
    colon > slash ? [value.slice(0, colon), value.slice(colon + 1)] : [value, 'latest'];
  return isRepositoryName(name) && reference.length > 0 ? { name, reference } : null;
}

export function scanReportLines(
  image: string,
  report: ImageReport & { platforms?: ImageReport[] },
): string[] {
  const v = report.vulnerabilities;
  const lines = [
    `${image}: scan ${report.status}${report.scanned_at ? ` at ${report.scanned_at}` : ''}`,
    `  ${report.details.length} vulnerabilities: ${v.critical} critical, ${v.high} high, ${v.medium} medium, ${v.low} low, ${v.unknown} unknown`,
  ];
  if (report.error) lines.push(`  error: ${report.error}`);
  const data = report.vulnerability_data ?? [];
  if (data.length > 0) {
    const each = data.map(
      (d) => `${d.ecosystem} ${d.records} records${d.imported_at ? ` (imported ${d.imported_at})` : ''}`,
    );
    lines.push(`  matched against: ${each.join(', ')}`);
  }
  for (const p of report.platforms ?? []) {
    lines.push(
      `  ${p.platform}: ${p.status}, ${p.details.length} vulnerabilities${p.error ? ` (${p.error})` : ''}`,
    );
  }
  if (report.warnings.length > 0) {
    // A result with warnings may miss packages: say so before the table, not after it.
    const n = report.warnings.length;
    lines.push(`  ${n} warning${n === 1 ? '' : 's'} (what was not read may hide vulnerabilities):`);
    for (const warning of report.warnings.slice(0, MAX_WARNINGS_SHOWN)) lines.push(`    ${warning}`);
    const more = report.warnings.length - MAX_WARNINGS_SHOWN;
    if (more > 0) lines.push(`    and ${more} more (--json lists them all)`);
  }
  if (report.details.length > 0) lines.push('', ...table(report.details));
  return lines;
}

const MAX_WARNINGS_SHOWN = 20;

function table(details: FindingDetail[]): string[] {
  // Debian, Ubuntu and Alpine findings are decided on the source package's version, which the
  // fixed version is one of: SOURCE shows it next to the binary's INSTALLED.
  const rows = [
    ['ID', 'SEVERITY', 'PACKAGE', 'INSTALLED', 'SOURCE', 'FIXED', 'PATH'],
    ...details.map((d) => [
      d.id,
      d.severity,
      d.package,
      d.installed_version,
      d.source_package === null ? '-' : `${d.source_package} ${d.source_version ?? ''}`.trimEnd(),
      d.fixed_version ?? '-',
      d.path,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
