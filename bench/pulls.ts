// The pulls section: what last-pull tracking costs a manifest GET. Two origins as `npm start` runs
// them (PGlite, filesystem), one with pulls.track on (the default: noted in memory, written every
// 5 s) and one with it off, the same small image pushed to each; wrk GETs the manifest by tag
// (the case that writes both tables) against each in turn, several rounds alternating, and the
// medians are compared. The bound: tracking must not cost more than 5 % of req/s.
import path from 'node:path';
import { createLogger } from '../origin/log.ts';
import type { Database } from '../origin/metadata/database.ts';
import { PullRecorder } from '../origin/registry/pull-recorder.ts';
import { systemClock } from '../shared/clock.ts';
import { pushSmallImage } from './image.ts';
import { writeMarkedBlock } from './report.ts';
import { startOurs, type Target } from './servers.ts';
import { fixed, log, median, type Resources } from './util.ts';
import { runWrk, type WrkResult } from './wrk.ts';

const BEGIN = '<!-- bench section pulls: begin -->';
const END = '<!-- bench section pulls: end -->';
const REPOSITORY = 'bench/pulls';
const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

export interface PullsSettings {
  readonly rounds: number;
  readonly seconds: number;
  readonly connections: number;
  readonly threads: number;
}

export interface PullsResult {
  readonly settings: PullsSettings;
  readonly on: WrkResult[];
  readonly off: WrkResult[];
  /** The tracking origin's counters after the runs. */
  readonly recorded: number;
  readonly flushes: number;
  /** What noting one pull costs the request (PullRecorder.record, in this process), ns. */
  readonly recordNs: number;
  /** Date.now() timed the same way: how loaded the machine was (tens of ns on an idle one). */
  readonly dateNowNs: number;
  readonly startedAt: Date;
}

/**
 * The request path's share, away from the machine's noise: PullRecorder.record timed alone over
 * 1,000,000 pulls of 1,000 tags (no flush runs: the database is never asked).
 */
function timeRecord(): { recordNs: number; dateNowNs: number } {
  const recorder = new PullRecorder({
    db: {} as Database,
    clock: systemClock,
    log: createLogger('silent'),
    track: true,
    flushIntervalMs: 3_600_000,
  });
  const digests = Array.from({ length: 1000 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`);
  const tags = digests.map((_, i) => `v${i}`);
  const runs: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i += 1)
      recorder.record('bench/pulls', digests[i % 1000] as string, tags[i % 1000] as string, 'origin');
    runs.push(Number(process.hrtime.bigint() - started) / 1_000_000);
  }
  const clockRuns: number[] = [];
  for (let run = 0; run < 5; run += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i += 1) Date.now();
    clockRuns.push(Number(process.hrtime.bigint() - started) / 1_000_000);
  }
  return { recordNs: median(runs), dateNowNs: median(clockRuns) };
}

async function counter(base: string, sample: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

export async function runPullsSection(options: {
  scratch: string;
  resources: Resources;
  nodeArgs: string[];
  settings: PullsSettings;
}): Promise<PullsResult> {
  const { scratch, resources, nodeArgs, settings } = options;
  const startedAt = new Date();
  const targets: Record<'on' | 'off', Target> = {
    on: await startOurs(path.join(scratch, 'pulls-on'), nodeArgs, { pulls: { track: true } }, 'tracking on'),
    off: await startOurs(
      path.join(scratch, 'pulls-off'),
      nodeArgs,
      { pulls: { track: false } },
      'tracking off',
    ),
  };
  const stops = (['on', 'off'] as const).map((k) => resources.add(`ours (pulls ${k})`, targets[k].stop));
  try {
    const urls: Record<'on' | 'off', { url: string; headers: Record<string, string> }> = {} as never;
    for (const key of ['on', 'off'] as const) {
      const target = targets[key];
      await pushSmallImage(target.base, REPOSITORY, 'latest', await target.auth(REPOSITORY, 'pull,push'));
      urls[key] = {
        url: `${target.base}/v2/${REPOSITORY}/manifests/latest`,
        headers: { ...(await target.auth(REPOSITORY, 'pull')), Accept: ACCEPT },
      };
    }
    const run = (key: 'on' | 'off', seconds: number) =>
      runWrk({
        ...urls[key],
        method: 'GET',
        threads: settings.threads,
        connections: settings.connections,
        seconds,
        scriptDir: scratch,
      });
    for (const key of ['on', 'off'] as const) await run(key, 2);
    const results: Record<'on' | 'off', WrkResult[]> = { on: [], off: [] };
    for (let round = 0; round < settings.rounds; round += 1) {
      // Alternating which goes first: a drift of the machine's load falls on both alike.
      const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
      for (const key of order) {
        const result = await run(key, settings.seconds);
        if (result.errors > 0) throw new Error(`tracking ${key}: ${result.errors} errors:\n${result.output}`);
        log(`tracking ${key}, round ${round + 1}: ${fixed(result.requestsPerSecond)} req/s`);
        results[key].push(result);
      }
    }
    const base = targets.on.base;
    return {
      settings,
      on: results.on,
      off: results.off,
      recorded: await counter(base, 'registry_pulls_recorded_total{source="origin"}'),
      flushes: await counter(base, 'registry_pull_flushes_total{outcome="written"}'),
      ...timeRecord(),
      startedAt,
    };
  } finally {
    for (const stop of stops) await stop();
  }
}

export function pullsTable(result: PullsResult): string {
  const row = (label: string, runs: WrkResult[]) =>
    `| ${label} | ${fixed(median(runs.map((r) => r.requestsPerSecond)))} | ${runs
      .map((r) => fixed(r.requestsPerSecond))
      .join(
        ', ',
      )} | ${fixed(median(runs.map((r) => r.p50Ms)), 2)} | ${fixed(median(runs.map((r) => r.p99Ms)), 2)} |`;
  return [
    '| manifest GET by tag | req/s (median) | req/s per round | p50 ms | p99 ms |',
    '|---|---|---|---|---|',
    row('pulls.track: false', result.off),
    row('pulls.track: true (default)', result.on),
  ].join('\n');
}

/**
 * on/off of each round's two runs, which ran back to back: the machine's drift cancels out. The
 * rounds alternate which goes first (a position effect falls on both alike), and the estimate is
 * the geometric mean over all rounds.
 */
function pairedRatios(result: PullsResult): number[] {
  return result.on.map((on, i) => on.requestsPerSecond / (result.off[i] as WrkResult).requestsPerSecond);
}

export function pullsBlock(result: PullsResult, table: string): string {
  const ratios = pairedRatios(result);
  const geometric = Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length);
  const change = (geometric - 1) * 100;
  const { settings } = result;
  const sign = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} %`;
  const byOrder = (first: 'off' | 'on') =>
    ratios
      .filter((_, i) => (i % 2 === 0) === (first === 'off'))
      .map((r) => sign((r - 1) * 100))
      .join(', ');
  return `## Last-pull tracking: manifest GET throughput

Run ${result.startedAt.toISOString()}, \`BENCH_SECTIONS=pulls npm run bench\` (bench/pulls.ts). Two
origins as \`npm start\` runs them (PGlite, filesystem, in-process cache), one with \`pulls.track\`
on (the default: pulls noted in memory, written every 5 s with one UPDATE per table) and one with it
off, the same small image in each. wrk (${settings.threads} threads, ${settings.connections} connections,
${settings.seconds} s per run) GETs the manifest by tag — the case that writes both the tag's and the
manifest's time — against each in turn, ${settings.rounds} rounds alternating which goes first.

${table}

Tracking on against off, round by round (the two runs of a round back to back) — rounds where off
ran first: ${byOrder('off')}; where on ran first: ${byOrder('on')}. Their geometric mean:
**${sign(change)}** (the bound is −5 %); the spread of single rounds is the machine's noise. The tracking origin noted ${fixed(result.recorded)} pulls and wrote them in
${fixed(result.flushes)} flushes (${fixed(result.recorded / Math.max(1, result.flushes))} pulls per
write). Noting a pull (\`PullRecorder.record\`, what the request path pays) costs
${fixed(result.recordNs, 0)} ns, timed alone over 1,000,000 pulls of 1,000 tags; \`Date.now()\` timed the
same way took ${fixed(result.dateNowNs, 0)} ns (the machine's load at the time).
`;
}

export function writePullsBlock(file: string, block: string): Promise<void> {
  return writeMarkedBlock(file, BEGIN, END, block);
}
