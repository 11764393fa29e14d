// Per request: an id, one JSON log line, and the Prometheus request metrics. Both are recorded
// when the Node response closes, so that durations and byte counts (headers included on
// HTTP/1.1) cover streamed bodies.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import type { Services } from '../services.ts';
import { type AppEnv, isHttp2, type NodeResponse, nodeResponse } from './context.ts';

export function observe(s: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.req.header('x-request-id') ?? randomUUID();
    c.set('requestId', requestId);
    c.set('routeLabel', 'other');
    c.set('bytesIn', 0);
    c.set('sentDirectly', false);
    const out = nodeResponse(c);
    const bytesSent = isHttp2(c) ? countBodyBytes(out) : socketBytes(c.env.incoming.socket);
    out.once('close', () => {
      const status = out.statusCode;
      const completed = out.writableFinished;
      const bytesOut = bytesSent();
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
    // (An HTTP/2 stream ends alone: its connection carries on.)
    if (!c.env.incoming.complete && !isHttp2(c)) {
      c.res.headers.set('Connection', 'close');
    }
  };
}

/** HTTP/1.1 answers one request at a time per connection: the socket's counter tells the bytes sent. */
function socketBytes(socket: Socket): () => number {
  const before = socket.bytesWritten;
  return () => socket.bytesWritten - before;
}

/**
 * HTTP/2 carries many answers at once on one connection, whose counter cannot tell them apart: the
 * body bytes written to this answer are counted instead (end() writes its chunk through write()).
 */
function countBodyBytes(out: NodeResponse): () => number {
  let bytes = 0;
  const write = out.write;
  out.write = function countedWrite(this: NodeResponse, ...args: Parameters<NodeResponse['write']>) {
    const [chunk, encoding] = args;
    bytes +=
      typeof chunk === 'string'
        ? Buffer.byteLength(chunk, typeof encoding === 'string' ? encoding : 'utf8')
        : (chunk as Uint8Array).byteLength;
    return write.apply(this, args);
  } as NodeResponse['write'];
  return () => bytes;
}
