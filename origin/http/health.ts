// /healthz (the process is up), /readyz (the database answers and storage takes a write), /metrics.
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';

export function healthz(c: AppContext): Response {
  return c.json({ status: 'ok' });
}

export async function readyz(c: AppContext, s: Services): Promise<Response> {
  const [database, problem] = await Promise.all([s.db.ping(), s.store.writeProblem()]);
  // The reason goes to the log, not to this unauthenticated answer (it names paths and buckets).
  if (problem) s.log.warn({ problem }, `not ready: storage ${problem}`);
  const storage = problem === null;
  const ready = database && storage;
  return c.json({ status: ready ? 'ready' : 'not ready', database, storage }, ready ? 200 : 503);
}

export async function metrics(c: AppContext, s: Services): Promise<Response> {
  return c.body(await s.metrics.registry.metrics(), 200, { 'Content-Type': s.metrics.registry.contentType });
}
