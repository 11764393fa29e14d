// ES256 JSON Web Tokens as origin signs them (origin/auth/token-service.ts), checked with
// WebCrypto: the signature against one of origin's public keys, then iss, aud, exp, nbf and the
// shape of the `access` claim.
import type { AccessEntry, TokenClaims } from '../../shared/scope.ts';

export interface ParsedJwt {
  readonly alg: unknown;
  readonly kid: string | undefined;
  readonly payload: Record<string, unknown>;
  /** `header.payload`, the bytes the signature covers. */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

export interface ClaimExpectations {
  readonly issuer: string;
  readonly audience: string;
}

/** Seconds a token's `nbf` may lie in the edge's future (the two clocks are never quite equal). */
const NOT_BEFORE_LEEWAY = 5;

function base64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function json(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

export function parseJwt(token: string): ParsedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const headerBytes = base64url(headerPart);
  const payloadBytes = base64url(payloadPart);
  const signature = base64url(signaturePart);
  if (!headerBytes || !payloadBytes || !signature) return null;
  const header = json(headerBytes);
  const payload = json(payloadBytes);
  if (!header || !payload) return null;
  return {
    alg: header.alg,
    kid: typeof header.kid === 'string' ? header.kid : undefined,
    payload,
    signed: new TextEncoder().encode(`${headerPart}.${payloadPart}`),
    signature,
  };
}

export function importVerifyKey(jwk: JsonWebKey): Promise<CryptoKey> {
  return crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

/** ES256 signatures are r‖s, 64 bytes, which is what WebCrypto verifies. */
export function verifySignature(jwt: ParsedJwt, key: CryptoKey): Promise<boolean> {
  if (jwt.alg !== 'ES256' || jwt.signature.byteLength !== 64) return Promise.resolve(false);
  return crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, jwt.signature, jwt.signed);
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

/** The claims when issuer, audience, times and `access` hold at `now` (seconds); else null. */
export function checkClaims(
  payload: Record<string, unknown>,
  expect: ClaimExpectations,
  now: number,
): TokenClaims | null {
  if (payload.iss !== expect.issuer) return null;
  const aud = payload.aud;
  if (!(aud === expect.audience || (Array.isArray(aud) && aud.includes(expect.audience)))) return null;
  if (typeof payload.exp !== 'number' || now >= payload.exp) return null;
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + NOT_BEFORE_LEEWAY))
    return null;
  if (!Array.isArray(payload.access) || !payload.access.every(isAccessEntry)) return null;
  return payload as unknown as TokenClaims;
}
