// Docker token auth scopes (`repository:NAME:pull,push`) and the access claim of a token.

export type RepositoryAction = 'pull' | 'push' | 'delete';

export interface AccessEntry {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Claims of a registry bearer token (Docker token spec, JWT). */
export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: readonly AccessEntry[];
}

/** `type:name:actions`; the name may itself contain colons, so type and actions are cut from the ends. */
export function parseScope(scope: string): AccessEntry | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a.length > 0);
  if (name.length === 0) return null;
  return { type, name, actions };
}

/** A `scope` query may hold several scopes separated by spaces, and may be repeated. */
export function parseScopes(values: readonly string[]): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const value of values) {
    for (const part of value.split(' ')) {
      const entry = part.length > 0 ? parseScope(part) : null;
      if (entry) entries.push(entry);
    }
  }
  return entries;
}

export function accessAllows(
  access: readonly AccessEntry[],
  type: string,
  name: string,
  action: string,
): boolean {
  return access.some(
    (entry) =>
      entry.type === type &&
      entry.name === name &&
      (entry.actions.includes(action) || entry.actions.includes('*')),
  );
}
