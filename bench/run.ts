// `npm run bench`: our registry against CNCF distribution (docker-registry) on this machine, in
// sections (BENCH_SECTIONS=filesystem,s3,big,scan,edge,pulls,quota,retention; default all):
//   filesystem: 1 GiB blob push and pull (MiB/s, RSS), small requests under wrk, load tests;
//   s3:         the production setup (S3 on s3rver, PostgreSQL, Redis, disk cache): load tests
//               and single-GET latency, against distribution's S3 driver on the same s3rver;
//   big:        a 10 GiB blob pushed and pulled through S3, RSS sampled throughout;
//   scan:       ours only (distribution has no scanner): a Debian image's scan time, and 1,000
//               stored inventories re-matched after a vulnerability data import (bench/scan.ts);
//   edge:       the edge Worker (workerd) in front of origin, with the real Docker CLI: docker pull
//               of a cached image through the edge against origin and distribution, the origin
//               requests a cached pull causes, a cached 64 MiB blob (bench/edge.ts);
//   pulls:      ours only: manifest GET req/s with last-pull tracking on and off (bench/pulls.ts).
//   quota:      ours only: the manifest PUT's time with and without quotas covering the
//               repository (BENCH_QUOTA_PUSHES each, default 300), on PGlite and PostgreSQL.
//   retention:  ours only: a retention plan over 100,000 tags in 1,000 repositories on PostgreSQL
//               (bench/retention.ts).
// Prints the tables and writes them into docs/benchmarks.md (the sections not run are kept).
// Needs wrk and docker-registry (apt) for filesystem, s3 and big, and PostgreSQL and Redis for s3
// and big; scan needs root and debootstrap the first time (see scan.ts); edge needs dockerd
// (docker.io) and curl, and measures distribution when docker-registry is there (else says why
// not). Kept apart from the tests. Everything started is stopped, and temp dirs, databases and
// Redis keys removed, even when a step fails.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBigSection } from './big.ts';
import { generateBlob } from './blob.ts';
import { type BenchSettings, measure, type TargetResult } from './measure.ts';
import {
  bigBlock,
  filesystemBlock,
  headerText,
  machine,
  markdownTable,
  rows,
  SECTIONS,
  type Section,
  s3Block,
  writeReport,
} from './report.ts';
import { runS3Section, S3_SETTINGS } from './s3-section.ts';
import { startDistribution, startOurs } from './servers.ts';
import { GiB, log, MiB, Resources, requireTool } from './util.ts';

const REPORT = path.resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md');

/**
 * The report's sections, then scan, edge, pulls, quota and retention, whose blocks their modules
 * write at the end.
 */
const ALL_SECTIONS = [...SECTIONS, 'scan', 'edge', 'pulls', 'quota', 'retention'] as const;
type RunSection = (typeof ALL_SECTIONS)[number];

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}

function sections(): RunSection[] {
  const raw = process.env.BENCH_SECTIONS;
  if (raw === undefined || raw.trim() === '') return [...ALL_SECTIONS];
  const chosen = raw.split(',').map((s) => s.trim());
  for (const name of chosen) {
    if (!(ALL_SECTIONS as readonly string[]).includes(name))
      throw new Error(`BENCH_SECTIONS: unknown section "${name}" (known: ${ALL_SECTIONS.join(', ')})`);
  }
  return ALL_SECTIONS.filter((s) => chosen.includes(s));
}

const resources = new Resources();

async function filesystemSection(distribution: string, scratch: string, nodeArgs: string[]): Promise<string> {
  const startedAt = new Date();
  const loadAtStart = os.loadavg();
  const dir = path.join(scratch, 'filesystem');
  const blobSize = positiveInt('BENCH_BLOB_MIB', 1024) * MiB;
  const wrkSeconds = positiveInt('BENCH_WRK_SECONDS', 10);
  const blobFile = path.join(scratch, 'blob.bin');
  log(`generating a ${blobSize / MiB} MiB blob in ${scratch}`);
  const blobDigest = await generateBlob(blobFile, blobSize);
  const releaseBlob = resources.add('blob file', () => rm(blobFile, { force: true }));
  const settings: BenchSettings = {
    blobFile,
    blobSize,
    blobDigest,
    pulls: 3,
    wrkSeconds,
    wrkWarmupSeconds: Math.min(2, wrkSeconds),
    wrkThreads: 2,
    wrkConnections: 50,
    scratch,
    loadConcurrency: positiveInt('BENCH_LOAD_CONCURRENCY', S3_SETTINGS.concurrency),
    loadLayerSizes: S3_SETTINGS.layerSizes,
    loadBlobSize: S3_SETTINGS.loadBlobSize,
  };

  // Both run for the whole measurement, which takes turns between them step by step.
  const ourTarget = await startOurs(path.join(dir, 'ours'), nodeArgs);
  const stopOurs = resources.add('ours (filesystem)', ourTarget.stop);
  const theirTarget = await startDistribution(distribution, path.join(dir, 'distribution'));
  const stopTheirs = resources.add('distribution (filesystem)', theirTarget.stop);
  const releaseDir = resources.add('filesystem dir', () => rm(dir, { recursive: true, force: true }));
  for (const target of [ourTarget, theirTarget])
    log(`${target.name} listening on ${target.base} (pid ${target.pid})`);
  const [ours, theirs] = (await measure([ourTarget, theirTarget], settings)) as [TargetResult, TargetResult];
  await stopOurs();
  await stopTheirs();
  await releaseDir();
  await releaseBlob();

  const table = markdownTable(rows(ours, theirs));
  process.stdout.write(`\n${table}\n\n`);
  return filesystemBlock(table, settings, ours, theirs, { start: loadAtStart, end: os.loadavg() }, startedAt);
}

async function main(): Promise<void> {
  const chosen = sections();
  // The comparison's tools; the scan and edge sections need none of them (edge uses distribution
  // when it is there).
  let distribution = '';
  if (chosen.some((s) => !['scan', 'edge', 'pulls', 'quota', 'retention'].includes(s))) {
    distribution = requireTool('docker-registry', 'sudo apt-get install docker-registry');
    requireTool('wrk', 'sudo apt-get install wrk');
    requireTool('curl', 'sudo apt-get install curl');
  }
  if (chosen.includes('pulls')) requireTool('wrk', 'sudo apt-get install wrk');
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc: it runs on Linux only');
  log(`sections: ${chosen.join(', ')}`);

  const scratch = await mkdtemp(path.join(os.tmpdir(), 'registry-bench-'));
  resources.add('temp dir', () => rm(scratch, { recursive: true, force: true }));
  // Ours runs as `npm start` runs it, unless BENCH_OURS_NODE_ARGS says otherwise.
  const nodeArgs = (process.env.BENCH_OURS_NODE_ARGS ?? '--max-semi-space-size=4')
    .split(/\s+/)
    .filter(Boolean);
  const blocks: Partial<Record<Section, string>> = {};
  const save = async () => {
    await writeReport(REPORT, headerText(machine(distribution)), blocks);
    log(`wrote ${path.relative(process.cwd(), REPORT)} (${Object.keys(blocks).join(', ')})`);
  };

  for (const section of chosen) {
    log(`=== section ${section}`);
    if (section === 'scan') {
      // Loaded only here: it runs the registry in this process, and the other sections, whose
      // client CPU and RSS are measured, need none of its modules.
      const scan = await import('./scan.ts');
      const result = await scan.runScanSection({ scratch, resources });
      const table = scan.scanTable(result);
      process.stdout.write(`\n${table}\n\n`);
      await scan.writeScanBlock(REPORT, scan.scanBlock(result, table));
      log(`wrote ${path.relative(process.cwd(), REPORT)} (scan)`);
      continue;
    }
    if (section === 'edge') {
      // Loaded only here, as scan: its modules (the edge harness, miniflare) are of no use elsewhere.
      const edge = await import('./edge.ts');
      requireTool('curl', 'sudo apt-get install curl');
      let found: { binary: string } | { missing: string };
      try {
        found = { binary: requireTool('docker-registry', 'sudo apt-get install docker-registry') };
      } catch (error) {
        found = { missing: (error as Error).message };
      }
      const result = await edge.runEdgeSection({ scratch, resources, distribution: found, nodeArgs });
      const table = edge.edgeTable(result);
      process.stdout.write(`\n${table}\n\n`);
      await edge.writeEdgeBlock(REPORT, edge.edgeBlock(result, table));
      log(`wrote ${path.relative(process.cwd(), REPORT)} (edge)`);
      continue;
    }
    if (section === 'quota') {
      // Loaded only here, as scan: it runs the registry in this process.
      const quota = await import('./quota.ts');
      const pushes = positiveInt('BENCH_QUOTA_PUSHES', 300);
      const result = await quota.runQuotaSection({ scratch, resources, pushes });
      const table = quota.quotaTable(result);
      process.stdout.write(`\n${table}\n\n`);
      await quota.writeQuotaBlock(REPORT, quota.quotaBlock(result, table));
      log(`wrote ${path.relative(process.cwd(), REPORT)} (quota)`);
      continue;
    }
    if (section === 'retention') {
      // Loaded only here, as scan: PostgreSQL and the origin's modules, in this process.
      const retention = await import('./retention.ts');
      const result = await retention.runRetentionSection({ scratch, resources });
      const block = retention.retentionBlock(result);
      process.stdout.write(`\n${block}\n`);
      await retention.writeRetentionBlock(REPORT, block);
      log(`wrote ${path.relative(process.cwd(), REPORT)} (retention)`);
      continue;
    }
    if (section === 'pulls') {
      const pulls = await import('./pulls.ts');
      const wrkSeconds = positiveInt('BENCH_WRK_SECONDS', 10);
      const result = await pulls.runPullsSection({
        scratch,
        resources,
        nodeArgs,
        settings: {
          rounds: positiveInt('BENCH_PULLS_ROUNDS', 3),
          seconds: wrkSeconds,
          threads: 2,
          connections: 50,
        },
      });
      const table = pulls.pullsTable(result);
      process.stdout.write(`\n${table}\n\n`);
      await pulls.writePullsBlock(REPORT, pulls.pullsBlock(result, table));
      log(`wrote ${path.relative(process.cwd(), REPORT)} (pulls)`);
      continue;
    }
    if (section === 'filesystem') {
      blocks.filesystem = await filesystemSection(distribution, scratch, nodeArgs);
    } else if (section === 's3') {
      const settings = {
        ...S3_SETTINGS,
        concurrency: positiveInt('BENCH_LOAD_CONCURRENCY', S3_SETTINGS.concurrency),
      };
      const result = await runS3Section({
        distributionBinary: distribution,
        scratch,
        resources,
        nodeArgs,
        settings,
      });
      blocks.s3 = s3Block(result);
    } else if (section === 'big') {
      const size = positiveInt('BENCH_BIG_GIB', 10) * GiB;
      const result = await runBigSection({
        distributionBinary: distribution,
        scratch,
        resources,
        nodeArgs,
        size,
      });
      blocks.big = bigBlock(result);
    }
    // Each finished section is written at once: a later failure does not lose it.
    await save();
  }
}

let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= resources.releaseAll();
  return cleaning;
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping what the benchmark started and removing its temp files`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  process.stderr.write(`\nbench FAILED: ${(error as Error).stack ?? (error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
