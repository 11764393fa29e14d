// A part the origin depends on — the database server, the S3 store — that cannot be reached right
// now (refused, dropped, shutting down, starting up, answering 5xx). The driver of that part says
// so by throwing Unavailable; a request ends with 503 UNAVAILABLE, which clients retry, rather than
// with 500 "internal server error", which says the registry is broken. Nothing else changes: what
// failed was not done (or, for a lost COMMIT, may have been: a retried push is idempotent).

export type Dependency = 'database' | 'storage';

export class Unavailable extends Error {
  readonly dependency: Dependency;

  constructor(dependency: Dependency, cause: unknown) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'Unavailable';
    this.dependency = dependency;
  }
}

/** Network errors: nothing answers, or the connection went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}
