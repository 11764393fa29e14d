// The "big" section: one very large blob (10 GiB by default) pushed to ours on S3 (s3rver,
// PostgreSQL, Redis, disk cache: the production setup of s3-env.ts) in one streamed PATCH, pulled
// back with its digest verified (an S3 MISS, which also fills the disk cache), then pulled again
// from the disk cache; the registry's RSS sampled throughout. Distribution cannot push to s3rver
// (see s3-env.ts): its copy is written into its S3 layout and pulled, if the disk has room.
import { randomBytes } from 'node:crypto';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  getBlob,
  type PushTimes,
  patternDigest,
  patternStream,
  pushBlobStream,
  type TimedGet,
} from './blob.ts';
import { CpuMeter, RssSampler, readRss } from './rss.ts';
import { startS3Env } from './s3-env.ts';
import { startDistribution, startOurs } from './servers.ts';
import { GiB, log, MiB, Resources, sleep } from './util.ts';

const REPO = 'bench/huge';
const PATTERN_BYTES = 64 * MiB;

export interface BigPull {
  readonly get: TimedGet;
  readonly cache: string;
  readonly rssPeak: number;
  readonly cpu: Record<string, number>;
}

export interface BigResult {
  readonly size: number;
  readonly startedAt: Date;
  readonly loadStart: number[];
  readonly loadEnd: number[];
  readonly freeBefore: number;
  /** Most disk space the run took at once (free space before minus its lowest point). */
  readonly diskPeak: number;
  readonly rssBaseline: number;
  readonly push: PushTimes;
  readonly pushRssPeak: number;
  readonly pushCpu: Record<string, number>;
  readonly pullMiss: BigPull;
  readonly pullHit: BigPull;
  /** Distribution's pull of the same blob, or why there is none. */
  readonly distribution: { rssBaseline: number; pull: BigPull; seedSeconds: number } | { skipped: string };
}

async function freeBytes(dir: string): Promise<number> {
  const fs = await statfs(dir);
  return fs.bavail * fs.bsize;
}

export async function runBigSection(options: {
  distributionBinary: string;
  scratch: string;
  resources: Resources;
  nodeArgs: string[];
  size: number;
}): Promise<BigResult> {
  const { scratch, size } = options;
  const startedAt = new Date();
  const loadStart = os.loadavg();
  // s3rver holds the pushed segment, the parts of the final object and the final object at once
  // (see the notes), the disk cache one more copy; distribution's copy one more.
  const freeBefore = await freeBytes(scratch);
  const oursNeeds = 3.5 * size + 2 * GiB;
  if (freeBefore < oursNeeds) {
    throw new Error(
      `the big section needs about ${(oursNeeds / GiB).toFixed(0)} GiB free in ${scratch}, ` +
        `only ${(freeBefore / GiB).toFixed(1)} GiB are`,
    );
  }
  const resources = new Resources();
  const releaseSection = options.resources.add('big section', () => resources.releaseAll());
  let lowestFree = freeBefore;
  const diskWatch = setInterval(() => {
    void freeBytes(scratch).then((free) => {
      lowestFree = Math.min(lowestFree, free);
    });
  }, 1000);
  resources.add('disk watch', async () => clearInterval(diskWatch));

  const env = await startS3Env(path.join(scratch, 'big-s3'), randomBytes(4).toString('hex'), (label, fn) => {
    resources.add(label, fn);
  });
  const oursDir = path.join(scratch, 'big-ours');
  const ours = await startOurs(
    oursDir,
    options.nodeArgs,
    env.oursConfig(path.join(oursDir, 'disk-cache'), 50),
  );
  const stopOurs = resources.add('ours (big)', ours.stop);
  log(`big: ours pid ${ours.pid}, s3rver pid ${env.pid}`);

  const pattern = randomBytes(PATTERN_BYTES);
  log(`big: digest of the ${(size / GiB).toFixed(0)} GiB blob`);
  const digest = patternDigest(pattern, size);
  await sleep(1000);
  const rssBaseline = readRss(ours.pid) ?? 0;

  const sampler = new RssSampler(ours.pid, 50);
  resources.add('RSS sampler', async () => sampler.stop());
  const auth = await ours.auth(REPO, 'pull,push');
  log(`big: pushing ${(size / GiB).toFixed(0)} GiB to ours (one streamed PATCH)`);
  const cpu = new CpuMeter({ ours: ours.pid, s3rver: env.pid, bench: process.pid });
  sampler.enter('push');
  const push = await pushBlobStream(ours.base, REPO, patternStream(pattern, size), digest, auth);
  sampler.enter(null);
  const pushCpu = cpu.read();
  log(
    `big: push ${(size / MiB / push.seconds).toFixed(0)} MiB/s (PATCH ${push.patchSeconds.toFixed(1)} s, ` +
      `PUT ${push.commitSeconds.toFixed(1)} s), RSS peak ${(sampler.peak('push') / MiB).toFixed(0)} MiB`,
  );

  const pull = async (phase: string, base: string, headers: Record<string, string>, pid: number) => {
    const meter = new CpuMeter({ registry: pid, s3rver: env.pid, bench: process.pid });
    const phaseSampler = pid === ours.pid ? sampler : new RssSampler(pid, 50);
    phaseSampler.enter(phase);
    const get = await getBlob(base, REPO, digest, size, headers, true, 3_600_000);
    phaseSampler.enter(null);
    const result: BigPull = {
      get,
      cache: /\r\nx-cache:\s*(\S+)/i.exec(get.head)?.[1] ?? 'none',
      rssPeak: phaseSampler.peak(phase),
      cpu: meter.read(),
    };
    if (phaseSampler !== sampler) phaseSampler.stop();
    log(
      `big: ${phase}: ${(size / MiB / get.seconds).toFixed(0)} MiB/s, first byte ${(get.firstByteSeconds * 1000).toFixed(0)} ms, ` +
        `X-Cache ${result.cache}, RSS peak ${(result.rssPeak / MiB).toFixed(0)} MiB, digest verified`,
    );
    return result;
  };
  const pullAuth = await ours.auth(REPO, 'pull');
  const pullMiss = await pull('pull (S3 MISS)', ours.base, pullAuth, ours.pid);
  const pullHit = await pull('pull (disk HIT)', ours.base, pullAuth, ours.pid);
  await stopOurs();

  let distribution: BigResult['distribution'];
  const free = await freeBytes(scratch);
  if (free < size + 2 * GiB) {
    distribution = { skipped: `only ${(free / GiB).toFixed(1)} GiB free for its copy` };
  } else {
    log(`big: writing the blob into distribution's S3 layout`);
    const seeded = performance.now();
    await env.seedDistributionBlob(REPO, digest, { stream: () => patternStream(pattern, size) }, size);
    const seedSeconds = (performance.now() - seeded) / 1000;
    const theirs = await startDistribution(
      options.distributionBinary,
      path.join(scratch, 'big-distribution'),
      env.distributionStorage(),
    );
    const stopTheirs = resources.add('distribution (big)', theirs.stop);
    await sleep(1000);
    const baseline = readRss(theirs.pid) ?? 0;
    distribution = {
      rssBaseline: baseline,
      pull: await pull('distribution pull', theirs.base, {}, theirs.pid),
      seedSeconds,
    };
    await stopTheirs();
  }
  clearInterval(diskWatch);
  const diskPeak = freeBefore - lowestFree;
  await releaseSection();
  return {
    size,
    startedAt,
    loadStart,
    loadEnd: os.loadavg(),
    freeBefore,
    diskPeak,
    rssBaseline,
    push,
    pushRssPeak: sampler.peak('push'),
    pushCpu,
    pullMiss,
    pullHit,
    distribution,
  };
}
