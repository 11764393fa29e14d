// The "edge" section: the edge Worker (workerd, under miniflare, as test/harness/edge.ts runs it) in
// front of the origin, against the origin itself and CNCF distribution, with the real Docker CLI:
//   - wall time of `docker pull` of a multi-layer image the edge has cached, 20 times (docker rmi
//     between pulls, so every layer is downloaded each time), against the same pull straight from
//     origin and from distribution, taking turns pull by pull;
//   - the origin requests each cached pull through the edge causes (a counting proxy sits between
//     edge and origin): the issue's target is no blob request and at most one tag revalidation;
//   - first byte and throughput of one GET of a cached 64 MiB blob from the edge, against origin
//     and distribution;
//   - what revalidating every tag costs: the same cached pull through an edge with TAG_TTL=0
//     (every tag request a conditional GET to origin) against the edge with the default TAG_TTL,
//     taking turns, and a cached manifest GET by tag through each.
// Distribution is Debian's docker-registry; without it the section measures the edge against
// origin only and says why. The Docker engine is the end-to-end tests' (test/harness/dockerd.ts).
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startCountingProxy } from '../test/harness/counting-proxy.ts';
import { buildScratchImage, type DockerCli, startDockerSession } from '../test/harness/dockerd.ts';
import { startTestEdge } from '../test/harness/edge.ts';
import { ACCEPT_ALL_MANIFESTS } from '../test/harness/oci-image.ts';
import { generateBlob, getBlob, pushBlob, type TimedGet } from './blob.ts';
import { machineSummary, writeMarkedBlock } from './report.ts';
import { startDistribution, startOurs, type Target } from './servers.ts';
import { startTlsProbeGuard } from './tls-probe-guard.ts';
import { fixed, log, MiB, median, percentile, type Resources, sleep } from './util.ts';

const BEGIN = '<!-- bench section edge: begin -->';
const END = '<!-- bench section edge: end -->';

/** Timed docker pulls per registry. */
const PULLS = 20;
/** The image's layers (as the load tests' image: 11.5 MiB of random bytes in 5 layers). */
const LAYER_SIZES = [1, 1.5, 2, 3, 4].map((n) => n * MiB);
const BLOB_SIZE = 64 * MiB;
const BLOB_GETS = 5;
/** The issue's target for a cached pull through the edge. */
const PULL_TARGET_MS = 1000;
const REPOSITORY = 'bench/edge-image';
const TAG = '1';
const BLOB_REPOSITORY = 'bench/edge-blob';
/** Timed docker pulls per TAG_TTL setting, and cached manifest GETs by tag per setting. */
const TTL_PULLS = 20;
const TTL_GETS = 200;
/** wrangler.toml's TAG_TTL, which the main edge runs with. */
const DEFAULT_TAG_TTL_SECONDS = 3;
/** A TAG_TTL (and POLICY_TTL) the comparison cannot outlast: every tag request is answered from the cache. */
const FRESH_TAG_TTL_SECONDS = 3600;

type Where = 'edge' | 'origin' | 'distribution';

export interface EdgeSectionOptions {
  readonly scratch: string;
  readonly resources: Resources;
  /** docker-registry's path, or the reason it cannot be used (then only edge and origin run). */
  readonly distribution: { binary: string } | { missing: string };
  readonly nodeArgs: string[];
}

interface OriginRequests {
  readonly blobGets: number;
  readonly manifests: number;
  readonly all: string[];
}

export interface EdgeResult {
  readonly startedAt: Date;
  readonly loadStart: number[];
  readonly loadEnd: number[];
  readonly dockerVersion: string;
  readonly distributionSkipped: string | undefined;
  readonly imageLayers: number;
  readonly imageBytes: number;
  /** ms of each timed pull, in order, per registry (absent: not measured). */
  readonly pulls: Partial<Record<Where, number[]>>;
  /** ms of the first pull from each (the edge's is cold: nothing of the image cached yet). */
  readonly firstPull: Partial<Record<Where, number>>;
  readonly coldOrigin: OriginRequests;
  /** Origin requests during each timed pull through the edge. */
  readonly cachedOrigin: OriginRequests[];
  /** ms of `docker version` (CLI start and one engine round trip), PULLS times. */
  readonly cliFloorMs: number[];
  /** ms of one pull through the edge with docker connecting to workerd's listener directly. */
  readonly unguardedMs: number;
  readonly blobCold: TimedGet;
  readonly blobGets: Partial<Record<Where, TimedGet[]>>;
  readonly blobOrigin: OriginRequests;
  readonly tagTtl: TagTtlResult;
}

/** An edge that finds the tag fresh (within its TAG_TTL), and one with TAG_TTL=0 (every tag request revalidated). */
type Revalidation = 'fresh' | 'always';

export interface TagTtlResult {
  /** ms of each timed docker pull of the cached image, in order. */
  readonly pulls: Record<Revalidation, number[]>;
  /** Origin manifest requests during each of those pulls. */
  readonly manifests: Record<Revalidation, number[]>;
  /** ms of each GET of the cached manifest by tag, with a pull token and docker's Accept. */
  readonly gets: Record<Revalidation, number[]>;
  /** Origin manifest requests during those GETs. */
  readonly getManifests: Record<Revalidation, number>;
}

function classify(requests: string[], repository: string): OriginRequests {
  return {
    blobGets: requests.filter((r) => r.startsWith(`GET /v2/${repository}/blobs/`)).length,
    manifests: requests.filter((r) => r.includes(`/v2/${repository}/manifests/`)).length,
    all: requests,
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** docker pull that must succeed and print the pushed digest; returns its wall time in ms. */
async function dockerPull(docker: DockerCli, ref: string, digest: string): Promise<number> {
  const { ms, value: pull } = await timed(() => docker.run(['pull', ref]));
  if (pull.code !== 0) throw new Error(`docker pull ${ref} failed (exit ${pull.code}): ${pull.stderr}`);
  if (!pull.stdout.includes(`Digest: ${digest}`))
    throw new Error(`docker pull ${ref} printed no "Digest: ${digest}":\n${pull.stdout}`);
  if (/Image is up to date/.test(pull.stdout))
    throw new Error(`docker pull ${ref}: the image was still in the engine:\n${pull.stdout}`);
  return ms;
}

/** docker rmi of the only name of image `id`: the image and its layers must be gone after it. */
async function dockerForget(docker: DockerCli, ref: string, id: string): Promise<void> {
  const rmi = await docker.run(['rmi', ref]);
  if (rmi.code !== 0) throw new Error(`docker rmi ${ref} failed: ${rmi.stderr}`);
  if (!rmi.stdout.includes(`Deleted: ${id}`))
    throw new Error(`docker rmi ${ref} did not delete image ${id}:\n${rmi.stdout}`);
}

export async function runEdgeSection(options: EdgeSectionOptions): Promise<EdgeResult> {
  const { scratch, resources } = options;
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const dir = path.join(scratch, 'edge');
  await mkdir(dir, { recursive: true });
  const releaseDir = resources.add('edge dir', () => rm(dir, { recursive: true, force: true }));

  // Origin with its defaults (PGlite, filesystem), no scan on push: nothing but the pulls runs.
  const origin = await startOurs(
    path.join(dir, 'origin'),
    options.nodeArgs,
    { scan: { on_push: false } },
    'origin',
  );
  const stopOrigin = resources.add('origin (edge section)', origin.stop);
  log(`origin listening on ${origin.base} (pid ${origin.pid})`);
  const proxy = await startCountingProxy(origin.base);
  const stopProxy = resources.add('counting proxy', () => proxy.close());
  const originHost = new URL(origin.base).host;
  const edge = await startTestEdge({
    originUrl: proxy.url,
    originPublicUrl: origin.base,
    service: originHost,
    issuer: 'registry',
    // Measured as deployed: no test clock.
    testClock: false,
  });
  const stopEdge = resources.add('edge (workerd)', () => edge.close());
  const guard = await startTlsProbeGuard(edge.url);
  const stopGuard = resources.add('TLS probe guard', () => guard.close());
  log(
    `edge listening on ${edge.url} (docker: ${guard.host}), to origin through the counting proxy ${proxy.url}`,
  );

  let distribution: Target | undefined;
  let stopDistribution = async () => {};
  const distributionSkipped = 'missing' in options.distribution ? options.distribution.missing : undefined;
  if ('binary' in options.distribution) {
    distribution = await startDistribution(options.distribution.binary, path.join(dir, 'distribution'));
    stopDistribution = resources.add('distribution (edge section)', distribution.stop);
    log(`distribution listening on ${distribution.base} (pid ${distribution.pid})`);
  } else {
    log(`distribution not measured: ${distributionSkipped}`);
  }

  const session = await startDockerSession((cleanup) => {
    resources.add('docker session', async () => {
      await cleanup();
    });
  });
  const { docker } = session;
  const dockerVersion = (await docker.ok(['version', '--format', '{{.Server.Version}}'])).trim();
  for (const host of [originHost, guard.host, edge.host]) {
    const login = await docker.login(host, 'admin', 'secret');
    if (login.code !== 0) throw new Error(`docker login ${host} failed: ${login.stderr}`);
  }

  // The image: FROM scratch, one COPY of random bytes per layer.
  const layers = Object.fromEntries(LAYER_SIZES.map((size, i) => [`layer-${i}.bin`, randomBytes(size)]));
  const local = `edge-bench-${process.pid}:built`;
  await buildScratchImage(docker, path.join(dir, 'context'), local, layers);
  const names = new Set<string>([local]);
  // Whatever name is left in the shared engine is removed at the end.
  resources.add('bench images', async () => {
    if (names.size > 0) await docker.run(['rmi', '--force', ...names]);
  });
  const [inspected] = JSON.parse(await docker.ok(['image', 'inspect', local])) as { Id: string }[];
  const id = inspected?.Id as string;

  const refs: Partial<Record<Where, string>> = {
    edge: `${guard.host}/${REPOSITORY}:${TAG}`,
    origin: `${originHost}/${REPOSITORY}:${TAG}`,
    ...(distribution ? { distribution: `${new URL(distribution.base).host}/${REPOSITORY}:${TAG}` } : {}),
  };
  let digest = '';
  for (const where of ['origin', 'distribution'] as const) {
    const ref = refs[where];
    if (!ref) continue;
    await docker.ok(['tag', local, ref]);
    names.add(ref);
    const push = await docker.ok(['push', ref]);
    const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
    if (!pushed) throw new Error(`docker push ${ref} printed no digest:\n${push}`);
    if (digest && pushed !== digest)
      throw new Error(`docker push ${ref}: digest ${pushed}, origin's ${digest}`);
    digest = pushed;
    log(`pushed ${ref} (${digest})`);
  }
  for (const name of [...names].reverse()) {
    const rmi = await docker.run(['rmi', name]);
    if (rmi.code !== 0) throw new Error(`docker rmi ${name} failed: ${rmi.stderr}`);
    names.delete(name);
  }
  if ((await docker.run(['image', 'inspect', id])).code === 0)
    throw new Error(`image ${id} is still in the engine after removing its names`);

  const order: Where[] = ['edge', 'origin', ...(distribution ? (['distribution'] as const) : [])];
  const pullAndForget = (where: Where) => pullRef(refs[where] as string);
  async function pullRef(ref: string): Promise<{ ms: number; origin: string[] }> {
    const mark = proxy.requests.length;
    const ms = await dockerPull(docker, ref, digest);
    names.add(ref);
    const seen = proxy.requests.slice(mark);
    await dockerForget(docker, ref, id);
    names.delete(ref);
    return { ms, origin: seen };
  }

  // First pulls: the edge's is cold (it fetches from origin and fills its cache); origin's and
  // distribution's warm their page caches.
  const firstPull: Partial<Record<Where, number>> = {};
  let coldOrigin: OriginRequests = { blobGets: 0, manifests: 0, all: [] };
  for (const where of order) {
    const first = await pullAndForget(where);
    firstPull[where] = first.ms;
    if (where === 'edge') coldOrigin = classify(first.origin, REPOSITORY);
    log(`first pull from ${where}: ${fixed(first.ms, 0)} ms`);
  }
  // The edge may still be writing what it streamed into its cache: let it settle.
  await sleep(2000);

  const pulls: Partial<Record<Where, number[]>> = Object.fromEntries(order.map((w) => [w, []]));
  const cachedOrigin: OriginRequests[] = [];
  for (let round = 0; round < PULLS; round++) {
    for (const where of order) {
      const pull = await pullAndForget(where);
      pulls[where]?.push(pull.ms);
      if (where === 'edge') cachedOrigin.push(classify(pull.origin, REPOSITORY));
    }
    log(
      `pull ${round + 1}/${PULLS}: ${order.map((w) => `${w} ${fixed(pulls[w]?.at(-1) ?? 0, 0)} ms`).join(', ')}`,
    );
  }
  // For the record, one pull with docker talking to workerd's listener itself (see the guard).
  const unguarded = `${edge.host}/${REPOSITORY}:${TAG}`;
  const unguardedMs = await dockerPull(docker, unguarded, digest);
  names.add(unguarded);
  await dockerForget(docker, unguarded, id);
  names.delete(unguarded);
  log(`pull from the edge without the guard: ${fixed(unguardedMs, 0)} ms`);
  const cliFloorMs: number[] = [];
  for (let i = 0; i < PULLS; i++) cliFloorMs.push((await timed(() => docker.ok(['version']))).ms);

  // TAG_TTL=0 against a tag the edge holds fresh: two more edges, also through the counting
  // proxy, one revalidating every tag request, one whose TAG_TTL and POLICY_TTL outlast the
  // measurement (as the default 3 s do for a tag pulled at least every 3 s: the pulls here are
  // further apart than that); pulls and GETs take turns between them.
  const startComparedEdge = async (setting: Revalidation, tagTtlSeconds: number) => {
    const started = await startTestEdge({
      originUrl: proxy.url,
      originPublicUrl: origin.base,
      service: originHost,
      issuer: 'registry',
      tagTtlSeconds,
      // A cached answer also needs a fresh pull decision: the fresh edge's outlasts the
      // measurement too; the TAG_TTL=0 edge's is renewed by every revalidation anyway.
      ...(setting === 'fresh' ? { policyTtlSeconds: tagTtlSeconds } : {}),
      testClock: false,
    });
    const stop = resources.add(`edge, TAG_TTL ${tagTtlSeconds} s (workerd)`, () => started.close());
    const guarded = await startTlsProbeGuard(started.url);
    const stopGuarded = resources.add(`TLS probe guard (TAG_TTL ${tagTtlSeconds} s)`, () => guarded.close());
    const login = await docker.login(guarded.host, 'admin', 'secret');
    if (login.code !== 0) throw new Error(`docker login ${guarded.host} failed: ${login.stderr}`);
    log(`edge with TAG_TTL=${tagTtlSeconds} (${setting}) on ${started.url} (docker: ${guarded.host})`);
    return {
      url: started.url,
      ref: `${guarded.host}/${REPOSITORY}:${TAG}`,
      stop: async () => {
        await stopGuarded();
        await stop();
      },
    };
  };
  const fresh = await startComparedEdge('fresh', FRESH_TAG_TTL_SECONDS);
  const always = await startComparedEdge('always', 0);
  const tagTtl = await measureTagTtl({
    pull: (ref) => pullRef(ref),
    refs: { fresh: fresh.ref, always: always.ref },
    bases: { fresh: fresh.url, always: always.url },
    proxy,
    pullAuth: await origin.auth(REPOSITORY, 'pull'),
  });
  await always.stop();
  await fresh.stop();

  // One 64 MiB blob, pushed to origin and distribution, fetched once through the edge (cold),
  // then GET from each in turn.
  const blobFile = path.join(dir, 'blob.bin');
  const blobDigest = await generateBlob(blobFile, BLOB_SIZE);
  const originPush = await origin.auth(BLOB_REPOSITORY, 'pull,push');
  await pushBlob(origin.base, BLOB_REPOSITORY, blobFile, blobDigest, originPush);
  if (distribution) await pushBlob(distribution.base, BLOB_REPOSITORY, blobFile, blobDigest, {});
  await rm(blobFile, { force: true });
  const pullAuth = await origin.auth(BLOB_REPOSITORY, 'pull');
  const bases: Record<Where, string | undefined> = {
    edge: edge.url,
    origin: origin.base,
    distribution: distribution?.base,
  };
  const getFrom = (where: Where, verify: boolean) =>
    getBlob(
      bases[where] as string,
      BLOB_REPOSITORY,
      blobDigest,
      BLOB_SIZE,
      where === 'distribution' ? {} : pullAuth,
      verify,
      120_000,
    );
  const blobCold = await getFrom('edge', true);
  log(`64 MiB blob, cold through the edge: ${fixed(blobCold.seconds * 1000, 0)} ms`);
  await sleep(2000);
  const blobGets: Partial<Record<Where, TimedGet[]>> = Object.fromEntries(order.map((w) => [w, []]));
  const blobMark = proxy.requests.length;
  for (let round = 0; round < BLOB_GETS; round++) {
    for (const where of order) {
      blobGets[where]?.push(await getFrom(where, round === 0));
    }
  }
  // All of it is the edge's: the GETs straight from origin do not pass through the proxy.
  const blobOrigin = classify(proxy.requests.slice(blobMark), BLOB_REPOSITORY);

  const loadEnd = os.loadavg();
  await stopDistribution();
  await stopGuard();
  await stopEdge();
  await stopProxy();
  await stopOrigin();
  await releaseDir();
  return {
    startedAt,
    loadStart,
    loadEnd,
    dockerVersion,
    distributionSkipped,
    imageLayers: LAYER_SIZES.length,
    imageBytes: LAYER_SIZES.reduce((a, b) => a + b, 0),
    pulls,
    firstPull,
    coldOrigin,
    cachedOrigin,
    cliFloorMs,
    unguardedMs,
    blobCold,
    blobGets,
    blobOrigin,
    tagTtl,
  };
}

interface TagTtlRun {
  /** A timed docker pull (then rmi) of `ref`, with the origin requests seen during it. */
  readonly pull: (ref: string) => Promise<{ ms: number; origin: string[] }>;
  readonly refs: Record<Revalidation, string>;
  /** Each edge's URL, for the manifest GETs. */
  readonly bases: Record<Revalidation, string>;
  readonly proxy: { readonly requests: string[] };
  readonly pullAuth: Record<string, string>;
}

async function measureTagTtl(run: TagTtlRun): Promise<TagTtlResult> {
  const settings: Revalidation[] = ['fresh', 'always'];
  const manifestRequests = (requests: string[]) =>
    requests.filter((r) => r.includes(`/v2/${REPOSITORY}/manifests/`)).length;
  // The first pull through each is cold: not counted.
  for (const setting of settings) {
    const first = await run.pull(run.refs[setting]);
    log(`first pull through the ${setting} edge (cold): ${fixed(first.ms, 0)} ms`);
  }
  await sleep(2000);
  const pulls: Record<Revalidation, number[]> = { fresh: [], always: [] };
  const manifests: Record<Revalidation, number[]> = { fresh: [], always: [] };
  for (let round = 0; round < TTL_PULLS; round++) {
    for (const setting of settings) {
      const pull = await run.pull(run.refs[setting]);
      pulls[setting].push(pull.ms);
      manifests[setting].push(manifestRequests(pull.origin));
    }
    log(
      `TAG_TTL pull ${round + 1}/${TTL_PULLS}: fresh ${fixed(pulls.fresh.at(-1) ?? 0, 0)} ms, ` +
        `TAG_TTL=0 ${fixed(pulls.always.at(-1) ?? 0, 0)} ms`,
    );
  }
  const gets: Record<Revalidation, number[]> = { fresh: [], always: [] };
  const getManifests: Record<Revalidation, number> = { fresh: 0, always: 0 };
  const headers = { ...run.pullAuth, Accept: ACCEPT_ALL_MANIFESTS };
  for (let round = 0; round < TTL_GETS; round++) {
    for (const setting of settings) {
      const mark = run.proxy.requests.length;
      const { ms: elapsed, value: status } = await timed(async () => {
        const response = await fetch(`${run.bases[setting]}/v2/${REPOSITORY}/manifests/${TAG}`, { headers });
        await response.arrayBuffer();
        return response.status;
      });
      if (status !== 200) throw new Error(`manifest GET through the ${setting} edge: ${status}`);
      gets[setting].push(elapsed);
      getManifests[setting] += manifestRequests(run.proxy.requests.slice(mark));
    }
  }
  log(
    `cached manifest GET by tag, median: fresh ${fixed(median(gets.fresh), 2)} ms, ` +
      `TAG_TTL=0 ${fixed(median(gets.always), 2)} ms`,
  );
  return { pulls, manifests, gets, getManifests };
}

// ---------------------------------------------------------------------------------------------
// The report

const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const loads = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
const ms = (seconds: number) => seconds * 1000;

interface TableRow {
  readonly label: string;
  /** Per registry; undefined: not measured there. */
  readonly values: Partial<Record<Where, number>>;
  readonly digits: number;
  /** Whether the ratio to the edge means anything for this row. */
  readonly ratio: boolean;
  readonly target?: { text: string; met: boolean };
}

function tableRows(r: EdgeResult): TableRow[] {
  const each = <T>(pick: (values: T) => number, from: Partial<Record<Where, T>>) =>
    Object.fromEntries(
      (Object.entries(from) as [Where, T][]).map(([where, values]) => [where, pick(values)]),
    ) as Partial<Record<Where, number>>;
  const pullMedian = each((v: number[]) => median(v), r.pulls);
  const pullP99 = each((v: number[]) => percentile(sorted(v), 99), r.pulls);
  const maxBlobGets = Math.max(...r.cachedOrigin.map((o) => o.blobGets));
  const maxManifests = Math.max(...r.cachedOrigin.map((o) => o.manifests));
  const allRequests = r.cachedOrigin.reduce((n, o) => n + o.all.length, 0);
  const firstByte = each((v: TimedGet[]) => median(v.map((g) => ms(g.firstByteSeconds))), r.blobGets);
  const total = each((v: TimedGet[]) => median(v.map((g) => ms(g.seconds))), r.blobGets);
  const rate = each((v: TimedGet[]) => BLOB_SIZE / MiB / median(v.map((g) => g.seconds)), r.blobGets);
  const n = r.pulls.edge?.length ?? 0;
  const edgeOnly = (value: number) => ({ edge: value });
  return [
    {
      label: `\`docker pull\` of the cached image, median of ${n} (ms)`,
      values: pullMedian,
      digits: 0,
      ratio: true,
      target: { text: 'edge < 1 s', met: (pullMedian.edge ?? Infinity) < PULL_TARGET_MS },
    },
    {
      label: `\`docker pull\` of the cached image, p99 of ${n} (ms)`,
      values: pullP99,
      digits: 0,
      ratio: true,
      target: { text: 'edge < 1 s', met: (pullP99.edge ?? Infinity) < PULL_TARGET_MS },
    },
    {
      label: '`docker pull`, first pull (ms; the edge cold)',
      values: r.firstPull,
      digits: 0,
      ratio: true,
    },
    {
      label: '`docker pull` of the cached image, straight to workerd (no TLS probe guard; ms, 1 pull)',
      values: edgeOnly(r.unguardedMs),
      digits: 0,
      ratio: false,
    },
    {
      label: `Origin blob GETs per cached pull through the edge (most in one of ${n})`,
      values: edgeOnly(maxBlobGets),
      digits: 0,
      ratio: false,
      target: { text: '0', met: maxBlobGets === 0 },
    },
    {
      label: `Origin manifest requests (tag revalidations) per cached pull (most in one of ${n})`,
      values: edgeOnly(maxManifests),
      digits: 0,
      ratio: false,
      target: { text: '≤ 1', met: maxManifests <= 1 },
    },
    {
      label: `Origin requests of any kind, all ${n} cached pulls together`,
      values: edgeOnly(allRequests),
      digits: 0,
      ratio: false,
    },
    {
      label: `Cached 64 MiB blob GET: first byte, median of ${r.blobGets.edge?.length ?? 0} (ms)`,
      values: firstByte,
      digits: 1,
      ratio: true,
    },
    {
      label: 'Cached 64 MiB blob GET: total (ms)',
      values: total,
      digits: 0,
      ratio: true,
    },
    {
      label: 'Cached 64 MiB blob GET: throughput (MiB/s)',
      values: rate,
      digits: 0,
      ratio: true,
    },
    {
      label: 'Origin blob GETs during those cached blob GETs through the edge',
      values: edgeOnly(r.blobOrigin.blobGets),
      digits: 0,
      ratio: false,
      target: { text: '0', met: r.blobOrigin.blobGets === 0 },
    },
    {
      label: '64 MiB blob, first GET through the edge (cold): first byte (ms)',
      values: edgeOnly(ms(r.blobCold.firstByteSeconds)),
      digits: 1,
      ratio: false,
    },
    {
      label: '64 MiB blob, first GET through the edge (cold): total (ms)',
      values: edgeOnly(ms(r.blobCold.seconds)),
      digits: 0,
      ratio: false,
    },
  ];
}

export function edgeTable(r: EdgeResult): string {
  const lines = [
    '| Measurement | edge | origin | distribution | edge / origin | edge / distribution | target | met |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  const cell = (value: number | undefined, digits: number) =>
    value === undefined ? '—' : fixed(value, digits);
  const ratio = (row: TableRow, other: Where) => {
    const edge = row.values.edge;
    const theirs = row.values[other];
    if (!row.ratio || edge === undefined || theirs === undefined || theirs === 0) return '—';
    return `${fixed(edge / theirs, 2)}×`;
  };
  for (const row of tableRows(r)) {
    lines.push(
      `| ${row.label} | ${cell(row.values.edge, row.digits)} | ${cell(row.values.origin, row.digits)} | ` +
        `${cell(row.values.distribution, row.digits)} | ${ratio(row, 'origin')} | ${ratio(row, 'distribution')} | ` +
        `${row.target?.text ?? ''} | ${row.target ? (row.target.met ? 'yes' : '**no**') : ''} |`,
    );
  }
  return lines.join('\n');
}

/** A fresh tag against TAG_TTL=0: docker pulls and manifest GETs, with the difference. */
export function tagTtlTable(t: TagTtlResult): string {
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const p99 = (values: number[]) => percentile(sorted(values), 99);
  const rows: [string, (pick: Revalidation) => number, number][] = [
    [
      `\`docker pull\` of the cached image, median of ${t.pulls.fresh.length} (ms)`,
      (w) => median(t.pulls[w]),
      0,
    ],
    [`\`docker pull\` of the cached image, p99 of ${t.pulls.fresh.length} (ms)`, (w) => p99(t.pulls[w]), 0],
    ['Origin manifest requests per pull (mean)', (w) => mean(t.manifests[w]), 2],
    [`Cached manifest GET by tag, median of ${t.gets.fresh.length} (ms)`, (w) => median(t.gets[w]), 2],
    [`Cached manifest GET by tag, p99 of ${t.gets.fresh.length} (ms)`, (w) => p99(t.gets[w]), 2],
    [`Origin manifest requests during those ${t.gets.fresh.length} GETs`, (w) => t.getManifests[w], 0],
  ];
  const lines = [
    '| Measurement | answered from the cache | TAG_TTL 0 | difference |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const [label, value, digits] of rows) {
    const base = value('fresh');
    const zero = value('always');
    const sign = zero - base >= 0 ? '+' : '−';
    lines.push(
      `| ${label} | ${fixed(base, digits)} | ${fixed(zero, digits)} | ${sign}${fixed(Math.abs(zero - base), digits)} |`,
    );
  }
  return lines.join('\n');
}

/** How many of the main edge's cached pulls revalidated the tag with origin. */
function revalidatedPulls(r: EdgeResult): number {
  return r.cachedOrigin.filter((o) => o.manifests > 0).length;
}

/** "N × METHOD path" for each distinct request, most frequent first. */
function tally(requests: string[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    // Digests and upload ids vary; the shape of the request is what matters.
    const shape = r.replace(/sha256:[0-9a-f]{64}/g, 'sha256:…');
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  if (counts.size === 0) return 'none';
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([shape, count]) => `${count} × \`${shape}\``)
    .join(', ');
}

export function edgeBlock(r: EdgeResult, table = edgeTable(r)): string {
  const list = (values: number[] | undefined) => (values ?? []).map((v) => fixed(v, 0)).join(', ');
  const cached = r.cachedOrigin.flatMap((o) => o.all);
  const distributionLine = r.distributionSkipped
    ? `Distribution was not measured in this run: ${r.distributionSkipped}.`
    : "Distribution: Debian's `docker-registry` (CNCF distribution 2.8), filesystem storage, no auth, as in the other sections.";
  return `## Edge

The edge Worker in front of the origin (issue 5), measured by bench/edge.ts with the real Docker
CLI: \`docker pull\` of an image the edge has cached, against the same pull straight from origin and
from distribution, the origin requests a cached pull causes, and a cached 64 MiB blob.

Run on ${when(r.startedAt)}; load average (1, 5, 15 min) ${loads(r.loadStart)} at the start and
${loads(r.loadEnd)} at the end. Machine: ${machineSummary()}; Docker engine ${r.dockerVersion}
(the end-to-end tests' dockerd: vfs storage driver, no networking).

\`\`\`sh
BENCH_SECTIONS=edge npm run bench   # a few minutes; needs dockerd (docker.io), curl, docker-registry
\`\`\`

${table}

Ratios are edge / origin and edge / distribution: lower is better for times, higher for MiB/s.
The p99 of ${r.pulls.edge?.length ?? 0} pulls is their slowest. Each timed pull (ms):
edge ${list(r.pulls.edge)}; origin ${list(r.pulls.origin)}${r.pulls.distribution ? `; distribution ${list(r.pulls.distribution)}` : ''}.

### Revalidating every tag: TAG_TTL=0

What \`TAG_TTL=0\` (every tag request a conditional \`GET\` to origin with \`If-None-Match\`; \`304\`
keeps the cached manifest) costs a cached pull, against a pull the edge answers from its cache
alone, as it does with the defaults (\`TAG_TTL\` and \`POLICY_TTL\` ${DEFAULT_TAG_TTL_SECONDS} s) for a tag pulled at least every
${DEFAULT_TAG_TTL_SECONDS} s. Two more edges in front of the same origin, through the same counting proxy: one with
\`TAG_TTL=0\`, one with \`TAG_TTL\` and \`POLICY_TTL\` ${FRESH_TAG_TTL_SECONDS} s, which the measurement cannot outlast (the
pulls here are seconds apart, so an edge with the defaults revalidates on most of them: the main
table's edge did on ${revalidatedPulls(r)} of its ${r.cachedOrigin.length} cached pulls). Each
edge's cache is filled by one pull first; then ${r.tagTtl.pulls.fresh.length} rounds of one \`docker pull\` (and \`rmi\`) from
each in turn, then ${r.tagTtl.gets.fresh.length} rounds of one \`GET /v2/${REPOSITORY}/manifests/${TAG}\` from each (a pull
token, docker's \`Accept\`, one keep-alive client). Origin is on loopback here, so a revalidation
costs what origin takes to answer it plus a local round trip; deployed, add the round trip from
the data centre to origin.

${tagTtlTable(r.tagTtl)}

Each timed pull (ms): from the cache ${list(r.tagTtl.pulls.fresh)}; TAG_TTL 0 ${list(r.tagTtl.pulls.always)}.

### How it was measured

- **Set-up.** Origin (\`origin/cli.ts serve\`, a child process, PGlite and filesystem, token auth,
  \`scan.on_push: false\`, \`log.level: warn\`); the edge as the tests run it (test/harness/edge.ts:
  the Worker in workerd under miniflare, with wrangler.toml's settings: 64 MiB chunks, tag TTL 3 s,
  policy TTL 3 s, link TTL 60 s), reaching origin
  through a counting proxy (test/harness/counting-proxy.ts, in the benchmark's process) that
  records every request the edge sends to origin; docker gets its tokens from origin's \`/token\`
  directly, as the edge's 401 challenge tells it. ${distributionLine}
- **Docker reaches the edge through a TLS probe guard** (\`startTlsProbeGuard\` in
  bench/tls-probe-guard.ts), a byte-for-byte TCP pass-through in the benchmark's process that closes every
  connection opening with a TLS handshake. Docker tries HTTPS first for a 127.0.0.0/8 registry
  and falls back to plain HTTP when that fails. Origin's and distribution's HTTP servers
  refuse the ClientHello at once, so the fallback is immediate; workerd's listener
  keeps waiting for a request line until docker's 10 s TLS handshake timeout, which adds 10 s to
  every docker command that talks to workerd directly (the row "straight to workerd": one pull
  without the guard). That is the local set-up, not the edge: deployed, the edge is reached over
  HTTPS (and the tests and the README's local recipe run workerd over HTTPS, which docker takes
  at once). The benchmark keeps plain HTTP so that the edge, origin and distribution are compared
  over the same protocol. The guard is one extra loopback hop for the edge's bytes; origin and
  distribution have none.
- **The image**: \`FROM scratch\` and one \`COPY\` per layer, ${r.imageLayers} layers of random bytes
  (${LAYER_SIZES.map((s) => fixed(s / MiB, 1)).join(', ')} MiB: ${fixed(r.imageBytes / MiB, 1)} MiB, as the load tests' image), built with
  \`docker build\`, pushed with \`docker push\` to origin${r.distributionSkipped ? '' : ' and to distribution'}, then removed from the engine.
- **Pulls**: the wall time of the \`docker pull <registry>/${REPOSITORY}:${TAG}\` command, from
  spawning the CLI to its exit (CLI start, token, manifest, the layers, their extraction by the
  engine). After every pull \`docker rmi\` (not timed) removes the image and its layers, so every
  pull downloads all ${r.imageLayers} layers; each pull must print the pushed digest and each rmi must delete the
  image. A first pull from each registry is not counted in the median: the edge's is cold (it
  fetches from origin and fills its cache), origin's and distribution's fill the page cache. Then
  ${r.pulls.edge?.length ?? 0} rounds, each pulling from the edge, origin${r.pulls.distribution ? ' and distribution' : ''} in turn. For scale: \`docker version\`
  alone (CLI start and one engine round trip) took ${fixed(median(r.cliFloorMs), 0)} ms (median of ${r.cliFloorMs.length}).
- **Origin requests**: what the proxy saw during each timed pull through the edge. Cold pull:
  ${tally(r.coldOrigin.all)}. All ${r.cachedOrigin.length} cached pulls: ${tally(cached)}.
- **Blob**: 64 MiB of random bytes pushed to origin${r.distributionSkipped ? '' : ' and distribution'} (POST, one PATCH by curl, PUT), one GET
  through the edge to fill its cache (verified), then ${r.blobGets.edge?.length ?? 0} rounds of one GET from each in turn,
  each on a fresh connection, body counted and discarded (the first round's digests checked);
  bench/blob.ts's raw-socket client. Origin and the edge get a pull token from origin's
  \`/token\`. Origin requests during the cached edge GETs: ${tally(r.blobOrigin.all)}.
`;
}

/**
 * Writes the block between its markers: in place when the file has them, else at the end, after
 * the part that the other sections' runs keep (see report.ts), so that either survives the other.
 */
export function writeEdgeBlock(file: string, block: string): Promise<void> {
  return writeMarkedBlock(file, BEGIN, END, block);
}
