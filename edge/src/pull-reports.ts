// The pulls this edge serves, reported to origin's last-pull tracking (origin never sees a pull
// answered from the cache). Never on the request path: a pull is noted in the isolate's buffer,
// and the buffer is sent as one JSON batch (shared/pull-report.ts) from waitUntil, PULL_REPORT_DELAY
// after the first pull noted, or at once when it holds PULL_REPORT_BATCH distinct pulls. A batch
// that cannot be delivered is dropped (logged): the isolate may go away at any time, so at most a
// batch is lost either way. Without PULL_REPORT_SECRET nothing is noted or sent.
import { PULL_REPORT_PATH, type PullReport, type ReportedPull } from '../../shared/pull-report.ts';
import type { Services } from './services.ts';

/** Per isolate: one entry per (repository, tag, digest), with its latest time. */
const pending = new Map<string, ReportedPull>();
/**
 * When the pending report's timer was set (wall time, as the timer runs), or 0. A timer whose
 * request's waitUntil was cut short never fires: past its delay and Workers' 30 s, another is set.
 */
let scheduledAt = 0;
const WAIT_UNTIL_LIMIT_MS = 30_000;

/** Notes a manifest pull served to a client; reporting is deferred. */
export function notePull(s: Services, repository: string, digest: string, tag: string | undefined): void {
  const report = s.config.pullReport;
  if (!report) return;
  const at = s.clock.now();
  const key = `${repository}\n${tag ?? ''}\n${digest}`;
  const known = pending.get(key);
  if (!known || known.at < at) pending.set(key, { repository, digest, at, ...(tag ? { tag } : {}) });
  if (pending.size >= report.batch) {
    s.defer(send(s));
    return;
  }
  const wall = Date.now();
  if (scheduledAt !== 0 && wall - scheduledAt < report.delayMs + WAIT_UNTIL_LIMIT_MS) return;
  scheduledAt = wall;
  s.defer(
    new Promise((resolve) => setTimeout(resolve, report.delayMs)).then(() => {
      scheduledAt = 0;
      return send(s);
    }),
  );
}

async function send(s: Services): Promise<void> {
  const report = s.config.pullReport;
  if (!report || pending.size === 0) return;
  const body: PullReport = { pulls: [...pending.values()] };
  pending.clear();
  try {
    const response = await fetch(s.config.originUrl + PULL_REPORT_PATH, {
      method: 'POST',
      headers: { Authorization: `Bearer ${report.secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(s.config.originTimeoutMs),
    });
    await response.arrayBuffer();
    if (response.status !== 202)
      console.warn(`edge: origin refused a report of ${body.pulls.length} pulls: ${response.status}`);
  } catch (error) {
    console.warn(
      `edge: a report of ${body.pulls.length} pulls was not delivered: ${(error as Error).message}`,
    );
  }
}
