// The origin's HTTP surface: the OCI Distribution API under /v2/, Docker token auth under
// /token, and operations endpoints. Routes under /v2/ are recognised by shared/route.ts, since
// repository names contain slashes; each resource's handlers live in their own module.
import { Hono } from 'hono';
import { errorResponse, OciFailure, ociError } from '../../shared/errors.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import { matchRoute, type Route } from '../../shared/route.ts';
import type { Services } from '../services.ts';
import { adminGc } from './admin.ts';
import { adminAllowlist, adminPolicies, adminVulndbImport, adminWebhooks } from './admin-scanning.ts';
import { authenticate, authorize, type Requirement } from './authorize.ts';
import { deleteBlob, getBlob } from './blobs.ts';
import { catalogHandler } from './catalog.ts';
import type { AppContext, AppEnv } from './context.ts';
import { healthz, metrics, readyz } from './health.ts';
import { deleteManifest, getManifest, putManifest } from './manifests.ts';
import { observe } from './observe.ts';
import { referrersHandler } from './referrers.ts';
import { getScan, getScanSummary, postScan } from './scans.ts';
import { listTagsHandler } from './tags.ts';
import { getToken, jwks, postToken } from './token.ts';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.ts';

type Handler = (c: AppContext) => Promise<Response>;

interface Endpoint {
  readonly requirement: Requirement;
  readonly handle: Handler;
}

const unsupported = (method: string, route: Route) =>
  new OciFailure(ociError('UNSUPPORTED', { message: `${method} is not supported on ${route.kind}` }));

/** The endpoint for a route and method: what it requires of the caller, and its handler. */
function endpoint(s: Services, route: Route, method: string): Endpoint {
  const read = method === 'GET' || method === 'HEAD';
  switch (route.kind) {
    case 'base':
      if (!read) break;
      return { requirement: { kind: 'authenticated' }, handle: async (c) => c.json({}) };
    case 'catalog':
      if (method !== 'GET') break;
      return { requirement: { kind: 'catalog' }, handle: (c) => catalogHandler(c, s) };
    case 'tags': {
      if (method !== 'GET') break;
      const { name } = route;
      return {
        requirement: { kind: 'repository', name, action: 'pull' },
        handle: (c) => listTagsHandler(c, s, name),
      };
    }
    case 'manifest': {
      const { name, reference } = route;
      if (read) return { requirement: pull(name), handle: (c) => getManifest(c, s, name, reference) };
      if (method === 'PUT')
        return { requirement: push(name), handle: (c) => putManifest(c, s, name, reference) };
      if (method === 'DELETE')
        return { requirement: del(name), handle: (c) => deleteManifest(c, s, name, reference) };
      break;
    }
    case 'blob': {
      const { name, digest } = route;
      if (read) return { requirement: pull(name), handle: (c) => getBlob(c, s, name, digest) };
      if (method === 'DELETE')
        return { requirement: del(name), handle: (c) => deleteBlob(c, s, name, digest) };
      break;
    }
    case 'uploads':
      if (method !== 'POST') break;
      return { requirement: push(route.name), handle: (c) => startUpload(c, s, route.name) };
    case 'upload': {
      const { name, uploadId } = route;
      const handlers: Record<string, Handler> = {
        GET: (c) => uploadStatus(c, s, name, uploadId),
        PATCH: (c) => patchUpload(c, s, name, uploadId),
        PUT: (c) => finishUpload(c, s, name, uploadId),
        DELETE: (c) => cancelUpload(c, s, name, uploadId),
      };
      const handle = handlers[method];
      if (handle) return { requirement: push(name), handle };
      break;
    }
    case 'referrers': {
      if (method !== 'GET') break;
      const { name, digest } = route;
      return { requirement: pull(name), handle: (c) => referrersHandler(c, s, name, digest) };
    }
    case 'manifest-scan': {
      const { name, reference } = route;
      if (read) return { requirement: pull(name), handle: (c) => getScan(c, s, name, reference) };
      if (method === 'POST')
        return { requirement: push(name), handle: (c) => postScan(c, s, name, reference) };
      break;
    }
    case 'scan-summary': {
      if (!read) break;
      const { name } = route;
      return { requirement: pull(name), handle: (c) => getScanSummary(c, s, name) };
    }
  }
  throw unsupported(method, route);
}

const pull = (name: string): Requirement => ({ kind: 'repository', name, action: 'pull' });
const push = (name: string): Requirement => ({ kind: 'repository', name, action: 'push' });
const del = (name: string): Requirement => ({ kind: 'repository', name, action: 'delete' });

async function dispatchV2(c: AppContext, s: Services): Promise<Response> {
  // No name, reference, digest or parameter may hold a NUL (PostgreSQL refuses it in text).
  if (decodeURIComponentSafe(c.req.url).includes('\u0000')) {
    throw new OciFailure(ociError('UNSUPPORTED', { status: 400, message: 'the URL must not contain NUL' }));
  }
  const route = matchRoute(c.req.path);
  if (!route) return c.text('404 page not found\n', 404);
  c.set('routeLabel', route.kind);
  if ('name' in route && !isRepositoryName(route.name)) {
    throw new OciFailure(ociError('NAME_INVALID', { detail: { name: route.name } }));
  }
  const target = endpoint(s, route, c.req.method);
  const authn = await authenticate(
    s,
    c.req.header('authorization'),
    target.requirement,
    c.env.incoming.socket.remoteAddress ?? 'unknown',
  );
  if (!authn.ok) throw new OciFailure(authn.error);
  c.set('principal', authn.principal);
  const denied = authorize(s, authn.principal, target.requirement);
  if (denied) throw new OciFailure(denied);
  return target.handle(c);
}

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function createApp(s: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', observe(s));
  app.use('/v2/*', async (c, next) => {
    await next();
    if (!c.get('sentDirectly')) c.res.headers.set('Docker-Distribution-API-Version', 'registry/2.0');
  });
  app.get('/healthz', (c) => healthz(c));
  app.get('/readyz', (c) => readyz(c, s));
  app.get('/metrics', (c) => metrics(c, s));
  app.get('/token', (c) => getToken(c, s));
  app.post('/token', (c) => postToken(c, s));
  app.get('/token/jwks.json', (c) => jwks(c, s));
  app.post('/admin/gc', (c) => adminGc(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/policies', (c) => adminPolicies(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/allowlist', (c) => adminAllowlist(c, s));
  app.on(['GET', 'POST'], '/admin/webhooks', (c) => adminWebhooks(c, s));
  app.delete('/admin/webhooks/:id', (c) => adminWebhooks(c, s));
  app.get('/admin/webhooks/:id/deliveries', (c) => adminWebhooks(c, s));
  app.post('/admin/vulndb/import', (c) => adminVulndbImport(c, s));
  app.all('/v2', (c) => dispatchV2(c, s));
  app.all('/v2/*', (c) => dispatchV2(c, s));
  app.notFound((c) => c.text('404 page not found\n', 404));
  app.onError((error, c) => {
    if (error instanceof OciFailure) return errorResponse(error.error, c.req.method);
    s.log.error({ err: error, request_id: c.get('requestId'), path: c.req.path }, 'request failed');
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal server error' }] }, 500);
  });
  return app;
}
