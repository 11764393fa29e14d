// Who is calling (Bearer token, Basic credentials, or nobody) and whether they may do this. The
// header, the requirements and every 401 come from shared/ (the edge answers from the same code).
import { readCredentials } from '../../shared/authorization-header.ts';
import { type Realm, type Refusal, unauthorized } from '../../shared/challenge.ts';
import { fail, type OciError, ociError, ok, type Result } from '../../shared/errors.ts';
import { grantMeets, type Requirement } from '../../shared/requirement.ts';
import type { Grantee } from '../auth/permissions.ts';
import type { Services } from '../services.ts';
import type { Principal } from './context.ts';

export type Authentication = { ok: true; principal: Principal } | { ok: false; error: OciError };

export function realmOf(services: Services): Realm {
  return { publicUrl: services.config.http.public_url, service: services.config.auth.service };
}

/** 401 for `refusal`, with origin's challenge for `requirement`. */
export function refuse(services: Services, requirement: Requirement, refusal: Refusal): OciError {
  return unauthorized(realmOf(services), requirement, refusal);
}

/** Seconds a client is asked to wait when every password-check thread is busy. */
const BUSY_RETRY_SECONDS = 1;

/**
 * Checks a password (or a robot's secret), throttled per user and client address: who logged in
 * when it is right; 429 while the user or address is throttled, 503 while the password checks are
 * saturated, otherwise `incorrect` (with its message saying so for a robot that has expired).
 */
export async function checkLogin(
  services: Services,
  user: string,
  password: string,
  client: string,
  incorrect: OciError,
): Promise<Result<Grantee>> {
  const login = await services.users.login(user, password, client);
  if (login.ok) {
    return ok(
      login.robot
        ? services.permissions.robot(login.robot.login, login.robot.scopes)
        : services.permissions.user(user),
    );
  }
  switch (login.reason) {
    case 'incorrect':
      return fail(incorrect);
    case 'expired':
      return fail({
        ...incorrect,
        message: `robot account ${login.robot.login} expired at ${new Date(login.robot.expiresAt ?? 0).toISOString()}`,
      });
    case 'throttled':
      return fail(
        ociError('TOOMANYREQUESTS', {
          message: `too many failed logins: retry in ${login.retryAfter} s`,
          headers: { 'Retry-After': String(login.retryAfter) },
        }),
      );
    case 'busy':
      // The server's capacity, shared by every client, not this client's rate: 503, not 429.
      return fail(
        ociError('UNAVAILABLE', {
          message: 'too many logins being checked: retry shortly',
          headers: { 'Retry-After': String(BUSY_RETRY_SECONDS) },
        }),
      );
  }
}

export async function authenticate(
  services: Services,
  authorization: string | undefined,
  requirement: Requirement,
  client: string,
): Promise<Authentication> {
  const credentials = readCredentials(authorization);
  switch (credentials.kind) {
    case 'none':
      return {
        ok: true,
        principal: {
          user: null,
          via: 'anonymous',
          can: (name, action) => services.permissions.allows(null, name, action),
          catalog: false,
          admin: false,
        },
      };
    case 'refused':
      return { ok: false, error: refuse(services, requirement, credentials.refusal) };
    case 'bearer': {
      const claims = await services.tokens.verify(credentials.token);
      if (!claims) return { ok: false, error: refuse(services, requirement, 'invalid-token') };
      const user = claims.sub === '' ? null : claims.sub;
      // A token is honoured until it expires (auth.token_expiry), even its robot deleted since: the
      // edge verifies tokens without calling origin, so no tier could honour a revocation sooner.
      return {
        ok: true,
        principal: {
          user,
          via: 'bearer',
          can: (name, action) => grantMeets(claims.access, { kind: 'repository', name, action }),
          catalog: grantMeets(claims.access, { kind: 'catalog' }),
          // The grant, and the user still an administrator.
          admin: grantMeets(claims.access, { kind: 'admin' }) && services.permissions.isAdmin(user),
        },
      };
    }
    case 'basic': {
      const { user, password } = credentials;
      const incorrect = refuse(services, requirement, 'incorrect-login');
      const login = await checkLogin(services, user, password, client, incorrect);
      if (!login.ok) return login;
      const grantee = login.value;
      return {
        ok: true,
        principal: {
          user: grantee.name,
          via: 'basic',
          can: (name, action) => grantee.actionsFor(name).has(action),
          catalog: grantee.catalog,
          admin: grantee.admin,
        },
      };
    }
  }
}

/** null when the principal meets the requirement; otherwise the error to answer with. */
export function authorize(
  services: Services,
  principal: Principal,
  requirement: Requirement,
): OciError | null {
  if (requirement.kind === 'authenticated') {
    return principal.via === 'anonymous' ? refuse(services, requirement, 'authentication-required') : null;
  }
  if (requirement.kind === 'catalog') {
    if (principal.catalog) return null;
    return refuse(
      services,
      requirement,
      principal.via === 'bearer' ? 'insufficient-scope' : 'authentication-required',
    );
  }
  if (requirement.kind === 'admin') {
    if (principal.admin) return null;
    if (principal.via !== 'basic') {
      return refuse(
        services,
        requirement,
        principal.via === 'bearer' ? 'insufficient-scope' : 'authentication-required',
      );
    }
    return ociError('DENIED', {
      message: `only administrators may do this (auth.admins); ${principal.user} is not one`,
    });
  }
  if (principal.can(requirement.name, requirement.action)) return null;
  switch (principal.via) {
    case 'anonymous':
      return refuse(services, requirement, 'authentication-required');
    case 'bearer':
      return refuse(services, requirement, 'insufficient-scope');
    case 'basic':
      return ociError('DENIED', {
        message: `requested access to the resource is denied: ${requirement.action} on ${requirement.name}`,
      });
  }
}
