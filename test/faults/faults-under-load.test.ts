// Faults under load, on the production setup (PostgreSQL, S3, Redis) — each part the suite's own,
// so that it can crash them: 20 clients push and pull while PostgreSQL crashes and restarts, Redis
// is killed and restarted, the S3 server is down for 10 s, and the origin is SIGKILLed and
// restarted. After each: every acknowledged push pulls back byte for byte, no manifest references
// a missing blob, every failed request failed cleanly (503 UNAVAILABLE with an OCI error body:
// never a hang, a 500 or a 4xx; refused or dropped connections only while the origin itself is
// down), and the service recovered on its own within RECOVERY_BOUND_MS. The figures of each fault
// are printed (`fault figures: {…}`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from '../harness/redis-server.ts';
import { S3_BUCKET, S3_CREDENTIALS, type S3Server, startS3Server } from '../harness/s3.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from '../harness/served-registry.ts';
import { danglingReferences, unpullable } from './consistency.ts';
import { type AcknowledgedImage, CLIENT_TIMEOUT_MS, type Ending, isSuccess, Load, now } from './load.ts';
import { createPostgresCluster, type PostgresCluster } from './postgres-cluster.ts';

const CLIENTS = 20;
/** From the moment a part is back to every kind of request of the load succeeding again. */
const RECOVERY_BOUND_MS = 15_000;
/** Load before the fault, and after the recovery. */
const STEADY_MS = 3_000;

let cluster: PostgresCluster;
let redis: RedisServer;
let s3: S3Server;
let dataDir: string;
let origin: ServedRegistry;
const acknowledged: AcknowledgedImage[] = [];

function originEnv(): Record<string, string> {
  return {
    REGISTRY_DATA_DIR: dataDir,
    REGISTRY_DATABASE_URL: cluster.url,
    REGISTRY_STORAGE_BACKEND: 's3',
    REGISTRY_STORAGE_S3_BUCKET: S3_BUCKET,
    REGISTRY_STORAGE_S3_PREFIX: 'registry/',
    REGISTRY_STORAGE_S3_ENDPOINT: s3.endpoint,
    REGISTRY_STORAGE_S3_ACCESS_KEY_ID: S3_CREDENTIALS.access_key_id,
    REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secret_access_key,
    REGISTRY_STORAGE_S3_PART_SIZE: '5MiB',
    REGISTRY_STORAGE_CACHE_TYPE: 'redis',
    REGISTRY_STORAGE_CACHE_REDIS_URL: redis.url,
  };
}

/** The origin started again over the same state, on the same port (tried again while the port is busy). */
async function restartOrigin(port: number): Promise<ServedRegistry> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await serveRegistry({ ...originEnv(), REGISTRY_HTTP_ADDR: `127.0.0.1:${port}` });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  [cluster, redis, s3, dataDir] = await Promise.all([
    createPostgresCluster(),
    startRedisServer(),
    startS3Server(),
    mkdtemp(path.join(tmpdir(), 'registry-faults-')),
  ]);
  origin = await serveRegistry(originEnv());
});

afterAll(async () => {
  await killRegistry(origin);
  await s3?.stop();
  await redis?.stop();
  await cluster?.remove();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Fault {
  readonly label: string;
  /** Breaks the part. */
  inject(): Promise<void>;
  /** How long the part stays broken. */
  readonly downMs: number;
  /** Brings the part back. */
  restore(): Promise<void>;
  /**
   * How requests may end without an answer while the part is down: refused and reset while the
   * origin itself is, cut (an answer whose body breaks off) when what streams it dies mid-way.
   */
  readonly unanswered: readonly Ending['kind'][];
  /** Whether requests may fail (cleanly) meanwhile: not for Redis, which the origin does without. */
  readonly mayFail: boolean;
}

interface Figures {
  readonly fault: string;
  /** Requests under way between the fault and the recovery. */
  readonly requests: number;
  readonly failed: number;
  /** Failed requests by how they ended: `503 UNAVAILABLE`, `refused`, … */
  readonly endings: Record<string, number>;
  readonly longestMs: number;
  /** How long the part took to come back (a start-up, for the origin). */
  readonly restoreMs: number;
  /** From the part being back to every kind of request of the load having succeeded again. */
  readonly recoveryMs: number;
  /** Images acknowledged during this fault's run. */
  readonly acknowledged: number;
  /** Error lines the origin logged meanwhile. */
  readonly originErrors: number;
}

const describeEnding = (ending: Ending): string =>
  ending.kind === 'answered' ? `${ending.status} ${ending.code ?? '(no OCI body)'}` : ending.kind;

/**
 * A failure a client can act on: a part the origin needs is down, so 503 UNAVAILABLE with its OCI
 * error body (not a 500, which would say the registry itself failed), or a 429 TOOMANYREQUESTS.
 */
const isClean = (ending: Ending): boolean =>
  ending.kind === 'answered' &&
  ((ending.status === 503 && ending.code === 'UNAVAILABLE') ||
    (ending.status === 429 && ending.code === 'TOOMANYREQUESTS'));

/**
 * When every kind of request the load makes (each upload step, manifest push and pull, blob pull)
 * had succeeded with one that started at `since` or later; undefined if some kind has not yet.
 */
function recoveredBy(load: Load, since: number): number | undefined {
  const kinds = new Set(load.requests.map((r) => r.what));
  let at = since;
  for (const kind of kinds) {
    const first = load.requests.find((r) => r.what === kind && r.start >= since && isSuccess(r));
    if (!first) return undefined;
    at = Math.max(at, first.end);
  }
  return at;
}

async function underLoad(fault: Fault): Promise<Figures> {
  const load = new Load(origin.url, fault.label);
  const before = origin;
  const logged = before.lines.length;
  let faultStart = 0;
  let faultEnd = 0;
  let back = 0;
  let recoveredAt: number | undefined;
  load.start(CLIENTS);
  try {
    await sleep(STEADY_MS);
    faultStart = now();
    await fault.inject();
    await sleep(fault.downMs);
    faultEnd = now();
    await fault.restore();
    back = now();
    const deadline = back + RECOVERY_BOUND_MS + 5_000;
    while (recoveredAt === undefined && now() < deadline) {
      await sleep(50);
      recoveredAt = recoveredBy(load, back);
    }
    await sleep(STEADY_MS);
  } finally {
    await load.stop();
  }
  acknowledged.push(...load.acknowledged);

  const windowEnd = recoveredAt ?? now();
  const during = load.requests.filter((r) => r.end >= faultStart && r.start <= windowEnd);
  const failures = during.filter((r) => !isSuccess(r));
  const endings: Record<string, number> = {};
  for (const r of failures) {
    const key = r.wrong ? `wrong: ${r.wrong}` : describeEnding(r.ending);
    endings[key] = (endings[key] ?? 0) + 1;
  }
  const lines = [...before.lines.slice(logged), ...(origin === before ? [] : origin.lines)];
  const figures: Figures = {
    fault: fault.label,
    requests: during.length,
    failed: failures.length,
    endings,
    longestMs: Math.round(Math.max(0, ...during.map((r) => r.end - r.start))),
    restoreMs: Math.round(back - faultEnd),
    recoveryMs: recoveredAt === undefined ? Number.POSITIVE_INFINITY : Math.round(recoveredAt - back),
    acknowledged: load.acknowledged.length,
    originErrors: lines.filter((l) => (l.level as number) >= 50).length,
  };
  // The figures the closing note of issue 10 reports.
  console.log(`fault figures: ${JSON.stringify(figures)}`);

  // Every request that did not succeed, over the whole run: failed cleanly; no hang, no wrong
  // bytes. Only while the part is down may some go unanswered, as the fault says (counted above).
  const unclean = load.requests.filter((r) => {
    if (isSuccess(r) || isClean(r.ending)) return false;
    const meanwhile = r.start <= back && r.end >= faultStart;
    return !(meanwhile && fault.unanswered.includes(r.ending.kind));
  });
  expect(
    unclean.map(
      (r) =>
        `${r.what}: ${r.wrong ?? describeEnding(r.ending)} ${'detail' in r.ending ? r.ending.detail : ''}`,
    ),
  ).toEqual([]);
  if (!fault.mayFail) expect(load.requests.filter((r) => !isSuccess(r))).toEqual([]);
  expect(Math.max(...load.requests.map((r) => r.end - r.start))).toBeLessThan(CLIENT_TIMEOUT_MS);
  expect(figures.recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
  // The origin did not die of it (or, killed, the one started again still runs).
  expect(origin.process.exitCode).toBeNull();
  expect(origin.process.signalCode).toBeNull();

  // Every push acknowledged so far (this fault's and the earlier ones') pulls back as it was pushed.
  expect(figures.acknowledged).toBeGreaterThan(0);
  expect(await unpullable(origin.url, acknowledged)).toEqual([]);
  expect(await danglingReferences(cluster.url, s3)).toEqual([]);
  return figures;
}

// Each fault takes its load, its outage and its checks: well under the limit.
describe('faults under load: 20 clients pushing and pulling', { timeout: 120_000 }, () => {
  it('PostgreSQL crashed and restarted: 503 meanwhile, no acknowledged push lost', async () => {
    await underLoad({
      label: 'postgres',
      inject: () => cluster.crash(),
      downMs: 3_000,
      restore: () => cluster.start(),
      unanswered: [],
      mayFail: true,
    });
  });

  it('Redis killed and restarted: not one request fails, no acknowledged push lost', async () => {
    await underLoad({
      label: 'redis',
      inject: () => redis.kill(),
      downMs: 3_000,
      restore: () => redis.restart(),
      unanswered: [],
      mayFail: false,
    });
  });

  it('the S3 server stopped for 10 s: 503 meanwhile, no manifest without its blobs', async () => {
    await underLoad({
      label: 's3',
      inject: () => s3.halt(),
      downMs: 10_000,
      restore: () => s3.restart(),
      unanswered: ['cut'],
      mayFail: true,
    });
  });

  it('the origin SIGKILLed and restarted: every acknowledged push survives it', async () => {
    const { port } = origin;
    await underLoad({
      label: 'origin',
      inject: () => killRegistry(origin),
      downMs: 0,
      restore: async () => {
        origin = await restartOrigin(port);
      },
      unanswered: ['refused', 'reset', 'cut'],
      mayFail: true,
    });
  });
});
