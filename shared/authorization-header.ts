// The Authorization header, read alike by both tiers: the scheme (any case) and its credentials,
// whatever the spacing, and what they amount to. Web APIs only.
import type { Refusal } from './challenge.ts';

export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  /** Credentials refused for their form alone, before any token or password is checked. */
  | { readonly kind: 'refused'; readonly refusal: Refusal };

/** The scheme, lower-cased, and the credentials after it (trimmed, maybe empty); null for no header. */
function splitAuthorization(
  header: string | null | undefined,
): { scheme: string; credentials: string } | null {
  const value = header?.trim() ?? '';
  if (value === '') return null;
  const gap = value.search(/\s/);
  if (gap < 0) return { scheme: value.toLowerCase(), credentials: '' };
  return { scheme: value.slice(0, gap).toLowerCase(), credentials: value.slice(gap).trim() };
}

/** `user:password` from Basic credentials (base64 of UTF-8); null when they do not decode to that. */
function decodeBasic(credentials: string): { user: string; password: string } | null {
  let binary: string;
  try {
    binary = atob(credentials);
  } catch {
    return null;
  }
  const decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function readCredentials(header: string | null | undefined): Credentials {
  const parts = splitAuthorization(header);
  if (!parts) return { kind: 'none' };
  const { scheme, credentials } = parts;
  if (scheme === 'bearer') {
    // `Bearer` with nothing after it is a token that cannot verify, like any other.
    return credentials === ''
      ? { kind: 'refused', refusal: 'invalid-token' }
      : { kind: 'bearer', token: credentials };
  }
  if (scheme === 'basic') {
    const basic = decodeBasic(credentials);
    return basic ? { kind: 'basic', ...basic } : { kind: 'refused', refusal: 'malformed-basic' };
  }
  return { kind: 'refused', refusal: { unsupportedScheme: scheme } };
}
