// Per request: an id, one JSON log line, and the Prometheus request metrics. Both are recorded
// when the Node response closes, so that durations and byte counts (headers included) cover
// streamed bodies.
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
    c.set('sentDirectly', false);
    const out = c.env.outgoing;
    // HTTP/1.1 answers one request at a time per connection: the socket's counter tells the bytes sent.
    const socket = c.env.incoming.socket;
    const writtenBefore = socket.bytesWritten;
    out.once('close', () => {
      const status = out.statusCode;
      const completed = out.writableFinished;
      const bytesOut = socket.bytesWritten - writtenBefore;
      const seconds = (performance.now() - started) / 1000;
      const route = c.get('routeLabel');
      const method = c.req.method;
      s.metrics.requests.inc({ route, method, status: String(status) });
      s.metrics.duration.observe({ route, method }, seconds);
      s.metrics.bytesIn.inc(c.get('bytesIn'));
      s.metrics.bytesOut.inc(bytesOut);
      s.log.info(
        {
          request_id: requestId,
          method,
          path: c.req.path,
          route,
          status,
          ...(completed ? {} : { aborted: true }),
          duration_ms: Math.round(seconds * 10_000) / 10,
          bytes_in: c.get('bytesIn'),
          bytes_out: bytesOut,
          user: c.get('principal')?.user ?? null,
          user_agent: c.req.header('user-agent'),
        },
        'request',
      );
    });
    await next();
    if (c.get('sentDirectly')) return;
    c.res.headers.set('X-Request-Id', requestId);
    // Answered before its body was read (refused, or failed part-way): the rest of the body is
    // still on the connection, so it cannot carry another request. Close it after this answer.
    if (!c.env.incoming.complete) {
      c.res.headers.set('Connection', 'close');
    }
  };
}
