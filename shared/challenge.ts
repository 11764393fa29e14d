// The 401 answers of both tiers: the Bearer challenge (Docker token auth) that sends a client to
// origin's token realm, and what each refusal says. Origin and edge build every one from here,
// so that a client gets the same answer from either.
import { defaultMessage, type OciError, ociError } from './errors.ts';
import type { Requirement } from './requirement.ts';

/** Where origin's token service answers, under its public URL: the realm of every challenge. */
export const TOKEN_PATH = '/token';

/** Who issues the tokens a challenge asks for: origin's public URL and its `auth.service`. */
export interface Realm {
  readonly publicUrl: string;
  readonly service: string;
}

export type ChallengeError = 'invalid_token' | 'insufficient_scope';

export function tokenRealm(realm: Realm): string {
  return `${realm.publicUrl}${TOKEN_PATH}`;
}

/**
 * `Bearer realm=…,service=…[,scope=…][,error=…]`; a push asks for pull,push, as docker does, and a
 * scope the request can also use (a mount's source) follows, space-separated, as distribution
 * writes several.
 */
export function challenge(realm: Realm, requirement: Requirement, error?: ChallengeError): string {
  let value = `Bearer realm="${tokenRealm(realm)}",service="${realm.service}"`;
  if (requirement.kind === 'repository') {
    const actions = requirement.action === 'push' ? 'pull,push' : requirement.action;
    const { wanted } = requirement;
    const also = wanted ? ` repository:${wanted.name}:${wanted.action}` : '';
    value += `,scope="repository:${requirement.name}:${actions}${also}"`;
  } else if (requirement.kind === 'catalog' || requirement.kind === 'admin') {
    value += `,scope="registry:${requirement.kind}:*"`;
  }
  if (error) value += `,error="${error}"`;
  return value;
}

/** Why a request is refused with 401. */
export type Refusal =
  | 'authentication-required'
  | 'invalid-token'
  | 'insufficient-scope'
  | 'malformed-basic'
  | 'incorrect-login'
  /** Basic credentials at the edge, which cannot check passwords: get a token from the realm. */
  | 'token-required'
  | { readonly unsupportedScheme: string };

export const INCORRECT_LOGIN = 'incorrect username or password';

function explain(realm: Realm, refusal: Refusal): { message: string; error?: ChallengeError } {
  if (typeof refusal === 'object')
    return { message: `unsupported authorization scheme ${refusal.unsupportedScheme}` };
  switch (refusal) {
    case 'authentication-required':
      return { message: defaultMessage('UNAUTHORIZED') };
    case 'invalid-token':
      return { message: 'invalid or expired token', error: 'invalid_token' };
    case 'insufficient-scope':
      return { message: 'insufficient scope', error: 'insufficient_scope' };
    case 'malformed-basic':
      return { message: 'malformed Basic credentials' };
    case 'incorrect-login':
      return { message: INCORRECT_LOGIN };
    case 'token-required':
      return { message: `${defaultMessage('UNAUTHORIZED')}: get a token from ${tokenRealm(realm)}` };
  }
}

/** 401 UNAUTHORIZED for `refusal`, with the challenge for `requirement`. */
export function unauthorized(realm: Realm, requirement: Requirement, refusal: Refusal): OciError {
  const { message, error } = explain(realm, refusal);
  return ociError('UNAUTHORIZED', {
    message,
    headers: { 'WWW-Authenticate': challenge(realm, requirement, error) },
  });
}
