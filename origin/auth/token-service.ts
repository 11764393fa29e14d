// Docker token auth: signs JWTs (ES256) granting the permitted subset of requested scopes, and
// verifies them. The key pair is kept in the database so every origin process signs alike; the
// public key is published as a JWKS for the edge, which verifies tokens without calling origin.
import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import {
  importVerifyKey,
  TOKEN_ALGORITHM,
  unexpired,
  type VerifyKey,
  verifyToken,
} from '../../shared/bearer-token.ts';
import type { Clock } from '../../shared/clock.ts';
import { isRepositoryName } from '../../shared/reference.ts';
import type { AccessEntry, RepositoryAction, TokenClaims } from '../../shared/scope.ts';
import { LruCache } from '../cache/lru.ts';
import type { Queryable } from '../metadata/database.ts';
import { addSigningKey, oldestSigningKey, type SigningKey } from '../metadata/signing-keys.ts';
import type { Grantee } from './permissions.ts';

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
  private readonly publicKey: VerifyKey;
  private readonly publicJwk: JWK;
  private readonly clock: Clock;

  private constructor(options: {
    issuer: string;
    service: string;
    lifetimeSeconds: number;
    kid: string;
    privateKey: Key;
    publicKey: VerifyKey;
    publicJwk: JWK;
    clock: Clock;
  }) {
    this.issuer = options.issuer;
    this.service = options.service;
    this.lifetimeSeconds = options.lifetimeSeconds;
    this.kid = options.kid;
    this.privateKey = options.privateKey;
    this.publicKey = options.publicKey;
    this.publicJwk = options.publicJwk;
    this.clock = options.clock;
  }

  static async create(
    db: Queryable,
    options: { issuer: string; service: string; lifetimeMs: number; clock: Clock },
  ): Promise<TokenService> {
    const { kid, privateJwk, publicJwk } = await loadOrCreateKey(db);
    return new TokenService({
      issuer: options.issuer,
      service: options.service,
      lifetimeSeconds: Math.max(1, Math.round(options.lifetimeMs / 1000)),
      kid,
      privateKey: await importJWK(privateJwk, TOKEN_ALGORITHM),
      publicKey: await importVerifyKey(publicJwk),
      publicJwk: { ...publicJwk, kid, alg: TOKEN_ALGORITHM, use: 'sig' },
      clock: options.clock,
    });
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** What `grantee` is granted of `requested`. */
  grant(grantee: Grantee, requested: readonly AccessEntry[]): AccessEntry[] {
    const granted: AccessEntry[] = [];
    for (const entry of requested) {
      if (entry.type === 'repository' && isRepositoryName(entry.name)) {
        const allowed = grantee.actionsFor(entry.name);
        const actions = entry.actions.flatMap((a) =>
          a === '*' ? [...allowed] : allowed.has(a as RepositoryAction) ? [a] : [],
        );
        if (actions.length > 0)
          granted.push({ type: entry.type, name: entry.name, actions: [...new Set(actions)] });
      } else if (entry.type === 'registry' && entry.name === 'catalog' && grantee.catalog) {
        granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      } else if (entry.type === 'registry' && entry.name === 'admin' && grantee.admin) {
        // Only asked for: a token for a pull or a push carries no admin power.
        granted.push({ type: 'registry', name: 'admin', actions: ['*'] });
      }
    }
    return granted;
  }

  async issue(grantee: Grantee, requested: readonly AccessEntry[]): Promise<IssuedToken> {
    const access = this.grant(grantee, requested);
    const now = Math.floor(this.clock.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(grantee.name ?? '')
      .setAudience(this.service)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + this.lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresIn: this.lifetimeSeconds, issuedAt: new Date(now * 1000).toISOString(), access };
  }

  /** The token's claims when its signature, issuer, audience, times and access hold; otherwise null. */
  async verify(token: string): Promise<TokenClaims | null> {
    const cached = this.verified.get(token);
    const now = this.clock.now();
    if (cached) {
      if (unexpired(cached, now)) return cached;
      this.verified.delete(token);
      return null;
    }
    const claims = await verifyToken(
      token,
      this.publicKey,
      { issuer: this.issuer, audience: this.service },
      now,
    );
    if (claims) this.verified.set(token, claims);
    return claims;
  }
}

async function loadOrCreateKey(db: Queryable): Promise<SigningKey> {
  const existing = await oldestSigningKey(db);
  if (existing) return existing;
  const pair = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  await addSigningKey(db, {
    kid: await calculateJwkThumbprint(publicJwk),
    privateJwk: await exportJWK(pair.privateKey),
    publicJwk,
  });
  // Two processes starting at once may both generate a key: all use the oldest one.
  return (await oldestSigningKey(db)) as SigningKey;
}
