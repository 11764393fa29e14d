// Verification of origin's bearer tokens (ES256 JWTs, Docker token auth), one way for both tiers:
// origin checks them with its own public key, the edge with the key from origin's JWKS that the
// token's `kid` names. jose runs on Node and workerd alike (WebCrypto underneath).
import { type CryptoKey, decodeProtectedHeader, importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import type { AccessEntry, TokenClaims } from './scope.ts';

export const TOKEN_ALGORITHM = 'ES256';

/** Where origin publishes the public keys its tokens are signed with. */
export const JWKS_PATH = '/token/jwks.json';

/** Seconds a token's `nbf` may lie in the verifier's future (two clocks are never quite equal). */
export const NOT_BEFORE_LEEWAY_SECONDS = 5;

export type VerifyKey = CryptoKey | Uint8Array;

export interface TokenExpectations {
  readonly issuer: string;
  readonly audience: string;
}

export function importVerifyKey(jwk: JWK): Promise<VerifyKey> {
  return importJWK(jwk, TOKEN_ALGORITHM);
}

/** The key id an ES256 token names, read before its key is looked up; null for anything else. */
export function tokenKeyId(token: string): string | null {
  try {
    const header = decodeProtectedHeader(token);
    return header.alg === TOKEN_ALGORITHM && typeof header.kid === 'string' ? header.kid : null;
  } catch {
    return null;
  }
}

/** Whether claims verified earlier still hold: `exp` is strict, no leeway. */
export function unexpired(claims: Pick<TokenClaims, 'exp'>, nowMs: number): boolean {
  return nowMs / 1000 < claims.exp;
}

function isAccessEntry(value: unknown): value is AccessEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.type === 'string' &&
    typeof entry.name === 'string' &&
    Array.isArray(entry.actions) &&
    entry.actions.every((a) => typeof a === 'string')
  );
}

/** The claims a registry token must carry beyond the registered ones jose checks. */
function isTokenClaims(payload: JWTPayload): payload is JWTPayload & TokenClaims {
  return (
    typeof payload.sub === 'string' &&
    typeof payload.exp === 'number' &&
    Array.isArray(payload.access) &&
    payload.access.every(isAccessEntry)
  );
}

/**
 * The token's claims when its ES256 signature by `key`, issuer, audience, times and `access` hold;
 * otherwise null.
 */
export async function verifyToken(
  token: string,
  key: VerifyKey,
  expect: TokenExpectations,
  /** The verifier's clock (the tier's Clock, which tests move). */
  nowMs: number,
): Promise<TokenClaims | null> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [TOKEN_ALGORITHM],
      issuer: expect.issuer,
      audience: expect.audience,
      requiredClaims: ['exp'],
      // jose applies its tolerance to `exp` too: it is checked strictly below.
      clockTolerance: NOT_BEFORE_LEEWAY_SECONDS,
      currentDate: new Date(nowMs),
    });
    return isTokenClaims(payload) && unexpired(payload, nowMs) ? payload : null;
  } catch {
    return null;
  }
}
