// A GC report as the CLI prints it: one line per item, then the totals, the blob total last.
import type { GcProgress, GcReport } from './collect.ts';
import { formatBytes } from './format.ts';

export function reportLines(report: GcReport): string[] {
  const dry = report.mode === 'dry-run';
  const verb = dry ? 'would delete' : 'deleted';
  const lines: string[] = [];
  for (const m of report.manifests.items) lines.push(`${verb} untagged manifest ${m.repository}@${m.digest}`);
  for (const m of report.manifestBytes.items)
    lines.push(`${verb} stored bytes of deleted manifest ${m.repository}@${m.digest}`);
  for (const b of report.blobs.items) lines.push(`${verb} blob ${b.digest} (${formatBytes(b.size)})`);
  const parts = [
    ...(report.untagged ? [`${report.manifests.count} untagged manifests`] : []),
    `${report.uploads.count} expired uploads`,
    `the stored bytes of ${report.manifestBytes.count} deleted manifests`,
  ];
  const others = `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  const kept = report.kept.blobs + report.kept.manifests;
  if (dry) {
    lines.push(`Would also delete ${others}`);
    lines.push(`Would delete ${report.blobs.count} unreferenced blobs (${formatBytes(report.blobs.bytes)})`);
  } else {
    lines.push(`Also deleted ${others}`);
    if (kept > 0) lines.push(`Kept ${kept} candidates that a push was using or that became referenced`);
    if (report.aborted) lines.push('Stopped early: the run was interrupted');
    lines.push(`Deleted ${report.blobs.count} blobs, reclaimed ${formatBytes(report.blobs.bytes)}`);
  }
  return lines;
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
