// The load tests of issue 3: N concurrent pulls of an image (manifest GET by tag, then its layer
// GETs one after the other), and N concurrent GETs of one blob. Every request is checked (status,
// length; the first pull's bytes against their digests) and counted as an error otherwise; the
// registry's RSS is sampled throughout and the CPU time of the processes involved is read
// before and after.
import { getBlob, timedGet } from './blob.ts';
import type { BuiltImage } from './image.ts';
import { CpuMeter, RssSampler, readRss } from './rss.ts';
import type { Target } from './servers.ts';
import { percentile } from './util.ts';

const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const REQUEST_TIMEOUT_MS = 120_000;

export interface LoadResult {
  readonly concurrency: number;
  readonly wallSeconds: number;
  /** Per pull (or per GET), of those that succeeded, in ms, sorted. */
  readonly latenciesMs: number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** The first few error messages. */
  readonly errorSamples: string[];
  readonly rssBefore: number;
  readonly rssPeak: number;
  /** CPU seconds used during the run, per process name. */
  readonly cpu: Record<string, number>;
  /** Blob answers by X-Cache header value (HIT, MISS, or "none"). */
  readonly cache: Record<string, number>;
  /** Bytes of blob bodies received. */
  readonly bytes: number;
}

interface One {
  bytes: number;
  cache: string[];
}

function xCache(head: string): string {
  return /\r\nx-cache:\s*(\S+)/i.exec(head)?.[1]?.toUpperCase() ?? 'none';
}

async function runLoad(
  target: Target,
  concurrency: number,
  cpuPids: Record<string, number>,
  one: (index: number) => Promise<One>,
): Promise<LoadResult> {
  const sampler = new RssSampler(target.pid, 20);
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  const cache: Record<string, number> = {};
  let errors = 0;
  let bytes = 0;
  const rssBefore = readRss(target.pid) ?? 0;
  const cpu = new CpuMeter(cpuPids);
  sampler.enter('load');
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, index) => {
      const begun = performance.now();
      try {
        const result = await one(index);
        latencies.push(performance.now() - begun);
        bytes += result.bytes;
        for (const value of result.cache) cache[value] = (cache[value] ?? 0) + 1;
      } catch (error) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push((error as Error).message);
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  const used = cpu.read();
  sampler.enter(null);
  sampler.stop();
  latencies.sort((a, b) => a - b);
  return {
    concurrency,
    wallSeconds,
    latenciesMs: latencies,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    errorSamples,
    rssBefore,
    rssPeak: Math.max(rssBefore, sampler.peaks.get('load') ?? 0),
    cpu: used,
    cache,
    bytes,
  };
}

/**
 * `concurrency` pulls at once of `repository:tag`: each GETs the manifest by tag, then each layer
 * it lists, one after the other, on fresh connections. The first pull checks every digest.
 */
export async function imagePullLoad(
  target: Target,
  repository: string,
  tag: string,
  image: BuiltImage,
  concurrency: number,
  cpuPids: Record<string, number>,
): Promise<LoadResult> {
  const auth = await target.auth(repository, 'pull');
  const sizes = new Map(image.layers.map((layer) => [layer.digest, layer.bytes.length]));
  return runLoad(target, concurrency, cpuPids, async (index) => {
    const verify = index === 0;
    const manifest = await timedGet(
      new URL(`/v2/${repository}/manifests/${tag}`, target.base),
      { ...auth, Accept: ACCEPT },
      { keep: true, verify, timeoutMs: REQUEST_TIMEOUT_MS },
    );
    if (manifest.status !== 200) throw new Error(`GET manifest: status ${manifest.status}`);
    if (verify && manifest.digest !== image.manifest.digest)
      throw new Error(`GET manifest: digest ${manifest.digest}, expected ${image.manifest.digest}`);
    const layers = (JSON.parse((manifest.body as Buffer).toString()) as { layers: { digest: string }[] })
      .layers;
    const result: One = { bytes: 0, cache: [] };
    for (const { digest } of layers) {
      const size = sizes.get(digest);
      if (size === undefined) throw new Error(`GET manifest: unknown layer ${digest}`);
      const answer = await getBlob(target.base, repository, digest, size, auth, verify, REQUEST_TIMEOUT_MS);
      result.bytes += answer.bytes;
      result.cache.push(xCache(answer.head));
    }
    return result;
  });
}

/** `concurrency` GETs at once of one blob, on fresh connections. The first checks the digest. */
export async function blobGetLoad(
  target: Target,
  repository: string,
  digest: string,
  size: number,
  concurrency: number,
  cpuPids: Record<string, number>,
): Promise<LoadResult> {
  const auth = await target.auth(repository, 'pull');
  return runLoad(target, concurrency, cpuPids, async (index) => {
    const answer = await getBlob(
      target.base,
      repository,
      digest,
      size,
      auth,
      index === 0,
      REQUEST_TIMEOUT_MS,
    );
    return { bytes: answer.bytes, cache: [xCache(answer.head)] };
  });
}
