// `npm run bench`: our registry against CNCF distribution (docker-registry) on this machine:
// 1 GiB blob push and pull (MiB/s, RSS) and small requests under wrk. Prints a markdown table
// and writes it into docs/benchmarks.md. Needs wrk and docker-registry (apt); kept apart from
// the tests. Both registries are stopped and the temp dir removed even when a step fails.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateBlob } from './blob.ts';
import { type BenchSettings, measure, type TargetResult } from './measure.ts';
import { machine, markdownTable, rows, writeReport } from './report.ts';
import { startDistribution, startOurs, type Target } from './servers.ts';
import { log, MiB, requireTool } from './util.ts';

const REPORT = path.resolve(import.meta.dirname, '..', 'docs', 'benchmarks.md');

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}

const running = new Set<Target>();
let scratch: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const target of running) {
      await target
        .stop()
        .catch((error: unknown) => log(`stopping ${target.name}: ${(error as Error).message}`));
    }
    running.clear();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  })();
  return cleaning;
}

async function main(): Promise<void> {
  const distribution = requireTool('docker-registry', 'sudo apt-get install docker-registry');
  requireTool('wrk', 'sudo apt-get install wrk');
  if (process.platform !== 'linux') throw new Error('the benchmark reads /proc: it runs on Linux only');

  const loadAtStart = os.loadavg();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'registry-bench-'));
  const blobSize = positiveInt('BENCH_BLOB_MIB', 1024) * MiB;
  const wrkSeconds = positiveInt('BENCH_WRK_SECONDS', 10);
  const blobFile = path.join(scratch, 'blob.bin');
  log(`generating a ${blobSize / MiB} MiB blob in ${scratch}`);
  const blobDigest = await generateBlob(blobFile, blobSize);
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
  };
  const nodeArgs = (process.env.BENCH_OURS_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);

  // Both run for the whole measurement, which takes turns between them step by step.
  const ourTarget = await startOurs(path.join(scratch, 'ours'), nodeArgs);
  running.add(ourTarget);
  const theirTarget = await startDistribution(distribution, path.join(scratch, 'distribution'));
  running.add(theirTarget);
  for (const target of running) log(`${target.name} listening on ${target.base} (pid ${target.pid})`);
  const [ours, theirs] = (await measure([ourTarget, theirTarget], settings)) as [TargetResult, TargetResult];
  await cleanup();

  const table = markdownTable(rows(ours, theirs));
  process.stdout.write(`\n${table}\n\n`);
  await writeReport(REPORT, table, machine(distribution), settings, ours, theirs, {
    start: loadAtStart,
    end: os.loadavg(),
  });
  log(`wrote ${path.relative(process.cwd(), REPORT)}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping registries and removing temp files`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  process.stderr.write(`\nbench FAILED: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
