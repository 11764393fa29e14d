// Who may read what, decided at the edge without asking origin: origin's bearer tokens are
// verified against its public keys (keys.ts) by the code origin verifies them with
// (shared/bearer-token.ts), and every refusal is built as origin builds it (shared/challenge.ts).
// Basic credentials are not checked here (that needs origin's user table): well-formed ones get
// the Bearer challenge, and the client then fetches a token from origin's realm, as Docker does
// anyway.
import { readCredentials } from '../../shared/authorization-header.ts';
import { tokenKeyId, unexpired, verifyToken } from '../../shared/bearer-token.ts';
import { type Realm, unauthorized } from '../../shared/challenge.ts';
import { type OciError, ociError } from '../../shared/errors.ts';
import { grantMeets, type Requirement } from '../../shared/requirement.ts';
import type { TokenClaims } from '../../shared/scope.ts';
import type { EdgeConfig } from './config.ts';
import type { KeyDeps, KeySet } from './keys.ts';

/** Verified tokens, so that the requests of one pull cost one signature check (per isolate). */
const verified = new Map<string, TokenClaims>();
const VERIFIED_LIMIT = 10_000;

async function verify(
  token: string,
  config: EdgeConfig,
  keys: KeySet,
  deps: KeyDeps,
): Promise<TokenClaims | 'invalid' | 'unavailable'> {
  const known = verified.get(token);
  if (known) {
    if (unexpired(known, deps.clock.now())) return known;
    verified.delete(token);
    return 'invalid';
  }
  const kid = tokenKeyId(token);
  if (!kid) return 'invalid';
  const lookup = await keys.lookup(kid, deps);
  if (lookup.kind === 'unavailable') return 'unavailable';
  if (lookup.kind === 'unknown') return 'invalid';
  const claims = await verifyToken(
    token,
    lookup.key,
    { issuer: config.issuer, audience: config.service },
    deps.clock.now(),
  );
  if (!claims) return 'invalid';
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
  const realm: Realm = { publicUrl: config.originPublicUrl, service: config.service };
  const credentials = readCredentials(authorization);
  switch (credentials.kind) {
    case 'none':
      return unauthorized(realm, requirement, 'authentication-required');
    case 'refused':
      return unauthorized(realm, requirement, credentials.refusal);
    case 'basic':
      return unauthorized(realm, requirement, 'token-required');
    case 'bearer': {
      const claims = await verify(credentials.token, config, keys, deps);
      if (claims === 'unavailable') {
        return ociError('UNAVAILABLE', {
          message: "origin's token keys cannot be fetched: origin is unreachable",
        });
      }
      if (claims === 'invalid') return unauthorized(realm, requirement, 'invalid-token');
      return grantMeets(claims.access, requirement)
        ? null
        : unauthorized(realm, requirement, 'insufficient-scope');
    }
  }
}
