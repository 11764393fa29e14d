// A GC report as the CLI prints it: one line per item, then the totals, what the grace period
// kept (so that a run that deletes nothing says why), the blob total last.

import { formatDuration } from '../duration.ts';
import type { GcProgress, GcReport } from './collect.ts';
import { counted, formatBytes } from './format.ts';

export function reportLines(report: GcReport): string[] {
  const dry = report.mode === 'dry-run';
  const verb = dry ? 'would delete' : 'deleted';
  const lines: string[] = [];
  for (const m of report.manifests.items) lines.push(`${verb} untagged manifest ${m.repository}@${m.digest}`);
  for (const m of report.manifestBytes.items)
    lines.push(`${verb} stored bytes of deleted manifest ${m.repository}@${m.digest}`);
  for (const b of report.blobs.items) lines.push(`${verb} blob ${b.digest} (${formatBytes(b.size)})`);
  const parts = [
    ...(report.untagged ? [counted(report.manifests.count, 'untagged manifest')] : []),
    counted(report.uploads.count, 'expired upload'),
    `the stored bytes of ${counted(report.manifestBytes.count, 'deleted manifest')}`,
  ];
  const others = `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  const kept = report.kept.blobs + report.kept.manifests;
  lines.push(`${dry ? 'Would also delete' : 'Also deleted'} ${others}`);
  const young = youngLine(report);
  if (young) lines.push(young);
  if (!dry) {
    if (kept > 0)
      lines.push(`Kept ${counted(kept, 'candidate')} that a push was using or that became referenced`);
    if (report.aborted) lines.push('Stopped early: the run was interrupted');
  }
  lines.push(summaryLine(report));
  return lines;
}

/** The blob total: the report's last line, and the `summary` of POST /admin/gc. */
export function summaryLine(report: GcReport): string {
  const { count, bytes } = report.blobs;
  return report.mode === 'dry-run'
    ? `Would delete ${counted(count, 'unreferenced blob')} (${formatBytes(bytes)})`
    : `Deleted ${counted(count, 'blob')}, reclaimed ${formatBytes(bytes)}`;
}

/** Why unreferenced blobs stayed: pushed or mounted within the grace period (none: undefined). */
export function youngLine(report: GcReport): string | undefined {
  const { count, bytes } = report.youngBlobs;
  if (count === 0) return undefined;
  return (
    `Kept ${counted(count, 'unreferenced blob')} (${formatBytes(bytes)}): ` +
    `younger than the ${formatDuration(report.gracePeriodMs)} grace period`
  );
}

/** Progress on a terminal: one line rewritten in place, at most ten times a second. */
export function terminalProgress(out: NodeJS.WriteStream): {
  update(progress: GcProgress): void;
  clear(): void;
} {
  let last = 0;
  let shown = false;
  return {
    update(progress) {
      const now = Date.now();
      if (now - last < 100 && progress.done !== progress.total) return;
      last = now;
      shown = true;
      if (progress.phase === 'mark') {
        out.write('\r\x1b[Kgc: marking what is reachable…');
        return;
      }
      const percent = progress.total === 0 ? 100 : Math.floor((progress.done / progress.total) * 100);
      out.write(`\r\x1b[Kgc: sweeping ${progress.phase} ${progress.done}/${progress.total} (${percent}%)`);
    },
    clear() {
      if (shown) out.write('\r\x1b[K');
      shown = false;
    },
  };
}
