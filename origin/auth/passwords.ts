// Password hashes: scrypt in our own records; bcrypt as found in htpasswd files.
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

const N = 32768;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
// 128 * N * r bytes of working memory, plus headroom.
const MAX_MEMORY = 256 * N * R;

const scryptOptions = (n: number, r: number, p: number) => ({
  N: n,
  r,
  p,
  maxmem: Math.max(MAX_MEMORY, 256 * n * r),
});

function derive(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
  length: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, scryptOptions(n, r, p), (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** `$scrypt$N=32768,r=8,p=1$<salt base64>$<key base64>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P, KEY_LENGTH);
  return `$scrypt$N=${N},r=${R},p=${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function isSupportedHash(hash: string): boolean {
  return (
    /^\$scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(hash) ||
    /^\$2[aby]\$\d\d\$/.test(hash)
  );
}

/**
 * Whether `password` matches `hash`. Synchronous, and tens of milliseconds of CPU: it runs on the
 * password-check threads (password-checks.ts), never on the serving thread or libuv's pool.
 */
export function verifyPassword(password: string, hash: string): boolean {
  if (hash.startsWith('$2')) return bcrypt.compareSync(password, hash);
  const match = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(hash);
  if (!match) return false;
  const [, n, r, p, salt, key] = match as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(key, 'base64');
  const actual = scryptSync(
    password,
    Buffer.from(salt, 'base64'),
    expected.length,
    scryptOptions(Number(n), Number(r), Number(p)),
  );
  return timingSafeEqual(actual, expected);
}
