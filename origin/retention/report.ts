// A retention run as the CLI prints it and as the API and --json answer it. The text: one line per
// item (what, its rule, why), then the totals and what GC would then reclaim.
import { counted, formatBytes } from '../gc/format.ts';
import type { RetentionReport } from './retention.ts';

export function retentionLines(report: RetentionReport): string[] {
  const dry = report.mode === 'dry-run';
  const verb = dry ? 'would remove' : 'removed';
  const lines: string[] = [];
  const skippedTags = new Set(report.skipped.tags.map((t) => `${t.repository}:${t.tag}`));
  const skippedManifests = new Set(report.skipped.manifests.map((m) => `${m.repository}@${m.digest}`));
  for (const t of report.plan.tags) {
    const name = `${t.repository}:${t.tag}`;
    const done = skippedTags.has(name) ? 'skipped (changed since planned)' : verb;
    lines.push(`${done} tag ${name} [rule "${t.rule}"] ${t.reason}`);
  }
  for (const m of report.plan.manifests) {
    const name = `${m.repository}@${m.digest}`;
    const done = skippedManifests.has(name) ? 'skipped (changed since planned)' : verb;
    lines.push(`${done} manifest ${name} [rule "${m.rule}"] ${m.reason}`);
  }
  lines.push(summaryLine(report));
  return lines;
}

/** The totals: the last line of the text, and the `summary` of POST /admin/retention/run. */
export function summaryLine(report: RetentionReport): string {
  const { plan, skipped, reclaimable } = report;
  const tags = plan.tags.length - skipped.tags.length;
  const manifests = plan.manifests.length - skipped.manifests.length;
  const evaluated = `${counted(plan.evaluated.tags, 'tag')} in ${counted(plan.evaluated.repositories, 'repository', 'repositories')} under a rule`;
  const gc = `GC would then reclaim ${formatBytes(reclaimable.bytes)} in ${counted(reclaimable.blobs, 'blob')}`;
  if (report.mode === 'dry-run')
    return `Would remove ${counted(tags, 'tag')} and ${counted(manifests, 'manifest')} of ${evaluated}; ${gc}`;
  const skip = skipped.tags.length + skipped.manifests.length;
  return (
    `Removed ${counted(tags, 'tag')} and ${counted(manifests, 'manifest')} of ${evaluated}` +
    `${skip > 0 ? ` (${skip} skipped: changed since planned)` : ''}; ${gc}`
  );
}

/** The report for scripts (--json) and the API. */
export function retentionJson(report: RetentionReport) {
  const skippedTags = new Map(report.skipped.tags.map((t) => [`${t.repository}:${t.tag}`, t.outcome]));
  const skippedManifests = new Map(
    report.skipped.manifests.map((m) => [`${m.repository}@${m.digest}`, m.outcome]),
  );
  const status = (skipped: string | undefined) =>
    report.mode === 'dry-run' ? 'planned' : skipped === undefined ? 'removed' : `skipped (${skipped})`;
  const time = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    mode: report.mode,
    prefix: report.prefix,
    summary: summaryLine(report),
    evaluated: report.plan.evaluated,
    tags: report.plan.tags.map((t) => ({
      repository: t.repository,
      tag: t.tag,
      digest: t.digest,
      pushed_at: time(t.pushedAt),
      last_pulled_at: time(t.pulledAt),
      rule: t.rule,
      reason: t.reason,
      status: status(skippedTags.get(`${t.repository}:${t.tag}`)),
    })),
    manifests: report.plan.manifests.map((m) => ({
      repository: m.repository,
      digest: m.digest,
      rule: m.rule,
      reason: m.reason,
      status: status(skippedManifests.get(`${m.repository}@${m.digest}`)),
    })),
    reclaimable: report.reclaimable,
    duration_ms: report.durationMs,
  };
}
