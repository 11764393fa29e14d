// Who may read what, decided at the edge without asking origin: origin's bearer tokens are
// verified against its public keys (keys.ts, jwt.ts), and the answers mirror origin's
// (origin/http/authorize.ts): the same challenge, messages and codes. Basic credentials are not
// checked here (that needs origin's user table): they get the Bearer challenge, and the client
// then fetches a token from origin's realm, as Docker does anyway.
import { type OciError, ociError } from '../../shared/errors.ts';
import { accessAllows, type TokenClaims } from '../../shared/scope.ts';
import type { EdgeConfig } from './config.ts';
import { checkClaims, parseJwt, verifySignature } from './jwt.ts';
import type { KeyDeps, KeySet } from './keys.ts';

export type Requirement = { kind: 'authenticated' } | { kind: 'pull'; name: string };

type ChallengeError = 'invalid_token' | 'insufficient_scope';

export function challenge(config: EdgeConfig, requirement: Requirement, error?: ChallengeError): string {
  let value = `Bearer realm="${config.originPublicUrl}/token",service="${config.service}"`;
  if (requirement.kind === 'pull') value += `,scope="repository:${requirement.name}:pull"`;
  if (error) value += `,error="${error}"`;
  return value;
}

function unauthorized(
  config: EdgeConfig,
  requirement: Requirement,
  message: string,
  error?: ChallengeError,
): OciError {
  return ociError('UNAUTHORIZED', {
    message,
    headers: { 'WWW-Authenticate': challenge(config, requirement, error) },
  });
}

/** Verified tokens, so that the requests of one pull cost one signature check (per isolate). */
const verified = new Map<string, TokenClaims>();
const VERIFIED_LIMIT = 10_000;

async function verify(
  token: string,
  config: EdgeConfig,
  keys: KeySet,
  deps: KeyDeps,
): Promise<TokenClaims | 'invalid' | 'unavailable'> {
  const now = Date.now() / 1000;
  const known = verified.get(token);
  if (known) {
    if (now < known.exp) return known;
    verified.delete(token);
    return 'invalid';
  }
  const jwt = parseJwt(token);
  if (!jwt?.kid || jwt.alg !== 'ES256') return 'invalid';
  const claims = checkClaims(jwt.payload, { issuer: config.issuer, audience: config.service }, now);
  if (!claims) return 'invalid';
  const lookup = await keys.lookup(jwt.kid, deps);
  if (lookup.kind === 'unavailable') return 'unavailable';
  if (lookup.kind === 'unknown' || !(await verifySignature(jwt, lookup.key))) return 'invalid';
  if (verified.size >= VERIFIED_LIMIT) verified.clear();
  verified.set(token, claims);
  return claims;
}

/** null when the request meets the requirement; otherwise the error to answer with. */
export async function authorize(
  authorization: string | undefined,
  requirement: Requirement,
  config: EdgeConfig,
  keys: KeySet,
  deps: KeyDeps,
): Promise<OciError | null> {
  if (!authorization) return unauthorized(config, requirement, 'authentication required');
  const space = authorization.indexOf(' ');
  const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
  const credentials = space < 0 ? '' : authorization.slice(space + 1).trim();
  if (scheme === 'basic') {
    return unauthorized(
      config,
      requirement,
      `authentication required: get a token from ${config.originPublicUrl}/token`,
    );
  }
  if (scheme !== 'bearer')
    return unauthorized(config, requirement, `unsupported authorization scheme ${scheme}`);
  const claims = await verify(credentials, config, keys, deps);
  if (claims === 'unavailable') {
    return ociError('UNAVAILABLE', {
      message: "origin's token keys cannot be fetched: origin is unreachable",
    });
  }
  if (claims === 'invalid')
    return unauthorized(config, requirement, 'invalid or expired token', 'invalid_token');
  if (requirement.kind === 'pull' && !accessAllows(claims.access, 'repository', requirement.name, 'pull')) {
    return unauthorized(config, requirement, 'insufficient scope', 'insufficient_scope');
  }
  return null;
}
