// The edge's HTTP surface: the read path of the OCI Distribution API (GET/HEAD of /v2/, manifests
// and blobs, GET of tags lists) answered here, with the caller's token verified locally; every
// other request (pushes, deletes, catalog, referrers, scans, /token, /admin) passed to origin.
// /v2/ paths are recognised by shared/route.ts, as origin does. Requests whose name, reference or
// digest is not of a valid form go to origin too, which answers them exactly (400 for an invalid
// name or a malformed blob digest, 404 for a reference or digest that can name nothing there).
// A manifest PUT or DELETE passed to origin renews the repository's generation before its answer
// goes back (generation.ts), so the next pull through this data centre sees the write.
// Under test only (the TEST_CLOCK binding), TEST_CLOCK_PATH moves the edge's clock (clock.ts).
import { Hono } from 'hono';
import { API_VERSION, API_VERSION_HEADER } from '../../shared/api-version.ts';
import { TEST_CLOCK_PATH } from '../../shared/clock.ts';
import { isDigest } from '../../shared/digest.ts';
import { errorResponse, OciFailure, ociError } from '../../shared/errors.ts';
import { isRepositoryName, parseReference } from '../../shared/reference.ts';
import { type Requirement, requirementFor } from '../../shared/requirement.ts';
import { matchRoute, type Route } from '../../shared/route.ts';
import { authorize } from './auth.ts';
import { getBlob } from './blobs.ts';
import { moveTestClock, testClockEnabled } from './clock.ts';
import type { Env } from './config.ts';
import { renewGeneration } from './generation.ts';
import { getManifest } from './manifests.ts';
import { createServices, type Services } from './services.ts';
import { getTags } from './tags.ts';

type EdgeEnv = { Bindings: Env; Variables: { services: Services } };

type Handler = (s: Services, request: Request) => Promise<Response | 'proxy'>;

interface Served {
  readonly requirement: Requirement;
  readonly handle: Handler;
}

const header = (request: Request, name: string) => request.headers.get(name) ?? undefined;

/** The handler of a read the edge answers itself; undefined: origin answers. */
function handlerFor(request: Request, route: Route): Handler | undefined {
  const method = request.method;
  switch (route.kind) {
    case 'base':
      return async () =>
        new Response(method === 'HEAD' ? null : '{}', {
          headers: { 'Content-Type': 'application/json', [API_VERSION_HEADER]: API_VERSION },
        });
    case 'manifest': {
      const { name, reference } = route;
      if (!parseReference(reference)) return undefined;
      return (s) =>
        getManifest(s, {
          name,
          reference,
          method,
          accept: header(request, 'accept'),
          ifNoneMatch: header(request, 'if-none-match'),
          authorization: header(request, 'authorization'),
        });
    }
    case 'blob': {
      const { name, digest } = route;
      if (!isDigest(digest)) return undefined;
      return (s) =>
        getBlob(s, {
          name,
          digest,
          method,
          range: header(request, 'range'),
          ifNoneMatch: header(request, 'if-none-match'),
          authorization: header(request, 'authorization'),
        });
    }
    case 'tags':
      if (method !== 'GET') return undefined;
      return (s) => getTags(s, route.name, new URL(request.url).search, header(request, 'authorization'));
    default:
      return undefined;
  }
}

/** What the edge serves itself, required of the caller as origin requires it; undefined: origin answers. */
function served(request: Request, path: string): Served | undefined {
  const method = request.method;
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const route = matchRoute(path);
  if (!route) return undefined;
  if ('name' in route && !isRepositoryName(route.name)) return undefined;
  const requirement = requirementFor(route, method, new URL(request.url).searchParams);
  const handle = requirement ? handlerFor(request, route) : undefined;
  return requirement && handle ? { requirement, handle } : undefined;
}

/** The repository whose tags `request` may change at origin (a manifest PUT or DELETE). */
function tagWriteTarget(request: Request, path: string): string | undefined {
  if (request.method !== 'PUT' && request.method !== 'DELETE') return undefined;
  const route = matchRoute(path);
  return route?.kind === 'manifest' && isRepositoryName(route.name) ? route.name : undefined;
}

async function proxy(s: Services, request: Request, path: string): Promise<Response> {
  const result = await s.origin.proxy(request);
  const written = tagWriteTarget(request, path);
  // Origin made the change (2xx), or may have (no answer, or a 5xx after its commit). A refusal
  // changed nothing and renews nothing: refused writes cannot empty the cache.
  const status = result.ok ? result.response.status : 0;
  if (written && (!result.ok || (status >= 200 && status < 300) || status >= 500))
    await renewGeneration(s, written);
  if (result.ok) return result.response;
  return errorResponse(
    ociError('UNAVAILABLE', { message: `origin is unreachable: ${result.reason}` }),
    request.method,
  );
}

export function createApp(): Hono<EdgeEnv> {
  const app = new Hono<EdgeEnv>();
  app.use('*', async (c, next) => {
    c.set('services', createServices(c.env, c.executionCtx, c.req.raw));
    await next();
  });
  app.use(TEST_CLOCK_PATH, async (c, next) => {
    if (!testClockEnabled(c.env)) return next();
    return moveTestClock(c.req.raw);
  });
  app.all('*', async (c) => {
    const s = c.get('services');
    const request = c.req.raw;
    const endpoint = served(request, c.req.path);
    if (!endpoint) return proxy(s, request, c.req.path);
    const refused = await authorize(
      header(request, 'authorization'),
      endpoint.requirement,
      s.config,
      s.keys,
      {
        origin: s.origin,
        meta: s.meta,
        defer: s.defer,
        clock: s.clock,
        waitMs: s.config.originTimeoutMs,
      },
    );
    if (refused) return errorResponse(refused, request.method);
    const response = await endpoint.handle(s, request);
    return response === 'proxy' ? proxy(s, request, c.req.path) : response;
  });
  app.onError((error, c) => {
    if (error instanceof OciFailure) return errorResponse(error.error, c.req.method);
    console.error('edge: request failed', c.req.method, c.req.path, error);
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal server error' }] }, 500);
  });
  return app;
}
