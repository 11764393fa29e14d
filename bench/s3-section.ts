// The "S3 + PostgreSQL + Redis" section: ours configured for production (S3 on s3rver, PostgreSQL,
// Redis metadata cache, disk cache) against distribution 2.8 with its S3 driver on the same s3rver.
// Load tests (image pulls and one blob, disk cache cold then warm) and single-GET latency (disk
// HIT, S3 MISS), taking turns between the registries.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { getBlob, type TimedGet, timedGet } from './blob.ts';
import { type BuiltImage, buildImage, pushBytes, pushImage, sha256 } from './image.ts';
import { blobGetLoad, imagePullLoad, type LoadResult } from './load.ts';
import { logLoad } from './measure.ts';
import { CpuMeter, readRss } from './rss.ts';
import { OURS_BUCKET, type S3Env, startS3Env } from './s3-env.ts';
import { startDistribution, startOurs, type Target } from './servers.ts';
import { fixed, log, MiB, Resources, sleep } from './util.ts';

export interface S3Settings {
  readonly concurrency: number;
  readonly layerSizes: readonly number[];
  readonly loadBlobSize: number;
  readonly latencyBlobSize: number;
  readonly latencyBlobs: number;
  readonly diskSizeGb: number;
}

export const S3_SETTINGS: S3Settings = {
  concurrency: 100,
  layerSizes: [1, 1.5, 2, 3, 4].map((n) => n * MiB),
  loadBlobSize: 10 * MiB,
  latencyBlobSize: 64 * MiB,
  latencyBlobs: 3,
  diskSizeGb: 50,
};

export type Pair<T> = { ours: T; distribution: T };

export interface S3Result {
  readonly settings: S3Settings;
  readonly startedAt: Date;
  readonly loadStart: number[];
  readonly loadEnd: number[];
  readonly rssBaseline: Pair<number>;
  readonly imageCold: Pair<LoadResult>;
  readonly imageWarm: Pair<LoadResult>;
  readonly blobCold: Pair<LoadResult>;
  readonly blobWarm: Pair<LoadResult>;
  readonly imageBytes: number;
  /** Single GETs of the latency blobs: ours MISS then HIT, distribution first and second, s3rver direct. */
  readonly latency: {
    oursMiss: TimedGet[];
    oursHit: TimedGet[];
    distributionFirst: TimedGet[];
    distributionSecond: TimedGet[];
    s3rverDirect: TimedGet[];
  };
  /** What distribution answered to a push (it cannot push to s3rver). */
  readonly distributionPush: string;
  /** CPU seconds over the whole section, per process. */
  readonly cpuSection: Record<string, number>;
  readonly s3rverDiskBytes: number;
  /** Fresh ours processes under the blob load, by node command line. */
  readonly fresh: { label: string; idle: number; cold: LoadResult; warm: LoadResult }[];
}

const IMAGE_REPO = 'bench/image';
const BLOB_REPO = 'bench/blob';
const LATENCY_REPO = 'bench/latency';

/** Tries distribution's push path once with a small blob and describes what happens. */
async function probeDistributionPush(distribution: Target): Promise<string> {
  const bytes = randomBytes(1024);
  try {
    await pushBytes(distribution.base, 'bench/probe', bytes, {});
    return 'push succeeded';
  } catch (error) {
    return (error as Error).message;
  }
}

/** Distribution's reason, from its log, for the failed push (the S3 call it made). */
function distributionPushReason(logText: string): string | undefined {
  const line = logText.split('\n').find((l) => l.includes('level=error') && l.includes('s3aws'));
  const message = line ? /err\.detail="([^"]*)"|msg="([^"]*)"/.exec(line) : null;
  return message ? (message[1] ?? message[2])?.replaceAll('\\n\\t', ' ').replaceAll('\\n', ' ') : undefined;
}

export async function runS3Section(options: {
  distributionBinary: string;
  scratch: string;
  resources: Resources;
  nodeArgs: string[];
  settings?: S3Settings;
}): Promise<S3Result> {
  const { scratch } = options;
  // Everything this section starts is undone at its end (or by the caller's releaseAll on failure).
  const resources = new Resources();
  const releaseSection = options.resources.add('S3 section', () => resources.releaseAll());
  const settings = options.settings ?? S3_SETTINGS;
  const startedAt = new Date();
  const loadStart = os.loadavg();
  const id = randomBytes(4).toString('hex');
  const env: S3Env = await startS3Env(path.join(scratch, 's3'), id, (label, fn) => {
    resources.add(label, fn);
  });
  log(`s3rver on ${env.endpoint} (pid ${env.pid}), database ${new URL(env.databaseUrl).pathname.slice(1)}`);

  const oursDir = path.join(scratch, 's3-ours');
  const ours = await startOurs(
    oursDir,
    options.nodeArgs,
    env.oursConfig(path.join(oursDir, 'disk-cache'), settings.diskSizeGb),
  );
  const stopOurs = resources.add('ours (S3)', ours.stop);
  const distributionDir = path.join(scratch, 's3-distribution');
  const distribution = await startDistribution(
    options.distributionBinary,
    distributionDir,
    env.distributionStorage(),
  );
  const stopDistribution = resources.add('distribution (S3)', distribution.stop);
  log(`ours pid ${ours.pid} at ${ours.base}, distribution pid ${distribution.pid} at ${distribution.base}`);
  const pids = { ours: ours.pid, distribution: distribution.pid, s3rver: env.pid, bench: process.pid };
  const sectionCpu = new CpuMeter(pids);

  let distributionPush = await probeDistributionPush(distribution);
  const reason = distributionPushReason(
    await readFile(path.join(distributionDir, 'registry.log'), 'utf8').catch(() => ''),
  );
  if (reason) distributionPush += ` (log: ${reason})`;
  log(`distribution push on s3rver: ${distributionPush}`);

  // The data: one image, one load blob, the latency blobs; pushed to ours through the API,
  // written into distribution's layout.
  log('pushing the image and blobs to ours, writing them into distribution’s S3 layout');
  const image: BuiltImage = buildImage(settings.layerSizes.map((n) => randomBytes(n)));
  const loadBlob = randomBytes(settings.loadBlobSize);
  const loadDigest = sha256(loadBlob);
  const latencyBlobs = Array.from({ length: settings.latencyBlobs }, () =>
    randomBytes(settings.latencyBlobSize),
  );
  const latencyDigests = latencyBlobs.map((b) => sha256(b));
  await pushImage(ours.base, IMAGE_REPO, 'latest', image, await ours.auth(IMAGE_REPO, 'pull,push'));
  await pushBytes(ours.base, BLOB_REPO, loadBlob, await ours.auth(BLOB_REPO, 'pull,push'));
  const latencyAuth = await ours.auth(LATENCY_REPO, 'pull,push');
  for (const blob of latencyBlobs) await pushBytes(ours.base, LATENCY_REPO, blob, latencyAuth);
  await env.seedDistributionImage(IMAGE_REPO, 'latest', image);
  await env.seedDistributionBlob(BLOB_REPO, loadDigest, loadBlob, loadBlob.length);
  for (const [i, blob] of latencyBlobs.entries())
    await env.seedDistributionBlob(LATENCY_REPO, latencyDigests[i] as string, blob, blob.length);

  await sleep(1000);
  const rssBaseline = { ours: readRss(ours.pid) ?? 0, distribution: readRss(distribution.pid) ?? 0 };
  const targets = { ours, distribution } as const;

  const both = async (what: string, run: (t: Target) => Promise<LoadResult>): Promise<Pair<LoadResult>> => {
    const result = {} as Pair<LoadResult>;
    for (const name of ['ours', 'distribution'] as const) {
      const r = await run(targets[name]);
      result[name] = r;
      logLoad(name, what, r);
      await sleep(500);
    }
    return result;
  };
  const n = settings.concurrency;
  const imageCold = await both(`${n} image pulls (disk cache cold)`, (t) =>
    imagePullLoad(t, IMAGE_REPO, 'latest', image, n, pids),
  );
  const imageWarm = await both(`${n} image pulls (disk cache warm)`, (t) =>
    imagePullLoad(t, IMAGE_REPO, 'latest', image, n, pids),
  );
  const blobCold = await both(`${n} GETs of the ${settings.loadBlobSize / MiB} MiB blob (cold)`, (t) =>
    blobGetLoad(t, BLOB_REPO, loadDigest, loadBlob.length, n, pids),
  );
  const blobWarm = await both(`${n} GETs of the ${settings.loadBlobSize / MiB} MiB blob (warm)`, (t) =>
    blobGetLoad(t, BLOB_REPO, loadDigest, loadBlob.length, n, pids),
  );

  // Single GETs, one at a time: ours MISS (never read since the push), distribution, s3rver
  // directly (a presigned GET of ours' object), then ours HIT and distribution again.
  log(`single GETs of ${settings.latencyBlobs} ${settings.latencyBlobSize / MiB} MiB blobs`);
  const latency: S3Result['latency'] = {
    oursMiss: [],
    oursHit: [],
    distributionFirst: [],
    distributionSecond: [],
    s3rverDirect: [],
  };
  const oursAuth = await ours.auth(LATENCY_REPO, 'pull');
  const size = settings.latencyBlobSize;
  const expectCache = (answer: TimedGet, value: string) => {
    const got = /\r\nx-cache:\s*(\S+)/i.exec(answer.head)?.[1];
    if (got !== value) throw new Error(`ours: expected X-Cache ${value}, got ${got}`);
    return answer;
  };
  for (const digest of latencyDigests) {
    latency.oursMiss.push(
      expectCache(await getBlob(ours.base, LATENCY_REPO, digest, size, oursAuth, false), 'MISS'),
    );
    await sleep(200);
    latency.distributionFirst.push(await getBlob(distribution.base, LATENCY_REPO, digest, size, {}, false));
    await sleep(200);
    const key = `registry/blobs/sha256/${digest.slice('sha256:'.length)}`;
    const url = await getSignedUrl(env.client, new GetObjectCommand({ Bucket: OURS_BUCKET, Key: key }), {
      expiresIn: 600,
    });
    const direct = await timedGet(new URL(url), {});
    if (direct.status !== 200 || direct.bytes !== size) throw new Error(`s3rver GET: ${direct.status}`);
    latency.s3rverDirect.push(direct);
    await sleep(200);
  }
  for (const digest of latencyDigests) {
    latency.oursHit.push(
      expectCache(await getBlob(ours.base, LATENCY_REPO, digest, size, oursAuth, false), 'HIT'),
    );
    await sleep(200);
    latency.distributionSecond.push(await getBlob(distribution.base, LATENCY_REPO, digest, size, {}, false));
    await sleep(200);
  }
  // The bytes, checked once on both (untimed).
  for (const digest of latencyDigests) {
    await getBlob(ours.base, LATENCY_REPO, digest, size, oursAuth, true);
    await getBlob(distribution.base, LATENCY_REPO, digest, size, {}, true);
  }
  const ms = (list: TimedGet[], key: 'firstByteSeconds' | 'seconds') =>
    list.map((g) => fixed(g[key] * 1000, 0)).join(', ');
  for (const [name, list] of Object.entries(latency))
    log(`${name}: first byte ${ms(list, 'firstByteSeconds')} ms; total ${ms(list, 'seconds')} ms`);

  const cpuSection = sectionCpu.read();
  // The RSS of fresh ours processes (no pushes, no other load before) under the blob load:
  // with the production command line, and with a smaller young generation for V8.
  await stopOurs();
  const fresh: S3Result['fresh'] = [];
  for (const extra of [[], ['--max-semi-space-size=2']]) {
    const label = ['node', ...extra].join(' ');
    const dir = path.join(scratch, `s3-ours-fresh-${fresh.length}`);
    const target = await startOurs(
      dir,
      [...options.nodeArgs, ...extra],
      env.oursConfig(path.join(dir, 'disk-cache'), settings.diskSizeGb),
      `ours (${label}, fresh)`,
    );
    const stop = resources.add(target.name, target.stop);
    await sleep(1000);
    const idle = readRss(target.pid) ?? 0;
    const cpuPids = { ours: target.pid, s3rver: env.pid, bench: process.pid };
    const cold = await blobGetLoad(target, BLOB_REPO, loadDigest, loadBlob.length, n, cpuPids);
    logLoad(target.name, `${n} GETs of the blob (cold)`, cold);
    await sleep(500);
    const warm = await blobGetLoad(target, BLOB_REPO, loadDigest, loadBlob.length, n, cpuPids);
    logLoad(target.name, `${n} GETs of the blob (warm)`, warm);
    fresh.push({ label, idle, cold, warm });
    await stop();
  }

  const s3rverDiskBytes = await env.diskBytes();
  await stopDistribution();
  await releaseSection();
  return {
    settings,
    startedAt,
    loadStart,
    loadEnd: os.loadavg(),
    rssBaseline,
    imageCold,
    imageWarm,
    blobCold,
    blobWarm,
    imageBytes: image.layers.reduce((sum, l) => sum + l.bytes.length, 0),
    latency,
    distributionPush,
    cpuSection,
    s3rverDiskBytes,
    fresh,
  };
}
