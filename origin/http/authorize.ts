// Who is calling (Bearer token, Basic credentials, or nobody) and whether they may do this.
import { type OciError, ociError } from '../../shared/errors.ts';
import { accessAllows, type RepositoryAction } from '../../shared/scope.ts';
import type { Services } from '../services.ts';
import type { Principal } from './context.ts';

export type Requirement =
  | { kind: 'authenticated' }
  | { kind: 'catalog' }
  | { kind: 'repository'; name: string; action: RepositoryAction };

export type Authentication = { ok: true; principal: Principal } | { ok: false; error: OciError };

export function challenge(
  services: Services,
  requirement: Requirement,
  error?: 'invalid_token' | 'insufficient_scope',
): string {
  const { public_url } = services.config.http;
  let value = `Bearer realm="${public_url}/token",service="${services.config.auth.service}"`;
  if (requirement.kind === 'repository') {
    const actions = requirement.action === 'push' ? 'pull,push' : requirement.action;
    value += `,scope="repository:${requirement.name}:${actions}"`;
  } else if (requirement.kind === 'catalog') {
    value += ',scope="registry:catalog:*"';
  }
  if (error) value += `,error="${error}"`;
  return value;
}

function unauthorized(
  services: Services,
  requirement: Requirement,
  message: string,
  error?: 'invalid_token' | 'insufficient_scope',
): OciError {
  return ociError('UNAUTHORIZED', {
    message,
    headers: { 'WWW-Authenticate': challenge(services, requirement, error) },
  });
}

/** Checks a password, throttled per user and client address; null when it is right. */
export async function checkLogin(
  services: Services,
  user: string,
  password: string,
  client: string,
  onFailure: Record<string, string>,
): Promise<OciError | null> {
  const login = await services.users.login(user, password, client);
  if (login.ok) return null;
  if (login.retryAfter > 0) {
    return ociError('TOOMANYREQUESTS', {
      message: `too many failed logins: retry in ${login.retryAfter} s`,
      headers: { 'Retry-After': String(login.retryAfter) },
    });
  }
  return ociError('UNAUTHORIZED', { message: 'incorrect username or password', headers: onFailure });
}

export async function authenticate(
  services: Services,
  authorization: string | undefined,
  requirement: Requirement,
  client: string,
): Promise<Authentication> {
  if (!authorization) {
    return {
      ok: true,
      principal: {
        user: null,
        via: 'anonymous',
        can: (name, action) => services.permissions.allows(null, name, action),
        catalog: false,
      },
    };
  }
  const space = authorization.indexOf(' ');
  const scheme = authorization.slice(0, space).toLowerCase();
  const credentials = authorization.slice(space + 1).trim();
  if (scheme === 'bearer') {
    const claims = await services.tokens.verify(credentials);
    if (!claims)
      return {
        ok: false,
        error: unauthorized(services, requirement, 'invalid or expired token', 'invalid_token'),
      };
    return {
      ok: true,
      principal: {
        user: claims.sub === '' ? null : claims.sub,
        via: 'bearer',
        can: (name, action) => accessAllows(claims.access, 'repository', name, action),
        catalog: accessAllows(claims.access, 'registry', 'catalog', '*'),
      },
    };
  }
  if (scheme === 'basic') {
    const basic = parseBasic(credentials);
    const refused = basic
      ? await checkLogin(services, basic.user, basic.password, client, {
          'WWW-Authenticate': challenge(services, requirement),
        })
      : unauthorized(services, requirement, 'malformed Basic credentials');
    if (!basic || refused) return { ok: false, error: refused as OciError };
    return {
      ok: true,
      principal: {
        user: basic.user,
        via: 'basic',
        can: (name, action) => services.permissions.allows(basic.user, name, action),
        catalog: true,
      },
    };
  }
  return {
    ok: false,
    error: unauthorized(services, requirement, `unsupported authorization scheme ${scheme}`),
  };
}

/** null when the principal meets the requirement; otherwise the error to answer with. */
export function authorize(
  services: Services,
  principal: Principal,
  requirement: Requirement,
): OciError | null {
  if (requirement.kind === 'authenticated') {
    return principal.via === 'anonymous'
      ? unauthorized(services, requirement, 'authentication required')
      : null;
  }
  if (requirement.kind === 'catalog') {
    if (principal.catalog) return null;
    return principal.via === 'bearer'
      ? unauthorized(services, requirement, 'insufficient scope', 'insufficient_scope')
      : unauthorized(services, requirement, 'authentication required');
  }
  if (principal.can(requirement.name, requirement.action)) return null;
  switch (principal.via) {
    case 'anonymous':
      return unauthorized(services, requirement, 'authentication required');
    case 'bearer':
      return unauthorized(services, requirement, 'insufficient scope', 'insufficient_scope');
    case 'basic':
      return ociError('DENIED', {
        message: `requested access to the resource is denied: ${requirement.action} on ${requirement.name}`,
      });
  }
}

export function parseBasic(credentials: string): { user: string; password: string } | null {
  let decoded: string;
  try {
    decoded = Buffer.from(credentials, 'base64').toString('utf8');
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
