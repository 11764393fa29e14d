// The results as a markdown table, and docs/benchmarks.md around it. A hand-written section
// after KEEP_MARKER in the existing file survives a new run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { BenchSettings, SmallRequest, TargetResult } from './measure.ts';
import { fixed, MiB } from './util.ts';

export const KEEP_MARKER =
  '<!-- Everything below this line is kept when `npm run bench` rewrites this file. -->';

interface Row {
  readonly label: string;
  readonly ours: number;
  readonly theirs: number;
  readonly digits: number;
  /** Target text and whether it is met; undefined when the row has no target. */
  readonly target?: { text: string; met: boolean };
}

const SMALL_LABELS: Record<SmallRequest, string> = {
  manifest: 'GET manifest by tag',
  base: 'GET /v2/',
  headBlob: 'HEAD blob¹',
};

export function rows(ours: TargetResult, theirs: TargetResult): Row[] {
  const ratio = (a: number, b: number) => a / b;
  const growth = (r: TargetResult) => (Math.max(r.rssPeakPush, r.rssPeakPull) - r.rssBaseline) / MiB;
  const list: Row[] = [
    {
      label: 'Blob push, 1 GiB, POST + 1 PATCH + PUT (MiB/s)',
      ours: ours.pushMiBps,
      theirs: theirs.pushMiBps,
      digits: 0,
      target: { text: '≥ 1.5×', met: ratio(ours.pushMiBps, theirs.pushMiBps) >= 1.5 },
    },
    {
      label: `Blob pull, 1 GiB, median of ${ours.pullRunsMiBps.length} (MiB/s)`,
      ours: ours.pullMiBps,
      theirs: theirs.pullMiBps,
      digits: 0,
      target: { text: '≥ 1.0×', met: ratio(ours.pullMiBps, theirs.pullMiBps) >= 1.0 },
    },
    {
      label: 'RSS baseline, idle (MiB)',
      ours: ours.rssBaseline / MiB,
      theirs: theirs.rssBaseline / MiB,
      digits: 0,
    },
    {
      label: 'RSS peak during push (MiB)',
      ours: ours.rssPeakPush / MiB,
      theirs: theirs.rssPeakPush / MiB,
      digits: 0,
    },
    {
      label: 'RSS peak during pulls (MiB)',
      ours: ours.rssPeakPull / MiB,
      theirs: theirs.rssPeakPull / MiB,
      digits: 0,
    },
    {
      label: 'RSS growth, peak − baseline (MiB)',
      ours: growth(ours),
      theirs: growth(theirs),
      digits: 0,
      target: { text: 'ours < 100 MiB', met: growth(ours) < 100 },
    },
  ];
  for (const key of Object.keys(SMALL_LABELS) as SmallRequest[]) {
    const a = ours.small[key];
    const b = theirs.small[key];
    list.push(
      {
        label: `${SMALL_LABELS[key]} (req/s)`,
        ours: a.requestsPerSecond,
        theirs: b.requestsPerSecond,
        digits: 0,
        target: { text: '≥ 5×', met: ratio(a.requestsPerSecond, b.requestsPerSecond) >= 5 },
      },
      { label: `${SMALL_LABELS[key]} p50 (ms)`, ours: a.p50Ms, theirs: b.p50Ms, digits: 2 },
      {
        label: `${SMALL_LABELS[key]} p99 (ms)`,
        ours: a.p99Ms,
        theirs: b.p99Ms,
        digits: 2,
        target: { text: 'ours ≤ 50 ms', met: a.p99Ms <= 50 },
      },
    );
  }
  return list;
}

export function markdownTable(list: Row[]): string {
  const lines = [
    '| Measurement | ours | distribution | ours / distribution | target | met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of list) {
    const r = row.theirs === 0 ? '—' : `${fixed(row.ours / row.theirs, 2)}×`;
    lines.push(
      `| ${row.label} | ${fixed(row.ours, row.digits)} | ${fixed(row.theirs, row.digits)} | ${r} | ` +
        `${row.target?.text ?? ''} | ${row.target ? (row.target.met ? 'yes' : '**no**') : ''} |`,
    );
  }
  return lines.join('\n');
}

function version(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')[0] as string;
  } catch (error) {
    // wrk -v exits 1 after printing its version.
    const out = (error as { stdout?: string }).stdout ?? '';
    return out.trim().split('\n')[0] ?? 'unknown';
  }
}

export function machine(distributionBinary: string): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let debian = 'unknown';
  try {
    debian = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {}
  return [
    `- ${os.cpus().length} cores (${cpu}), ${fixed(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Debian ${debian}, Linux ${os.release()}`,
    '- all traffic over loopback (127.0.0.1); client, wrk and registry share the same cores',
    `- Node ${process.version} (the project's \`node\` devDependency), ${version(distributionBinary, ['--version'])}, ${version('wrk', ['-v']).replace(/\s+Copyright.*$/, '')}`,
  ].join('\n');
}

export async function writeReport(
  file: string,
  table: string,
  machineText: string,
  settings: BenchSettings,
  ours: TargetResult,
  theirs: TargetResult,
  loadAverages: { start: number[]; end: number[] },
): Promise<void> {
  let kept = `${KEEP_MARKER}\n`;
  try {
    const existing = await readFile(file, 'utf8');
    const at = existing.indexOf(KEEP_MARKER);
    if (at >= 0) kept = existing.slice(at);
  } catch {}
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
  const runs = (r: TargetResult) => r.pullRunsMiBps.map((v) => fixed(v, 0)).join(', ');
  const text = `# Benchmarks: origin vs CNCF distribution

The origin registry (this repository: PGlite metadata, filesystem blobs) against CNCF
distribution 2.8 (Debian's \`docker-registry\`, filesystem storage) on the same machine, measured
by \`npm run bench\` (bench/run.ts). Both registries run side by side for the whole run and the
measurements take turns (ours, then distribution, step by step), so that load from other work on
the machine falls on both alike.

Machine:

${machineText}

## How to run

\`\`\`sh
sudo apt-get install wrk docker-registry   # both are required; the run stops if either is missing
npm run bench
\`\`\`

It takes a few minutes and needs about ${fixed((settings.blobSize * 3) / 1024 ** 3, 0)} GiB of free space in the temp dir. Each
registry runs as a child process with its data in a temp dir; both are stopped and the temp
dir removed at the end, also on failure. \`BENCH_BLOB_MIB\`, \`BENCH_WRK_SECONDS\` and
\`BENCH_OURS_NODE_ARGS\` (e.g. \`--cpu-prof --cpu-prof-dir=/tmp/prof\`) change the run for
investigations; the table below uses the defaults.

## Results

Run on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; load average (1, 5, 15 min) ${load(loadAverages.start)} at
the start and ${load(loadAverages.end)} at the end (other work shares the machine; see the notes).

${table}

¹ measured with bench/head-load.ts, not wrk (see the notes).

Ratios are ours / distribution: higher is better for MiB/s and req/s, lower is better for
latency and RSS. Individual pulls (MiB/s): ours ${runs(ours)}; distribution ${runs(theirs)}.

## Notes

- **Auth differs.** Ours runs with its default token auth: every request in the small-request
  runs carries \`Authorization: Bearer <JWT>\` (a pull-scoped token from \`/token\`), which the
  registry verifies (cached after the first verification). Distribution runs **without auth**,
  as packaged; it does no authentication work at all.
- Logging: ours at \`log.level: warn\` (no request lines), distribution at \`log.level: warn\`
  with the access log disabled. Distribution uses the in-memory blob descriptor cache.
- Push: a ${fixed(settings.blobSize / MiB, 0)} MiB file of random bytes, generated once, sent as Docker sends a
  layer: \`POST /v2/<name>/blobs/uploads/\`, one \`PATCH\` with the file streamed from disk as
  a chunked body (no Content-Length), then \`PUT ?digest=sha256:…\`; timed from the POST to the
  201. Each registry hashes, writes and commits the blob.
- Pull: one untimed \`GET\` whose sha256 is checked, then ${settings.pulls} timed \`GET\`s of the blob
  (streamed, bytes counted and discarded), file in the page cache; the table gives the median.
  The client reads the socket into one reused buffer (net \`onread\`): a node:http client tops
  out near 500 MiB/s on this machine, below what both registries send, and would hide the
  difference.
- RSS: \`VmRSS\` of the registry process from \`/proc/<pid>/status\` every 50 ms. Baseline: idle
  after start-up, before the push. Growth: the larger of the two peaks minus the baseline.
- Small requests: \`wrk -t${settings.wrkThreads} -c${settings.wrkConnections} -d${settings.wrkSeconds}s --latency\` per endpoint, after a
  ${settings.wrkWarmupSeconds} s warm-up run of the same endpoint; image: a config blob, a 16 KiB layer and an
  OCI image manifest. Any socket error or non-2xx answer fails the run. The load generator
  shares the two cores with the registry, so absolute numbers are lower than on a dedicated client.
- **HEAD blob is not measured with wrk**: wrk 4.1 cannot do HEAD (its response parser does not
  know the request was HEAD and waits for the body the \`Content-Length\` announces, so it
  completes no request at all). bench/head-load.ts, a minimal closed-loop keep-alive client in
  the benchmark's Node process (${settings.wrkConnections} connections, ${settings.wrkSeconds} s, same warm-up), measures that row for both
  registries instead.

${kept}`;
  await writeFile(file, text);
}
