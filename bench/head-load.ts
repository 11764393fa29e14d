// A minimal closed-loop HTTP/1.1 load generator for HEAD requests, because wrk 4.1 cannot do
// them: its response parser does not know the request was HEAD and waits for the body that a
// Content-Length announces (every HEAD blob answer has one), so it counts no request at all.
// Each connection sends one request, reads the answer's head, then sends the next (keep-alive),
// like wrk; the result has wrk's shape.
import net from 'node:net';
import type { WrkResult } from './wrk.ts';

export interface HeadLoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly seconds: number;
}

export async function headLoad(options: HeadLoadOptions): Promise<WrkResult> {
  const url = new URL(options.url);
  const lines = [`HEAD ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: keep-alive'];
  for (const [name, value] of Object.entries(options.headers)) lines.push(`${name}: ${value}`);
  const request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;

  const connection = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      let pending = '';
      let sentAt = 0;
      const send = () => {
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending += chunk.toString('latin1');
        for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          const now = performance.now();
          if (/^HTTP\/1\.[01] 2\d\d /.test(head)) latencies.push(now - sentAt);
          else errors++;
          if (now < deadline) send();
          else socket.end();
        }
      });
      socket.on('error', () => {
        errors++;
      });
      socket.on('close', () => resolve());
      // Backstop: a connection that stops answering is closed shortly after the deadline.
      setTimeout(() => socket.destroy(), options.seconds * 1000 + 10_000).unref();
    });

  await Promise.all(Array.from({ length: options.connections }, connection));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    requestsPerSecond: latencies.length / elapsed,
    p50Ms: at(50),
    p99Ms: at(99),
    requests: latencies.length,
    errors,
    output: `${latencies.length} HEAD requests in ${elapsed.toFixed(2)} s, ${errors} errors`,
  };
}
