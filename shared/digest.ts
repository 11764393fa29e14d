// Digests as the OCI image spec defines them; the registry accepts sha256 and sha512.

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
  /** `algorithm:hex`, the canonical string form. */
  readonly value: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// The general grammar, so that a well-formed digest of an unsupported algorithm can be told apart.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export type DigestParse =
  | { ok: true; digest: Digest }
  | { ok: false; reason: 'malformed' | 'unsupported-algorithm' };

export function parseDigest(value: string): DigestParse {
  if (value.length > 256 || !DIGEST_GRAMMAR.test(value)) return { ok: false, reason: 'malformed' };
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return { ok: false, reason: 'unsupported-algorithm' };
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex))
    return { ok: false, reason: 'malformed' };
  return { ok: true, digest: { algorithm, hex, value } };
}

export function isDigest(value: string): boolean {
  return parseDigest(value).ok;
}

const WEB_ALGORITHM: Record<DigestAlgorithm, string> = { sha256: 'SHA-256', sha512: 'SHA-512' };

/** Digest of bytes held in memory (manifests); blobs are hashed as they stream. */
export async function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
  const hash = new Uint8Array(
    await crypto.subtle.digest(WEB_ALGORITHM[algorithm], bytes as Uint8Array<ArrayBuffer>),
  );
  let hex = '';
  for (const byte of hash) hex += byte.toString(16).padStart(2, '0');
  return `${algorithm}:${hex}`;
}
