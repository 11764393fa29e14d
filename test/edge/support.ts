// What the edge tests share: an origin with an edge in front of it (through a counting proxy, so
// a test can tell which requests reached origin), tokens fetched from origin's /token as a
// client gets them, and requests to either tier.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, type JWK, SignJWT } from 'jose';
import { type CountingProxy, forward, startCountingProxy } from '../harness/counting-proxy.ts';
import { startTestEdge, type TestEdge, type TestEdgeOptions } from '../harness/edge.ts';
import { startTestRegistry, type TestRegistry, type TestRegistryOptions } from '../harness/registry.ts';

export interface EdgeSetup {
  readonly registry: TestRegistry;
  readonly proxy: CountingProxy;
  readonly edge: TestEdge;
  close(): Promise<void>;
}

export type EdgeSettings = Omit<TestEdgeOptions, 'originUrl' | 'originPublicUrl' | 'service' | 'issuer'>;

/** An edge for `registry`'s tokens and token realm, reaching it at `originUrl` (a proxy in front of it). */
export function startEdgeFor(registry: TestRegistry, originUrl: string, settings: EdgeSettings = {}) {
  const { auth } = registry.running.services.config;
  return startTestEdge({
    originUrl,
    originPublicUrl: registry.url,
    service: auth.service,
    issuer: auth.issuer,
    ...settings,
  });
}

/** origin, a counting proxy in front of it, and the edge reaching origin through the proxy. */
export async function startEdgeSetup(
  settings: EdgeSettings = {},
  origin: TestRegistryOptions = {},
): Promise<EdgeSetup> {
  const registry = await startTestRegistry(origin);
  let proxy: CountingProxy | undefined;
  try {
    proxy = await startCountingProxy(registry.url);
    const edge = await startEdgeFor(registry, proxy.url, settings);
    const opened = proxy;
    let proxyClosed = false;
    return {
      registry,
      proxy: {
        ...opened,
        async close() {
          if (proxyClosed) return;
          proxyClosed = true;
          await opened.close();
        },
      },
      edge,
      async close() {
        await edge.close().catch(() => {});
        if (!proxyClosed) await opened.close().catch(() => {});
        await registry.close();
      },
    };
  } catch (error) {
    await proxy?.close().catch(() => {});
    await registry.close();
    throw error;
  }
}

export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const bearer = (token: string) => `Bearer ${token}`;

/** A token from origin's /token for `scopes` (e.g. `repository:a/b:pull`), as the admin. */
export async function token(registry: TestRegistry, ...scopes: string[]): Promise<string> {
  const url = new URL('/token', registry.url);
  url.searchParams.set('service', registry.running.services.config.auth.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const response = await fetch(url, { headers: { Authorization: basic('admin', 'secret') } });
  if (response.status !== 200) throw new Error(`token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

export const pullToken = (registry: TestRegistry, name: string) => token(registry, `repository:${name}:pull`);

export interface Ask {
  method?: string;
  headers?: Record<string, string>;
  /** An Authorization header value; absent: none. */
  auth?: string;
}

/** A request to `base` (the edge's or origin's URL). */
export function ask(base: string, path: string, options: Ask = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.auth) headers.set('Authorization', options.auth);
  return fetch(`${base}${path}`, { method: options.method ?? 'GET', headers, redirect: 'manual' });
}

/** The headers both tiers must agree on, for comparing an edge answer with origin's. */
export function headersOf(response: Response, names: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((n) => [n, response.headers.get(n)]));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Repeats `probe` every `everyMs` until it returns true or `limitMs` passes; the elapsed ms, or -1. */
export async function within(limitMs: number, probe: () => Promise<boolean>, everyMs = 100): Promise<number> {
  const started = Date.now();
  while (Date.now() - started <= limitMs) {
    if (await probe()) return Date.now() - started;
    await sleep(everyMs);
  }
  return -1;
}

/** origin's signing key, read from its database (the tests forge tokens origin would sign). */
export async function signingKey(registry: TestRegistry): Promise<{ kid: string; privateJwk: JWK }> {
  const [row] = await registry.running.services.db.query<{ id: string; private_jwk: JWK }>(
    'SELECT id, private_jwk FROM signing_keys ORDER BY created_at, id LIMIT 1',
  );
  if (!row) throw new Error('origin has no signing key');
  return { kid: row.id, privateJwk: row.private_jwk };
}

export interface Claims {
  access?: { type: string; name: string; actions: string[] }[];
  iss?: string;
  aud?: string;
  /** Seconds from now (negative: in the past). */
  expiresIn?: number;
  notBeforeIn?: number;
}

/** An ES256 token with `claims`, signed by `key` (a JWK) under `kid`. */
export async function signToken(key: JWK, kid: string, claims: Claims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ access: claims.access ?? [] })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
    .setIssuer(claims.iss ?? 'registry')
    .setSubject('admin')
    .setAudience(claims.aud ?? 'unset')
    .setIssuedAt(now)
    .setNotBefore(now + (claims.notBeforeIn ?? -1))
    .setExpirationTime(now + (claims.expiresIn ?? 300))
    .sign(await importJWK(key, 'ES256'));
}

export type Fault = 'pass' | 'drop' | '502' | { delayMs: number };

export interface FaultyProxy {
  readonly url: string;
  /** Requests seen, as "METHOD path". */
  readonly requests: string[];
  count(method: string, pathIncludes: string): number;
  /** Decides each request's fate (default: pass). */
  fault: (method: string, path: string, seen: number) => Fault;
  close(): Promise<void>;
}

/**
 * Like the counting proxy, but each request may be dropped (the connection destroyed), answered
 * 502, or held back before it is passed on; `seen` counts earlier requests with the same method
 * and path.
 */
export async function startFaultyProxy(target: string): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const agent = new http.Agent({ keepAlive: true });
  const proxy: FaultyProxy = {
    url: '',
    requests,
    count: (method, pathIncludes) =>
      requests.filter((r) => r.startsWith(`${method} `) && r.includes(pathIncludes)).length,
    fault: () => 'pass',
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
  const server = http.createServer(async (req, res) => {
    const line = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const seen = requests.filter((r) => r === line).length;
    requests.push(line);
    const fault = proxy.fault(req.method ?? 'GET', line.slice(line.indexOf(' ') + 1), seen);
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault === '502') {
      res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway');
      return;
    }
    if (typeof fault === 'object') await sleep(fault.delayMs);
    forward(req, res, upstream, agent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}
