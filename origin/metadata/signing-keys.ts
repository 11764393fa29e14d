// The key pairs token auth signs with (origin/auth/token-service.ts), kept in the database so
// that every origin process signs with the same one.
import type { JWK } from 'jose';
import type { Queryable } from './database.ts';

export interface SigningKey {
  /** The key id (the public key's JWK thumbprint). */
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** The oldest stored key: the one every process uses, when several started at once and each stored one. */
export async function oldestSigningKey(q: Queryable): Promise<SigningKey | undefined> {
  const rows = await q.query<{ id: string; private_jwk: JWK; public_jwk: JWK }>(
    'SELECT id, private_jwk, public_jwk FROM signing_keys ORDER BY created_at, id LIMIT 1',
  );
  const row = rows[0];
  return row && { kid: row.id, privateJwk: row.private_jwk, publicJwk: row.public_jwk };
}

/** Stores a key; one with the same id already stored stays as it is. */
export async function addSigningKey(q: Queryable, key: SigningKey): Promise<void> {
  await q.query(
    'INSERT INTO signing_keys (id, private_jwk, public_jwk) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
    [key.kid, JSON.stringify(key.privateJwk), JSON.stringify(key.publicJwk)],
  );
}
