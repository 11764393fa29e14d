// Requests to origin. Metadata requests (manifests, link checks, tags, keys) are read whole within
// a timeout; blob ranges stream (the timeout covers their headers); everything the edge does not
// serve is passed through as it is. "Unavailable" — a network error, a timeout or a 5xx — is
// what lets callers fall back to what they have cached. The timeouts are wall-clock timers (not the
// edge's Clock): they bound real network waits.
import type { EdgeConfig } from './config.ts';

export interface OriginAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export type Fetched =
  | { readonly ok: true; readonly answer: OriginAnswer }
  /** Origin could not be reached, or answered 5xx (then `answer` is what it said). */
  | { readonly ok: false; readonly reason: string; readonly answer?: OriginAnswer };

export type Streamed =
  | { readonly ok: true; readonly response: Response }
  | { readonly ok: false; readonly reason: string; readonly response?: Response };

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), and Host. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
];

export class OriginClient {
  private readonly config: EdgeConfig;
  private readonly clientAddress: string | null;

  constructor(config: EdgeConfig, clientAddress: string | null) {
    this.config = config;
    this.clientAddress = clientAddress;
  }

  private headers(init: HeadersInit | undefined): Headers {
    const headers = new Headers(init);
    if (this.clientAddress) headers.set('X-Forwarded-For', this.clientAddress);
    return headers;
  }

  /** A small request, read whole; `path` starts with `/`. */
  async fetch(path: string, init: { method?: string; headers?: HeadersInit } = {}): Promise<Fetched> {
    try {
      const response = await fetch(this.config.originUrl + path, {
        method: init.method ?? 'GET',
        headers: this.headers(init.headers),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.originTimeoutMs),
      });
      const answer: OriginAnswer = {
        status: response.status,
        headers: response.headers,
        body: new Uint8Array(await response.arrayBuffer()),
      };
      if (answer.status >= 500) return { ok: false, reason: `origin answered ${answer.status}`, answer };
      return { ok: true, answer };
    } catch (error) {
      return { ok: false, reason: `origin unreachable: ${(error as Error).message}` };
    }
  }

  /**
   * Bytes `start`–`end` (inclusive) of a blob, streamed. origin may redirect blob GETs to its
   * storage (a presigned URL): that is followed without the client's credentials.
   */
  async fetchBlobRange(
    name: string,
    digest: string,
    start: number,
    end: number,
    authorization: string | undefined,
  ): Promise<Streamed> {
    const range = `bytes=${start}-${end}`;
    const headers: Record<string, string> = { Range: range };
    if (authorization) headers.Authorization = authorization;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error('no answer in time')),
      this.config.originTimeoutMs,
    );
    try {
      let response = await fetch(`${this.config.originUrl}/v2/${name}/blobs/${digest}`, {
        headers: this.headers(headers),
        redirect: 'manual',
        signal: controller.signal,
      });
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.body?.cancel();
        response = await fetch(new URL(location, this.config.originUrl), {
          headers: { Range: range },
          signal: controller.signal,
        });
      }
      if (response.status >= 500)
        return { ok: false, reason: `origin answered ${response.status}`, response };
      return { ok: true, response };
    } catch (error) {
      return { ok: false, reason: `origin unreachable: ${(error as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Passes the request to origin and its answer back, bodies streamed both ways. */
  async proxy(request: Request): Promise<Streamed> {
    const url = new URL(request.url);
    const headers = this.headers(request.headers);
    for (const name of HOP_BY_HOP) headers.delete(name);
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
    try {
      const response = await fetch(this.config.originUrl + url.pathname + url.search, {
        method: request.method,
        headers,
        body: hasBody ? request.body : null,
        redirect: 'manual',
      });
      return { ok: true, response };
    } catch (error) {
      return { ok: false, reason: `origin unreachable: ${(error as Error).message}` };
    }
  }
}

/** origin's answer, as the client's answer (a HEAD gets the headers only). */
export function passThrough(answer: OriginAnswer, method: string): Response {
  const headers = new Headers(answer.headers);
  // fetch() has already decoded the body and framed it anew.
  for (const name of ['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'])
    headers.delete(name);
  const body = method === 'HEAD' || answer.status === 204 || answer.status === 304 ? null : answer.body;
  if (body) headers.set('Content-Length', String(body.byteLength));
  return new Response(body, { status: answer.status, headers });
}
