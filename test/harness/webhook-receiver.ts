// An HTTP endpoint that records the webhook deliveries it receives (event, signature, body).
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface WebhookReceiver {
  url: string;
  received: { event: string; signature: string; body: string }[];
  /** The first delivery about this repository is answered 500 (then 204, as every other one). */
  failFirstFor: string | null;
  /** The parsed bodies received so far of one event type. */
  payloads(event: string): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hook: Pick<WebhookReceiver, 'received' | 'failFirstFor'> = { received: [], failFirstFor: null };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hook.received.push({
        event: String(req.headers['x-registry-event']),
        signature: String(req.headers['x-registry-signature-256']),
        body,
      });
      const failing = hook.failFirstFor !== null && JSON.parse(body).repository === hook.failFirstFor;
      if (failing) hook.failFirstFor = null;
      res.statusCode = failing ? 500 : 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  // The same object the server reads, so that a test's changes reach it.
  return Object.assign(hook, {
    url: `http://127.0.0.1:${address.port}/hook`,
    payloads: (event: string) =>
      hook.received
        .filter((r) => r.event === event)
        .map((r) => JSON.parse(r.body) as Record<string, unknown>),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
