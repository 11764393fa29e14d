// The Worker's settings: wrangler.toml [vars] (strings, or numbers when written as TOML numbers)
// and the Durable Object binding, read once per isolate into typed values.
import { MAX_REPORTED_PULLS } from '../../shared/pull-report.ts';
import type { ChunkLock } from './coalescer.ts';

export interface Env {
  /** How the edge reaches origin (may be an internal address). */
  readonly ORIGIN_URL: string;
  /** What clients use for origin: the token realm is `${ORIGIN_PUBLIC_URL}/token`. Default: ORIGIN_URL. */
  readonly ORIGIN_PUBLIC_URL?: string;
  /** origin's `auth.service`: the tokens' audience and the challenge's service. */
  readonly TOKEN_SERVICE: string;
  /** origin's `auth.issuer` (default `registry`). */
  readonly TOKEN_ISSUER?: string;
  /** Bytes per cached blob chunk (default 64 MiB; a Cache API entry holds at most 512 MB). */
  readonly CHUNK_SIZE?: string | number;
  /** Seconds a tag → digest mapping is used before it is revalidated with origin (default 3). */
  readonly TAG_TTL?: string | number;
  /** Seconds an "allowed" pull decision for a (repository, manifest digest) is reused (default 3). */
  readonly POLICY_TTL?: string | number;
  /** Seconds a (repository, blob digest) link check is reused (default 60). */
  readonly LINK_TTL?: string | number;
  /** Seconds past their TTL that entries may stand in while origin is unreachable (default 300). */
  readonly STALE_SECONDS?: string | number;
  /** Seconds requests wait for the request filling a chunk before one of them takes over (default 30). */
  readonly COALESCE_TIMEOUT?: string | number;
  /** Seconds to wait for origin's answer to a metadata request (default 10). */
  readonly ORIGIN_TIMEOUT?: string | number;
  /**
   * origin's pulls.report_secret (set with `wrangler secret put PULL_REPORT_SECRET`): the edge
   * reports the manifest pulls it serves to origin's last-pull tracking. Absent: no reports.
   */
  readonly PULL_REPORT_SECRET?: string;
  /** Seconds pulls wait in the isolate before they are reported in one batch (default 2). */
  readonly PULL_REPORT_DELAY?: string | number;
  /** Distinct pulls that make a batch be reported at once (default 200). */
  readonly PULL_REPORT_BATCH?: string | number;
  readonly CHUNK_LOCKS: DurableObjectNamespace<ChunkLock>;
  /** "on" only in tests (test/harness/edge.ts), never in wrangler.toml: a clock tests move (clock.ts). */
  readonly TEST_CLOCK?: string;
}

export interface EdgeConfig {
  readonly originUrl: string;
  readonly originPublicUrl: string;
  readonly service: string;
  readonly issuer: string;
  readonly chunkSize: number;
  readonly tagTtlMs: number;
  readonly policyTtlMs: number;
  readonly linkTtlMs: number;
  readonly staleMs: number;
  readonly coalesceTimeoutMs: number;
  readonly originTimeoutMs: number;
  /** How the edge reports the pulls it serves; undefined: it does not (no secret). */
  readonly pullReport: PullReportConfig | undefined;
}

export interface PullReportConfig {
  readonly secret: string;
  readonly delayMs: number;
  readonly batch: number;
}

const MiB = 1024 * 1024;
/** The Cache API's limit on one entry. */
export const MAX_CHUNK_SIZE = 512 * 1000 * 1000;

function number(
  name: string,
  value: string | number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined || value === '') return fallback;
  const parsed = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max)
    throw new Error(`edge configuration: ${name} must be a number from ${min} to ${max}, not ${value}`);
  return parsed;
}

function url(name: string, value: string | undefined): string {
  if (!value) throw new Error(`edge configuration: ${name} is required`);
  try {
    return new URL(value).toString().replace(/\/+$/, '');
  } catch {
    throw new Error(`edge configuration: ${name} is not a URL: ${value}`);
  }
}

export function readConfig(env: Env): EdgeConfig {
  const originUrl = url('ORIGIN_URL', env.ORIGIN_URL);
  if (!env.TOKEN_SERVICE) throw new Error('edge configuration: TOKEN_SERVICE is required');
  return {
    originUrl,
    originPublicUrl: env.ORIGIN_PUBLIC_URL ? url('ORIGIN_PUBLIC_URL', env.ORIGIN_PUBLIC_URL) : originUrl,
    service: env.TOKEN_SERVICE,
    issuer: env.TOKEN_ISSUER || 'registry',
    chunkSize: Math.floor(number('CHUNK_SIZE', env.CHUNK_SIZE, 64 * MiB, 64 * 1024, MAX_CHUNK_SIZE)),
    tagTtlMs: number('TAG_TTL', env.TAG_TTL, 3, 0) * 1000,
    policyTtlMs: number('POLICY_TTL', env.POLICY_TTL, 3, 0) * 1000,
    linkTtlMs: number('LINK_TTL', env.LINK_TTL, 60, 0) * 1000,
    staleMs: number('STALE_SECONDS', env.STALE_SECONDS, 300, 0) * 1000,
    coalesceTimeoutMs: number('COALESCE_TIMEOUT', env.COALESCE_TIMEOUT, 30, 0.1) * 1000,
    originTimeoutMs: number('ORIGIN_TIMEOUT', env.ORIGIN_TIMEOUT, 10, 0.1) * 1000,
    pullReport: env.PULL_REPORT_SECRET
      ? {
          secret: env.PULL_REPORT_SECRET,
          // A report is sent from waitUntil, which a Worker keeps for at most 30 s after the response.
          delayMs: number('PULL_REPORT_DELAY', env.PULL_REPORT_DELAY, 2, 0, 20) * 1000,
          batch: Math.floor(number('PULL_REPORT_BATCH', env.PULL_REPORT_BATCH, 200, 1, MAX_REPORTED_PULLS)),
        }
      : undefined,
  };
}
