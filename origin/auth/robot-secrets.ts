// Robot secrets: made by the registry (32 random bytes, base64url) and kept only as
// `$sha256$<salt>$<digest>`. Not scrypt, as passwords are: a slow hash is there so that whoever
// steals the hashes cannot try a dictionary of likely passwords against them; a 256-bit random
// secret is in no dictionary and cannot be enumerated however fast the hash, so a salted SHA-256
// keeps it as safe, and checking it costs microseconds on the serving thread instead of tens of
// milliseconds on a password-check thread for every Basic login of a CI job.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const FORMAT = /^\$sha256\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

const digest = (salt: Buffer, secret: string) => createHash('sha256').update(salt).update(secret).digest();

/** A new secret, and the hash to store of it. */
export function newSecret(): { secret: string; hash: string } {
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const salt = randomBytes(SALT_BYTES);
  return {
    secret,
    hash: `$sha256$${salt.toString('base64url')}$${digest(salt, secret).toString('base64url')}`,
  };
}

export function secretMatches(secret: string, hash: string): boolean {
  const match = FORMAT.exec(hash);
  if (!match) return false;
  const expected = Buffer.from(match[2] as string, 'base64url');
  const actual = digest(Buffer.from(match[1] as string, 'base64url'), secret);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
