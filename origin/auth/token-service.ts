// Docker token auth: signs JWTs (ES256) granting the permitted subset of requested scopes, and
// verifies them. The key pair is kept in the database so every origin process signs alike; the
// public key is published as a JWKS for the edge, which verifies tokens without calling origin.
import { randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { Clock } from '../../shared/clock.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import type { AccessEntry, RepositoryAction, TokenClaims } from '../../shared/scope.ts';
import { LruCache } from '../cache/lru.ts';
import type { Queryable } from '../metadata/database.ts';
import type { Permissions } from './permissions.ts';

const ALGORITHM = 'ES256';
type Key = Awaited<ReturnType<typeof importJWK>>;

export interface IssuedToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly issuedAt: string;
  readonly access: readonly AccessEntry[];
}

export class TokenService {
  private readonly verified = new LruCache<string, TokenClaims>(50_000);
  readonly issuer: string;
  readonly service: string;
  private readonly lifetimeSeconds: number;
  private readonly kid: string;
  private readonly privateKey: Key;
  private readonly publicKey: Key;
  private readonly publicJwk: JWK;
  private readonly permissions: Permissions;
  private readonly clock: Clock;

  private constructor(options: {
    issuer: string;
    service: string;
    lifetimeSeconds: number;
    kid: string;
    privateKey: Key;
    publicKey: Key;
    publicJwk: JWK;
    permissions: Permissions;
    clock: Clock;
  }) {
    this.issuer = options.issuer;
    this.service = options.service;
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.kid = options.kid;
    this.privateKey = options.privateKey;
    this.publicKey = options.publicKey;
    this.publicJwk = options.publicJwk;
    this.permissions = options.permissions;
    this.clock = options.clock;
  }

  static async create(
    db: Queryable,
    options: { issuer: string; service: string; lifetimeMs: number; permissions: Permissions; clock: Clock },
  ): Promise<TokenService> {
    const { kid, privateJwk, publicJwk } = await loadOrCreateKey(db);
    return new TokenService({
      issuer: options.issuer,
      service: options.service,
      lifetimeSeconds: Math.max(1, Math.round(options.lifetimeMs / 1000)),
      kid,
      privateKey: await importJWK(privateJwk, ALGORITHM),
      publicKey: await importJWK(publicJwk, ALGORITHM),
      publicJwk: { ...publicJwk, kid, alg: ALGORITHM, use: 'sig' },
      permissions: options.permissions,
      clock: options.clock,
    });
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** What `user` (null: anonymous) is granted of `requested`. */
  grant(user: string | null, requested: readonly AccessEntry[]): AccessEntry[] {
    const granted: AccessEntry[] = [];
    for (const entry of requested) {
      if (entry.type === 'repository' && isRepositoryName(entry.name)) {
        const allowed = this.permissions.actionsFor(user, entry.name);
        const actions = entry.actions.flatMap((a) =>
          a === '*' ? [...allowed] : allowed.has(a as RepositoryAction) ? [a] : [],
        );
        if (actions.length > 0)
          granted.push({ type: entry.type, name: entry.name, actions: [...new Set(actions)] });
      } else if (entry.type === 'registry' && entry.name === 'catalog' && user !== null) {
        granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      }
    }
    return granted;
  }

  async issue(user: string | null, requested: readonly AccessEntry[]): Promise<IssuedToken> {
    const access = this.grant(user, requested);
    const now = Math.floor(this.clock.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: ALGORITHM, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(user ?? '')
      .setAudience(this.service)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.lifetimeSeconds, issuedAt: new Date(now * 1000).toISOString(), access };
  }

  /** The token's claims when its signature, issuer, audience and times hold; otherwise null. */
  async verify(token: string): Promise<TokenClaims | null> {
    const cached = this.verified.get(token);
    const now = this.clock.now() / 1000;
    if (cached) {
      if (cached.exp > now) return cached;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: this.issuer,
        audience: this.service,
        algorithms: [ALGORITHM],
        currentDate: new Date(this.clock.now()),
      });
      if (!Array.isArray(payload.access) || typeof payload.exp !== 'number') return null;
      const claims = payload as unknown as TokenClaims;
      this.verified.set(token, claims);
      return claims;
    } catch {
      return null;
    }
  }
}

async function loadOrCreateKey(db: Queryable): Promise<{ kid: string; privateJwk: JWK; publicJwk: JWK }> {
  const existing = await db.query<{ id: string; private_jwk: JWK; public_jwk: JWK }>(
    'SELECT id, private_jwk, public_jwk FROM signing_keys ORDER BY created_at, id LIMIT 1',
  );
  if (existing[0]) {
    return { kid: existing[0].id, privateJwk: existing[0].private_jwk, publicJwk: existing[0].public_jwk };
  }
  const pair = await generateKeyPair(ALGORITHM, { extractable: true });
  const privateJwk = await exportJWK(pair.privateKey);
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  await db.query(
    'INSERT INTO signing_keys (id, private_jwk, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
    [kid, JSON.stringify(privateJwk), JSON.stringify(publicJwk)],
  );
  // Two processes starting at once may both generate a key: all use the oldest one.
  const chosen = await db.query<{ id: string; private_jwk: JWK; public_jwk: JWK }>(
    'SELECT id, private_jwk, public_jwk FROM signing_keys ORDER BY created_at, id LIMIT 1',
  );
  const row = chosen[0] as { id: string; private_jwk: JWK; public_jwk: JWK };
  return { kid: row.id, privateJwk: row.private_jwk, publicJwk: row.public_jwk };
}
