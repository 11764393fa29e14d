// GET /token (Docker token auth) and POST /token (OAuth2 password grant), plus the JWKS the
// edge uses to verify tokens.
import { readCredentials } from '../../shared/authorization-header.ts';
import { INCORRECT_LOGIN } from '../../shared/challenge.ts';
import { OciFailure, ociError } from '../../shared/errors.ts';
import { parseScopes } from '../../shared/scope.ts';
import type { Grantee } from '../auth/permissions.ts';
import type { Services } from '../services.ts';
import { checkLogin } from './authorize.ts';
import type { AppContext } from './context.ts';

/** Who logged in; throws UNAUTHORIZED (or TOOMANYREQUESTS) unless the credentials are right. */
async function requireLogin(
  c: AppContext,
  s: Services,
  user: string | undefined,
  password: string | undefined,
): Promise<Grantee> {
  const challenge = { 'WWW-Authenticate': `Basic realm="${s.config.auth.service}"` };
  if (user === undefined || password === undefined) {
    throw new OciFailure(ociError('UNAUTHORIZED', { message: 'malformed credentials', headers: challenge }));
  }
  const login = await checkLogin(
    s,
    user,
    password,
    c.env.incoming.socket.remoteAddress ?? 'unknown',
    ociError('UNAUTHORIZED', { message: INCORRECT_LOGIN, headers: challenge }),
  );
  if (!login.ok) throw new OciFailure(login.error);
  return login.value;
}

export async function getToken(c: AppContext, s: Services): Promise<Response> {
  const credentials = readCredentials(c.req.header('authorization'));
  let grantee = s.permissions.user(null);
  if (credentials.kind !== 'none') {
    // Only Basic credentials log in here: a token is not a way to get another.
    const basic = credentials.kind === 'basic' ? credentials : undefined;
    grantee = await requireLogin(c, s, basic?.user, basic?.password);
  }
  const issued = await s.tokens.issue(grantee, parseScopes(c.req.queries('scope') ?? []));
  c.set('principal', {
    user: grantee.name,
    via: grantee.name ? 'basic' : 'anonymous',
    can: () => false,
    catalog: false,
    admin: false,
  });
  return c.json({
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
  });
}

export async function postToken(c: AppContext, s: Services): Promise<Response> {
  let form: Awaited<ReturnType<typeof c.req.parseBody>>;
  try {
    form = await c.req.parseBody();
  } catch {
    return c.json({ error: 'invalid_request', error_description: 'malformed form body' }, 400);
  }
  const field = (key: string) => (typeof form[key] === 'string' ? (form[key] as string) : undefined);
  if (field('grant_type') !== 'password') {
    return c.json(
      { error: 'unsupported_grant_type', error_description: 'only the password grant is supported' },
      400,
    );
  }
  const grantee = await requireLogin(c, s, field('username') || undefined, field('password'));
  const issued = await s.tokens.issue(grantee, parseScopes([field('scope') ?? '']));
  return c.json({
    access_token: issued.token,
    token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
    scope: field('scope') ?? '',
  });
}

export function jwks(c: AppContext, s: Services): Response {
  return c.json(s.tokens.jwks(), 200, { 'Cache-Control': 'max-age=300' });
}
