// Scheduled GC inside `registry serve` (config gc.schedule, a cron expression), retention first:
// each turn applies the retention rules (when there are any), then collects garbage, both under
// the GC lease, so that what retention removed is reclaimed in the same run. Every origin process
// may carry the same schedule: the lease lets one of them run and the others skip that turn.
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { summaryLine as retentionSummary } from '../retention/report.ts';
import type { Retention } from '../retention/retention.ts';
import { collectGarbage, GcBusyError, type GcDependencies } from './collect.ts';
import { CRON_MODE } from './cron.ts';
import { summaryLine } from './report.ts';

export interface GcSchedule {
  /** Stops scheduling; a run in progress stops between two removals and is waited for. */
  stop(): Promise<void>;
}

export function scheduleGc(
  settings: Config['gc'],
  dependencies: GcDependencies,
  log: Logger,
  retention?: Retention,
): GcSchedule | undefined {
  const { schedule, untagged, grace_period } = settings;
  if (!schedule) return undefined;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  const runOnce = async () => {
    const started = performance.now();
    try {
      const report = await collectGarbage(dependencies, {
        mode: 'delete',
        untagged,
        gracePeriodMs: grace_period,
        signal: controller.signal,
        before: retention && (() => applyRetention(retention, log, controller.signal)),
      });
      log.info(
        {
          blobs: report.blobs.count,
          bytes: report.blobs.bytes,
          manifests: report.manifests.count,
          manifest_bytes: report.manifestBytes.count,
          uploads: report.uploads.count,
          duration_ms: Math.round(performance.now() - started),
          aborted: report.aborted,
          young_blobs: report.youngBlobs.count,
        },
        `scheduled gc: ${summaryLine(report)}`,
      );
    } catch (error) {
      if (error instanceof GcBusyError)
        log.info({ holder: error.holder }, 'scheduled gc skipped: another run holds the lease');
      else log.error({ err: error }, 'scheduled gc failed');
    }
  };
  // protect: a turn that comes while the previous run still works is skipped.
  const job = new Cron(schedule, { mode: CRON_MODE, protect: true, unref: true }, async () => {
    running = runOnce();
    await running;
  });
  log.info({ schedule, next: job.nextRun()?.toISOString() }, 'gc scheduled');
  return {
    async stop() {
      job.stop();
      controller.abort();
      await running;
    },
  };
}

/** One retention apply; a failure is logged, and GC goes on (it needs none of it). */
async function applyRetention(retention: Retention, log: Logger, signal: AbortSignal): Promise<void> {
  try {
    const applied = await retention.run('apply', '', { signal });
    if (applied.plan.evaluated.repositories === 0) return;
    log.info(
      {
        tags: applied.plan.tags.length - applied.skipped.tags.length,
        manifests: applied.plan.manifests.length - applied.skipped.manifests.length,
        duration_ms: applied.durationMs,
      },
      `scheduled retention: ${retentionSummary(applied)}`,
    );
  } catch (error) {
    log.error({ err: error }, 'scheduled retention failed');
  }
}
