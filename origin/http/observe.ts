// Per request: an id, one JSON log line, and the Prometheus request metrics.
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Services } from '../services.ts';
import type { AppEnv } from './context.ts';

export function observe(s: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.req.header('x-request-id') ?? randomUUID();
    c.set('requestId', requestId);
    c.set('routeLabel', 'other');
    c.set('bytesIn', 0);
    c.set('direct', undefined);
    await next();
    const direct = c.get('direct');
    if (!direct) c.res.headers.set('X-Request-Id', requestId);
    const status = direct?.status ?? c.res.status;
    const bytesOut = direct?.bytes ?? Number(c.res.headers.get('content-length') ?? 0);
    const seconds = (performance.now() - started) / 1000;
    const route = c.get('routeLabel');
    const method = c.req.method;
    s.metrics.requests.inc({ route, method, status: String(status) });
    s.metrics.duration.observe({ route, method }, seconds);
    s.metrics.bytesIn.inc(c.get('bytesIn'));
    if (c.req.method !== 'HEAD') s.metrics.bytesOut.inc(bytesOut);
    s.log.info(
      {
        request_id: requestId,
        method,
        path: c.req.path,
        route,
        status,
        duration_ms: Math.round(seconds * 10_000) / 10,
        bytes_in: c.get('bytesIn'),
        bytes_out: bytesOut,
        user: c.get('principal')?.user ?? null,
        user_agent: c.req.header('user-agent'),
      },
      'request',
    );
  };
}
