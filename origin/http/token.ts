// GET /token (Docker token auth) and POST /token (OAuth2 password grant), plus the JWKS the
// edge uses to verify tokens.
import { parseScopes } from '../../shared/scope.ts';
import type { Services } from '../services.ts';
import { parseBasic } from './authorize.ts';
import type { AppContext } from './context.ts';

function unauthorized(c: AppContext, s: Services): Response {
  c.header('WWW-Authenticate', `Basic realm="${s.config.auth.service}"`);
  return c.json({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }, 401);
}

export async function getToken(c: AppContext, s: Services): Promise<Response> {
  const authorization = c.req.header('authorization');
  let user: string | null = null;
  if (authorization) {
    const [scheme, credentials] = [authorization.slice(0, 6).toLowerCase(), authorization.slice(6).trim()];
    const basic = scheme === 'basic ' ? parseBasic(credentials) : null;
    if (!basic || !(await s.users.authenticate(basic.user, basic.password))) return unauthorized(c, s);
    user = basic.user;
  }
  const issued = await s.tokens.issue(user, parseScopes(c.req.queries('scope') ?? []));
  c.set('principal', { user, via: user ? 'basic' : 'anonymous', can: () => false });
  return c.json({
    token: issued.token,
    access_token: issued.token,
    expires_in: issued.expiresIn,
    issued_at: issued.issuedAt,
  });
}

export async function postToken(c: AppContext, s: Services): Promise<Response> {
  const form = await c.req.parseBody();
  const field = (key: string) => (typeof form[key] === 'string' ? (form[key] as string) : undefined);
  if (field('grant_type') !== 'password') {
    return c.json(
      { error: 'unsupported_grant_type', error_description: 'only the password grant is supported' },
      400,
    );
  }
  const user = field('username');
  const password = field('password');
  if (!user || password === undefined || !(await s.users.authenticate(user, password)))
    return unauthorized(c, s);
  const issued = await s.tokens.issue(user, parseScopes([field('scope') ?? '']));
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
