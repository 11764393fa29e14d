// The origin's HTTP surface: the OCI Distribution API under /v2/, Docker token auth under
// /token, and operations endpoints. Routes under /v2/ are recognised by shared/route.ts, since
// repository names contain slashes; each resource's handlers live in their own module.
import { type Context, Hono } from 'hono';
import { API_VERSION, API_VERSION_HEADER } from '../../shared/api-version.ts';
import { JWKS_PATH } from '../../shared/bearer-token.ts';
import { TOKEN_PATH } from '../../shared/challenge.ts';
import { errorResponse, OciFailure, ociError } from '../../shared/errors.ts';
import { PULL_REPORT_PATH } from '../../shared/pull-report.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import { type HttpMethod, type Requirement, requirementFor } from '../../shared/requirement.ts';
import { matchRoute, type Route, type RouteKind } from '../../shared/route.ts';
import { consoleApp } from '../console/console-app.ts';
import type { Services } from '../services.ts';
import { Unavailable } from '../unavailable.ts';
import { adminGc } from './admin.ts';
import { adminAudit } from './admin-audit.ts';
import { adminImmutableTags } from './admin-immutable-tags.ts';
import { adminQuotas, adminUsage } from './admin-quotas.ts';
import { adminRepositories, adminRepositoryTags } from './admin-repositories.ts';
import { adminRetention, adminRetentionRun } from './admin-retention.ts';
import { adminRobots } from './admin-robots.ts';
import {
  adminAllowlist,
  adminPolicies,
  adminVulndb,
  adminVulndbImport,
  adminVulndbUpdate,
  adminWebhooks,
} from './admin-scanning.ts';
import { authenticate, authorize } from './authorize.ts';
import { deleteBlob, getBlob } from './blobs.ts';
import { catalogHandler } from './catalog.ts';
import type { AppContext, AppEnv } from './context.ts';
import { healthz, metrics, readyz } from './health.ts';
import { deleteManifest, getManifest, putManifest } from './manifests.ts';
import { observe } from './observe.ts';
import { postPullReport } from './pull-reports.ts';
import { referrersHandler } from './referrers.ts';
import { getScan, getScanSummary, postScan } from './scans.ts';
import { listTagsHandler } from './tags.ts';
import { getToken, jwks, postToken } from './token.ts';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.ts';

type Handler<K extends RouteKind> = (
  c: AppContext,
  s: Services,
  route: Extract<Route, { kind: K }>,
) => Promise<Response>;

/**
 * The handler of each route and method. What each requires of the caller is shared/requirement.ts's
 * table (the edge decides from it too); the two list the same methods (test/unit/shared.test.ts).
 */
export const HANDLERS: { readonly [K in RouteKind]: Readonly<Partial<Record<HttpMethod, Handler<K>>>> } = {
  base: { GET: async (c) => c.json({}), HEAD: async (c) => c.json({}) },
  catalog: { GET: (c, s) => catalogHandler(c, s) },
  tags: { GET: (c, s, r) => listTagsHandler(c, s, r.name) },
  manifest: {
    GET: (c, s, r) => getManifest(c, s, r.name, r.reference),
    HEAD: (c, s, r) => getManifest(c, s, r.name, r.reference),
    PUT: (c, s, r) => putManifest(c, s, r.name, r.reference),
    DELETE: (c, s, r) => deleteManifest(c, s, r.name, r.reference),
  },
  blob: {
    GET: (c, s, r) => getBlob(c, s, r.name, r.digest),
    HEAD: (c, s, r) => getBlob(c, s, r.name, r.digest),
    DELETE: (c, s, r) => deleteBlob(c, s, r.name, r.digest),
  },
  uploads: { POST: (c, s, r) => startUpload(c, s, r.name) },
  upload: {
    GET: (c, s, r) => uploadStatus(c, s, r.name, r.uploadId),
    PATCH: (c, s, r) => patchUpload(c, s, r.name, r.uploadId),
    PUT: (c, s, r) => finishUpload(c, s, r.name, r.uploadId),
    DELETE: (c, s, r) => cancelUpload(c, s, r.name, r.uploadId),
  },
  referrers: { GET: (c, s, r) => referrersHandler(c, s, r.name, r.digest) },
  'manifest-scan': {
    GET: (c, s, r) => getScan(c, s, r.name, r.reference),
    HEAD: (c, s, r) => getScan(c, s, r.name, r.reference),
    POST: (c, s, r) => postScan(c, s, r.name, r.reference),
  },
  'scan-summary': {
    GET: (c, s, r) => getScanSummary(c, s, r.name),
    HEAD: (c, s, r) => getScanSummary(c, s, r.name),
  },
};

/** The endpoint for a route and method: what it requires of the caller, and its handler. */
function endpoint(
  route: Route,
  method: string,
  query: URLSearchParams,
): { requirement: Requirement; handle: Handler<RouteKind> } {
  const requirement = requirementFor(route, method, query);
  // The table's entry for this route's kind takes this route: the kinds are the same.
  const handlers: Partial<Record<string, Handler<RouteKind>>> = HANDLERS[route.kind] as Partial<
    Record<string, Handler<RouteKind>>
  >;
  const handle = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
  if (!requirement || !handle) {
    throw new OciFailure(ociError('UNSUPPORTED', { message: `${method} is not supported on ${route.kind}` }));
  }
  return { requirement, handle };
}

/** No such endpoint (or no such method on one): an OCI error body too, as on every other answer. */
function noSuchEndpoint(c: Context): Response {
  const message = `no such endpoint: ${c.req.method} ${c.req.path}`;
  return errorResponse(ociError('UNSUPPORTED', { status: 404, message }), c.req.method);
}

async function dispatchV2(c: AppContext, s: Services): Promise<Response> {
  // No name, reference, digest or parameter may hold a NUL (PostgreSQL refuses it in text).
  if (decodeURIComponentSafe(c.req.url).includes('\u0000')) {
    throw new OciFailure(ociError('UNSUPPORTED', { status: 400, message: 'the URL must not contain NUL' }));
  }
  const route = matchRoute(c.req.path);
  if (!route) return noSuchEndpoint(c);
  c.set('routeLabel', route.kind);
  if ('name' in route && !isRepositoryName(route.name)) {
    throw new OciFailure(ociError('NAME_INVALID', { detail: { name: route.name } }));
  }
  const target = endpoint(route, c.req.method, new URL(c.req.url).searchParams);
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
  return target.handle(c, s, route);
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
    if (!c.get('sentDirectly')) c.res.headers.set(API_VERSION_HEADER, API_VERSION);
  });
  app.get('/healthz', (c) => healthz(c));
  app.get('/readyz', (c) => readyz(c, s));
  app.get('/metrics', (c) => metrics(c, s));
  app.get(TOKEN_PATH, (c) => getToken(c, s));
  app.post(TOKEN_PATH, (c) => postToken(c, s));
  app.get(JWKS_PATH, (c) => jwks(c, s));
  app.post('/admin/gc', (c) => adminGc(c, s));
  app.get('/admin/audit', (c) => adminAudit(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/policies', (c) => adminPolicies(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/allowlist', (c) => adminAllowlist(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/immutable-tags', (c) => adminImmutableTags(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/quotas', (c) => adminQuotas(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/quotas/*', (c) => adminQuotas(c, s));
  app.get('/admin/usage', (c) => adminUsage(c, s));
  app.on(['GET', 'PUT', 'DELETE'], '/admin/retention', (c) => adminRetention(c, s));
  app.post('/admin/retention/run', (c) => adminRetentionRun(c, s));
  app.on(['GET', 'POST'], '/admin/webhooks', (c) => adminWebhooks(c, s));
  app.delete('/admin/webhooks/:id', (c) => adminWebhooks(c, s));
  app.get('/admin/webhooks/:id/deliveries', (c) => adminWebhooks(c, s));
  app.post('/admin/vulndb/import', (c) => adminVulndbImport(c, s));
  app.get('/admin/vulndb', (c) => adminVulndb(c, s));
  app.post('/admin/vulndb/update', (c) => adminVulndbUpdate(c, s));
  app.get('/admin/repositories', (c) => adminRepositories(c, s));
  // Repository names hold slashes: the handler reads the name and the endpoint from the path.
  app.get('/admin/repositories/*', (c) => adminRepositoryTags(c, s));
  app.on(['GET', 'POST'], '/admin/robots', (c) => adminRobots(c, s));
  app.delete('/admin/robots/:name', (c) => adminRobots(c, s));
  app.route('/', consoleApp(s));
  // A browser opening the registry's address lands on the console; clients get the API's 404.
  app.get('/', (c) =>
    (c.req.header('accept') ?? '').includes('text/html') ? c.redirect('/ui/', 302) : noSuchEndpoint(c),
  );
  app.post(PULL_REPORT_PATH, (c) => postPullReport(c, s));
  app.all('/v2', (c) => dispatchV2(c, s));
  app.all('/v2/*', (c) => dispatchV2(c, s));
  app.notFound(noSuchEndpoint);
  app.onError((error, c) => {
    if (error instanceof OciFailure) return errorResponse(error.error, c.req.method);
    if (error instanceof Unavailable) {
      // Not a defect of the registry: a part it needs is down (said once per request, no stack).
      s.log.warn({ request_id: c.get('requestId'), path: c.req.path, err: error.message }, 'request failed');
      const message = `${error.dependency === 'database' ? 'the database' : 'the blob store'} is unavailable, try again`;
      return errorResponse(ociError('UNAVAILABLE', { message }), c.req.method);
    }
    s.log.error({ err: error, request_id: c.get('requestId'), path: c.req.path }, 'request failed');
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal server error' }] }, 500);
  });
  return app;
}
