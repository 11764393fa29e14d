// An HTTP proxy in front of a real server that counts the requests passing through it, so that
// a test can tell how often the registry went to S3.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingProxy {
  readonly url: string;
  /** Requests seen, as "METHOD path" (without the query). */
  readonly requests: string[];
  count(method: string, pathIncludes: string): number;
  /** Sends later requests to `target` instead (another server behind the same address). */
  retarget(target: string): void;
  close(): Promise<void>;
}

/**
 * Passes `req` on to `upstream` through `agent` and its answer back on `res` (destroyed when
 * upstream fails). The Host header is passed on as it is: the request was signed for it.
 */
export function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  upstream: URL,
  agent: http.Agent,
): void {
  const request = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  request.on('error', () => res.destroy());
  req.pipe(request);
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  let upstream = new URL(target);
  const requests: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${(req.url ?? '').split('?')[0]}`);
    forward(req, res, upstream, agent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    count: (method, pathIncludes) =>
      requests.filter((r) => r.startsWith(`${method} `) && r.includes(pathIncludes)).length,
    retarget(to) {
      upstream = new URL(to);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}
