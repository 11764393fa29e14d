// The measurements, taken on both registries at once and interleaved (ours, then distribution,
// step by step) so that load from elsewhere on the machine falls on both alike: the 1 GiB push
// and pulls with each process's RSS, then the small requests, then the load tests (see load.ts).
import { randomBytes } from 'node:crypto';
import { pullBlob, pushBlob } from './blob.ts';
import { headLoad } from './head-load.ts';
import { buildImage, pushBytes, pushImage, pushSmallImage, sha256 } from './image.ts';
import { blobGetLoad, imagePullLoad, type LoadResult } from './load.ts';
import { RssSampler, readRss } from './rss.ts';
import type { Target } from './servers.ts';
import { log, MiB, median, sleep } from './util.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface BenchSettings {
  readonly blobFile: string;
  readonly blobSize: number;
  readonly blobDigest: string;
  readonly pulls: number;
  readonly wrkSeconds: number;
  readonly wrkWarmupSeconds: number;
  readonly wrkThreads: number;
  readonly wrkConnections: number;
  readonly scratch: string;
  /** Concurrent clients of the load tests. */
  readonly loadConcurrency: number;
  readonly loadLayerSizes: readonly number[];
  readonly loadBlobSize: number;
}

export type SmallRequest = 'manifest' | 'base' | 'headBlob';

export interface TargetResult {
  readonly name: string;
  readonly pushMiBps: number;
  readonly pullMiBps: number;
  readonly pullRunsMiBps: number[];
  readonly rssBaseline: number;
  readonly rssPeakPush: number;
  readonly rssPeakPull: number;
  readonly small: Record<SmallRequest, WrkResult>;
  readonly loads: { image: LoadResult; blob: LoadResult };
}

const BIG = 'bench/big';
const SMALL = 'bench/small';
const LOAD_IMAGE = 'bench/image';
const LOAD_BLOB = 'bench/blob';

export function logLoad(name: string, what: string, r: LoadResult): void {
  log(
    `${name}: ${what}: ${r.wallSeconds.toFixed(2)} s wall, p50 ${r.p50Ms.toFixed(0)} ms, ` +
      `p99 ${r.p99Ms.toFixed(0)} ms, ${r.errors} errors, RSS peak ${(r.rssPeak / MiB).toFixed(0)} MiB` +
      (Object.keys(r.cache).some((k) => k !== 'none') ? `, X-Cache ${JSON.stringify(r.cache)}` : '') +
      `, CPU ${Object.entries(r.cpu)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}` +
      (r.errorSamples.length ? `; first errors: ${r.errorSamples.join(' | ')}` : ''),
  );
}
const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

interface State {
  readonly target: Target;
  readonly sampler: RssSampler;
  rssBaseline: number;
  pushMiBps: number;
  readonly pullRunsMiBps: number[];
  readonly small: Partial<Record<SmallRequest, WrkResult>>;
  readonly loads: Partial<{ image: LoadResult; blob: LoadResult }>;
}

async function smallRequests(state: State, settings: BenchSettings, key: SmallRequest, layer: string) {
  const { target } = state;
  const auth = await target.auth(SMALL, 'pull');
  const run = {
    manifest: { url: `${target.base}/v2/${SMALL}/manifests/latest`, headers: { ...auth, Accept: ACCEPT } },
    base: { url: `${target.base}/v2/`, headers: auth },
    headBlob: { url: `${target.base}/v2/${SMALL}/blobs/${layer}`, headers: auth },
  }[key];
  const common = {
    ...run,
    method: 'GET' as const,
    threads: settings.wrkThreads,
    connections: settings.wrkConnections,
    scriptDir: settings.scratch,
  };
  // wrk cannot do HEAD (see head-load.ts): HEAD goes through the small Node load generator.
  const load = (seconds: number) =>
    key === 'headBlob' ? headLoad({ ...common, seconds }) : runWrk({ ...common, seconds });
  if (settings.wrkWarmupSeconds > 0) await load(settings.wrkWarmupSeconds);
  const result = await load(settings.wrkSeconds);
  const what = `${key === 'headBlob' ? 'HEAD' : 'GET'} ${new URL(run.url).pathname}`;
  if (result.errors > 0)
    throw new Error(`${target.name} ${what}: ${result.errors} errors:\n${result.output}`);
  log(
    `${target.name}: ${what}: ${result.requestsPerSecond.toFixed(0)} req/s, ` +
      `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`,
  );
  state.small[key] = result;
}

export async function measure(targets: Target[], settings: BenchSettings): Promise<TargetResult[]> {
  const states: State[] = targets.map((target) => ({
    target,
    sampler: new RssSampler(target.pid),
    rssBaseline: 0,
    pushMiBps: 0,
    pullRunsMiBps: [],
    small: {},
    loads: {},
  }));
  const { blobFile, blobSize, blobDigest } = settings;
  try {
    await sleep(1000);
    for (const state of states) {
      const rss = readRss(state.target.pid);
      if (rss === null) throw new Error(`${state.target.name}: cannot read /proc/${state.target.pid}/status`);
      state.rssBaseline = rss;
    }

    for (const state of states) {
      const { target, sampler } = state;
      log(`${target.name}: pushing the ${blobSize / MiB} MiB blob`);
      const auth = await target.auth(BIG, 'pull,push');
      sampler.enter('push');
      const seconds = await pushBlob(target.base, BIG, blobFile, blobDigest, auth);
      sampler.enter(null);
      state.pushMiBps = blobSize / MiB / seconds;
      log(`${target.name}: push ${state.pushMiBps.toFixed(1)} MiB/s (${seconds.toFixed(2)} s)`);
    }

    // A first, verifying pull (sha256 of what comes back) that is not timed; then timed pulls,
    // taking turns between the registries.
    for (let round = -1; round < settings.pulls; round++) {
      for (const state of states) {
        const { target, sampler } = state;
        const auth = await target.auth(BIG, 'pull');
        sampler.enter('pull');
        const seconds = await pullBlob(target.base, BIG, blobDigest, blobSize, auth, round < 0);
        sampler.enter(null);
        if (round >= 0) state.pullRunsMiBps.push(blobSize / MiB / seconds);
      }
    }
    for (const { target, pullRunsMiBps } of states) {
      log(`${target.name}: pull ${pullRunsMiBps.map((v) => v.toFixed(0)).join(', ')} MiB/s`);
    }

    const layers = new Map<State, string>();
    for (const state of states) {
      const image = await pushSmallImage(
        state.target.base,
        SMALL,
        'latest',
        await state.target.auth(SMALL, 'pull,push'),
      );
      layers.set(state, image.layer);
    }
    for (const key of ['manifest', 'base', 'headBlob'] as const) {
      for (const state of states) await smallRequests(state, settings, key, layers.get(state) as string);
    }

    // The load tests: the same image and blob pushed to both, then each load on each in turn.
    const image = buildImage(settings.loadLayerSizes.map((n) => randomBytes(n)));
    const blob = randomBytes(settings.loadBlobSize);
    for (const { target } of states) {
      await pushImage(target.base, LOAD_IMAGE, 'latest', image, await target.auth(LOAD_IMAGE, 'pull,push'));
      await pushBytes(target.base, LOAD_BLOB, blob, await target.auth(LOAD_BLOB, 'pull,push'));
    }
    const n = settings.loadConcurrency;
    for (const state of states) {
      const { target } = state;
      state.loads.image = await imagePullLoad(target, LOAD_IMAGE, 'latest', image, n, {
        [target.name]: target.pid,
      });
      logLoad(target.name, `${n} image pulls`, state.loads.image);
    }
    for (const state of states) {
      const { target } = state;
      state.loads.blob = await blobGetLoad(target, LOAD_BLOB, sha256(blob), blob.length, n, {
        [target.name]: target.pid,
      });
      logLoad(target.name, `${n} GETs of one ${blob.length / MiB} MiB blob`, state.loads.blob);
    }

    return states.map((state) => ({
      name: state.target.name,
      pushMiBps: state.pushMiBps,
      pullMiBps: median(state.pullRunsMiBps),
      pullRunsMiBps: state.pullRunsMiBps,
      rssBaseline: state.rssBaseline,
      rssPeakPush: state.sampler.peak('push'),
      rssPeakPull: state.sampler.peak('pull'),
      small: state.small as Record<SmallRequest, WrkResult>,
      loads: state.loads as TargetResult['loads'],
    }));
  } finally {
    for (const state of states) state.sampler.stop();
  }
}
