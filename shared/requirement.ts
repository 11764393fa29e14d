// What each API endpoint requires of its caller, by route and method: both tiers decide from this
// one table (origin for every request, the edge for the reads it answers itself).
import { isRepositoryName } from './reference.ts';
import type { Route, RouteKind } from './route.ts';
import { type AccessEntry, accessAllows, type RepositoryAction } from './scope.ts';

/** An action on a repository. */
export interface RepositoryGrant {
  readonly name: string;
  readonly action: RepositoryAction;
}

export type Requirement =
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'catalog' }
  /** The /admin endpoints (origin only): an administrator, or a token granting registry:admin:*. */
  | { readonly kind: 'admin' }
  | {
      readonly kind: 'repository';
      readonly name: string;
      readonly action: RepositoryAction;
      /**
       * What the request can use but does not need: a mount's pull on its source repository. The
       * challenge asks for it too, so a client that follows the challenge gets a token that mounts;
       * a caller without it is still served (a mount it may not make becomes a plain upload).
       */
      readonly wanted?: RepositoryGrant;
    };

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

type Need = 'authenticated' | 'catalog' | RepositoryAction;

/** A method not listed for a route is unsupported there (405 UNSUPPORTED). */
export const REQUIREMENTS: { readonly [K in RouteKind]: Readonly<Partial<Record<HttpMethod, Need>>> } = {
  base: { GET: 'authenticated', HEAD: 'authenticated' },
  catalog: { GET: 'catalog' },
  tags: { GET: 'pull' },
  manifest: { GET: 'pull', HEAD: 'pull', PUT: 'push', DELETE: 'delete' },
  blob: { GET: 'pull', HEAD: 'pull', DELETE: 'delete' },
  uploads: { POST: 'push' },
  // Every step of an upload is part of a push, its status included.
  upload: { GET: 'push', PATCH: 'push', PUT: 'push', DELETE: 'push' },
  referrers: { GET: 'pull' },
  'manifest-scan': { GET: 'pull', HEAD: 'pull', POST: 'push' },
  'scan-summary': { GET: 'pull', HEAD: 'pull' },
};

/**
 * What `method` on `route` (with the request's `query`) requires; null when the route does not
 * support the method.
 */
export function requirementFor(route: Route, method: string, query: URLSearchParams): Requirement | null {
  const needs: Partial<Record<string, Need>> = REQUIREMENTS[route.kind];
  // Own properties only: a method named like an Object.prototype member is still unsupported.
  const need = Object.hasOwn(needs, method) ? needs[method] : undefined;
  if (need === undefined) return null;
  if (need === 'authenticated' || need === 'catalog') return { kind: need };
  if (!('name' in route)) return null;
  const source = mountSource(route, method, query);
  return {
    kind: 'repository',
    name: route.name,
    action: need,
    ...(source ? { wanted: { name: source, action: 'pull' } } : {}),
  };
}

/** `POST …/blobs/uploads/?mount=DIGEST&from=SOURCE` mounts from SOURCE for a caller who may pull it. */
function mountSource(route: Route, method: string, query: URLSearchParams): string | undefined {
  if (route.kind !== 'uploads' || method !== 'POST' || !query.has('mount')) return undefined;
  const from = query.get('from');
  if (!from || from === route.name || !isRepositoryName(from)) return undefined;
  return from;
}

/** Whether a token granting `access` meets the requirement (any valid token is authenticated). */
export function grantMeets(access: readonly AccessEntry[], requirement: Requirement): boolean {
  switch (requirement.kind) {
    case 'authenticated':
      return true;
    case 'catalog':
      return accessAllows(access, 'registry', 'catalog', '*');
    case 'admin':
      return accessAllows(access, 'registry', 'admin', '*');
    case 'repository':
      return accessAllows(access, 'repository', requirement.name, requirement.action);
  }
}
