// /healthz (the process is up), /readyz (database and storage reachable), /metrics.
import type { Services } from '../services.ts';
import type { AppContext } from './context.ts';

export function healthz(c: AppContext): Response {
  return c.json({ status: 'ok' });
}

export async function readyz(c: AppContext, s: Services): Promise<Response> {
  const [database, storage] = await Promise.all([s.db.ping(), s.store.ping()]);
  const ready = database && storage;
  return c.json({ status: ready ? 'ready' : 'not ready', database, storage }, ready ? 200 : 503);
}

export async function metrics(c: AppContext, s: Services): Promise<Response> {
  return c.body(await s.metrics.registry.metrics(), 200, { 'Content-Type': s.metrics.registry.contentType });
}
