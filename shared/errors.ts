// OCI Distribution error codes, their HTTP statuses and the JSON body the spec prescribes.
// Runs on Node and workerd: Web APIs only.
import { API_VERSION, API_VERSION_HEADER } from './api-version.ts';

export const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  // Listed by the spec among the legacy Docker codes clients may meet; distribution's code for a
  // manifest pushed under a reference that is not a valid tag.
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the OCI spec's table; distribution's code for a dependency that cannot be reached
  // (the edge answers it when origin is down and nothing cached can stand in).
  UNAVAILABLE: 503,
} as const;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

const DEFAULT_MESSAGE: Record<OciErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'manifest references a blob unknown to the repository',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  TAG_INVALID: 'manifest tag did not match URI',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'the operation is unsupported',
  TOOMANYREQUESTS: 'too many requests',
  UNAVAILABLE: 'service unavailable',
};

/** One failure, as a value. `status` and `headers` say how it goes on the wire. */
export interface OciError {
  readonly code: OciErrorCode;
  readonly message: string;
  readonly detail?: unknown;
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface OciErrorOptions {
  message?: string;
  detail?: unknown;
  /** Overrides the code's usual status (e.g. 416 for an out-of-order chunk, 413 for a large body). */
  status?: number;
  headers?: Record<string, string>;
}

/** The spec's description of a code, used when an error says nothing more specific. */
export function defaultMessage(code: OciErrorCode): string {
  return DEFAULT_MESSAGE[code];
}

export function ociError(code: OciErrorCode, options: OciErrorOptions = {}): OciError {
  return {
    code,
    message: options.message ?? DEFAULT_MESSAGE[code],
    ...(options.detail === undefined ? {} : { detail: options.detail }),
    status: options.status ?? OCI_ERROR_STATUS[code],
    ...(options.headers ? { headers: options.headers } : {}),
  };
}

export function errorBody(error: OciError): string {
  const entry: { code: string; message: string; detail?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.detail !== undefined) entry.detail = error.detail;
  return JSON.stringify({ errors: [entry] });
}

export function errorResponse(error: OciError, method = 'GET'): Response {
  const headers = new Headers(error.headers);
  headers.set('Content-Type', 'application/json; charset=utf-8');
  headers.set(API_VERSION_HEADER, API_VERSION);
  // A HEAD answer carries the status and headers only.
  return new Response(method === 'HEAD' ? null : errorBody(error), { status: error.status, headers });
}

/** Carries an OciError out of a request handler; thrown only where a request ends. */
export class OciFailure extends Error {
  readonly error: OciError;
  constructor(error: OciError) {
    super(`${error.code}: ${error.message}`);
    this.name = 'OciFailure';
    this.error = error;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: OciError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: OciError): Result<T> => ({ ok: false, error });
