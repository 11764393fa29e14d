// Runs the edge Worker for a test (or the benchmark): edge/src bundled by wrangler as a deploy
// would (`wrangler deploy --dry-run` at the top level, which reads the top-level wrangler.toml;
// once per content of the sources, kept under .tmp), then run in workerd through miniflare's API
// with the Durable Object binding and a fresh cache of its own, listening on 127.0.0.1 at a free
// port: a real HTTP listener, so docker can pull from it. The Worker gets the TEST_CLOCK binding
// (never in wrangler.toml), so that tests move its clock forward instead of sleeping out TTLs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Log, LogLevel, Miniflare } from 'miniflare';
import { Agent, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import { TEST_CLOCK_PATH } from '../../shared/clock.ts';
import { runOk } from './tools.ts';

export interface TestEdgeOptions {
  /** Where the edge sends origin requests (origin, or a counting proxy in front of it). */
  originUrl: string;
  /** origin's public URL, for the token realm (default: originUrl). */
  originPublicUrl?: string;
  /** origin's auth.service. */
  service: string;
  /** origin's auth.issuer (default `registry`). */
  issuer?: string;
  /** Bytes per cached chunk (default: the Worker's, 64 MiB). */
  chunkSize?: number;
  tagTtlSeconds?: number;
  policyTtlSeconds?: number;
  linkTtlSeconds?: number;
  staleSeconds?: number;
  /** How long requests wait for another's chunk fill before taking over (default 30). */
  coalesceTimeoutSeconds?: number;
  /** How long the edge waits for origin's answer to a metadata request (default 10). */
  originTimeoutSeconds?: number;
  /** origin's pulls.report_secret: the edge reports the pulls it serves (default: none, no reports). */
  pullReportSecret?: string;
  pullReportDelaySeconds?: number;
  pullReportBatch?: number;
  /** false: run without the TEST_CLOCK binding, as deployed (default true). */
  testClock?: boolean;
  /**
   * true: listen over HTTPS (miniflare's self-signed certificate for 127.0.0.1), as docker needs:
   * docker tries HTTPS first, and over plain HTTP workerd does not refuse the TLS handshake, so
   * every docker command would wait out docker's 10 s handshake timeout before falling back.
   * Docker does not verify the certificate of a 127.0.0.0/8 registry (an insecure registry).
   */
  https?: boolean;
}

export interface TestEdge {
  /** http://127.0.0.1:PORT, or https:// with the `https` option. */
  readonly url: string;
  /** 127.0.0.1:PORT, as docker names the registry. */
  readonly host: string;
  /**
   * fetch of `path` through the edge's listener; over HTTPS without checking the self-signed
   * certificate, as docker does for a 127.0.0.0/8 registry.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Moves the edge's clock `ms` forward: its TTLs run out without the test sleeping. */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const WRANGLER_TOML = path.join(ROOT, 'wrangler.toml');
/** The Durable Object class wrangler.toml binds as CHUNK_LOCKS. */
const LOCK_CLASS = 'ChunkLock';

interface Bundle {
  readonly dir: string;
  readonly compatibilityDate: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

async function buildBundle(): Promise<Bundle> {
  const toml = await readFile(WRANGLER_TOML, 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!compatibilityDate) throw new Error(`${WRANGLER_TOML} has no compatibility_date`);
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  const wranglerPackage = require.resolve('wrangler/package.json');
  const inputs = [
    ...(await filesUnder(path.join(ROOT, 'edge', 'src'))),
    ...(await filesUnder(path.join(ROOT, 'shared'))),
    WRANGLER_TOML,
    // The versions of wrangler, hono and everything else bundled.
    path.join(ROOT, 'package-lock.json'),
  ];
  for (const file of inputs) hash.update(file).update(await readFile(file));
  const dir = path.join(ROOT, '.tmp', 'edge-bundle', hash.digest('hex').slice(0, 16));
  if (existsSync(path.join(dir, 'index.js'))) return { dir, compatibilityDate };

  await mkdir(path.dirname(dir), { recursive: true });
  const building = await mkdtemp(`${dir}-building-`);
  try {
    await runOk(
      process.execPath,
      [
        path.join(path.dirname(wranglerPackage), 'bin', 'wrangler.js'),
        'deploy',
        '--dry-run',
        '--outdir',
        building,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
          WRANGLER_LOG: 'error',
          NO_COLOR: '1',
        },
        timeoutMs: 120_000,
      },
    );
    // Another process may have built the same bundle meanwhile: either copy will do.
    await rename(building, dir).catch(async () => {
      if (!existsSync(path.join(dir, 'index.js'))) throw new Error(`cannot place the edge bundle in ${dir}`);
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return { dir, compatibilityDate };
}

let bundle: Promise<Bundle> | undefined;

export async function startTestEdge(options: TestEdgeOptions): Promise<TestEdge> {
  bundle ??= buildBundle();
  const { dir, compatibilityDate } = await bundle;
  const cacheDir = await mkdtemp(path.join(tmpdir(), 'edge-cache-'));
  const vars: Record<string, string> = {
    ORIGIN_URL: options.originUrl,
    ORIGIN_PUBLIC_URL: options.originPublicUrl ?? options.originUrl,
    TOKEN_SERVICE: options.service,
    TOKEN_ISSUER: options.issuer ?? 'registry',
  };
  if (options.testClock !== false) vars.TEST_CLOCK = 'on';
  if (options.pullReportSecret) vars.PULL_REPORT_SECRET = options.pullReportSecret;
  const optional: [string, number | undefined][] = [
    ['CHUNK_SIZE', options.chunkSize],
    ['TAG_TTL', options.tagTtlSeconds],
    ['POLICY_TTL', options.policyTtlSeconds],
    ['LINK_TTL', options.linkTtlSeconds],
    ['STALE_SECONDS', options.staleSeconds],
    ['COALESCE_TIMEOUT', options.coalesceTimeoutSeconds],
    ['ORIGIN_TIMEOUT', options.originTimeoutSeconds],
    ['PULL_REPORT_DELAY', options.pullReportDelaySeconds],
    ['PULL_REPORT_BATCH', options.pullReportBatch],
  ];
  for (const [name, value] of optional) if (value !== undefined) vars[name] = String(value);

  const miniflare = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    modules: true,
    modulesRoot: dir,
    scriptPath: path.join(dir, 'index.js'),
    compatibilityDate,
    bindings: vars,
    durableObjects: { CHUNK_LOCKS: LOCK_CLASS },
    cachePersist: cacheDir,
    // No request to Cloudflare for the request.cf object; colo stays fixed.
    cf: { colo: 'TST' },
    ...(options.https ? { https: true } : {}),
    log: new Log(process.env.TEST_LOG_LEVEL === 'debug' ? LogLevel.DEBUG : LogLevel.WARN),
  });
  let url: URL;
  try {
    url = await miniflare.ready;
  } catch (error) {
    await rm(cacheDir, { recursive: true, force: true });
    throw error;
  }
  // The self-signed certificate is not checked: the test trusts its own listener, as docker does.
  const agent = options.https ? new Agent({ connect: { rejectUnauthorized: false } }) : undefined;
  const edgeFetch = (target: string, init: RequestInit = {}): Promise<Response> =>
    undiciFetch(new URL(target, url), agent ? { ...init, dispatcher: agent } : init);
  return {
    url: url.origin,
    host: url.host,
    fetch: edgeFetch,
    async advanceClock(ms) {
      const response = await edgeFetch(TEST_CLOCK_PATH, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ advanceMs: ms }),
      });
      if (response.status !== 200)
        throw new Error(`the edge's clock did not move: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    },
    async close() {
      await miniflare.dispose();
      await agent?.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
