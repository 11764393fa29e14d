// The results as markdown, and docs/benchmarks.md around them. The file holds one block per
// section (filesystem, s3, big; scan and edge write their own blocks) between SECTION markers: a run rewrites the blocks of the sections
// it ran and keeps the others as they were. A hand-written part after KEEP_MARKER survives too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import type { BigPull, BigResult } from './big.ts';
import type { TimedGet } from './blob.ts';
import type { LoadResult } from './load.ts';
import type { BenchSettings, SmallRequest, TargetResult } from './measure.ts';
import type { Pair, S3Result } from './s3-section.ts';
import { fixed, GiB, MiB, median } from './util.ts';

export const KEEP_MARKER =
  '<!-- Everything below this line is kept when `npm run bench` rewrites this file. -->';

export const SECTIONS = ['filesystem', 's3', 'big'] as const;
export type Section = (typeof SECTIONS)[number];

const begin = (section: Section) => `<!-- bench section ${section}: begin -->`;
const end = (section: Section) => `<!-- bench section ${section}: end -->`;

/** The issue's RSS target for the load tests: 200 MB. */
const RSS_TARGET = 200e6;

interface Row {
  readonly label: string;
  readonly ours: number;
  /** NaN: not measured (shown as —). */
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
  list.push(...imageLoadRows('', { ours: ours.loads.image, distribution: theirs.loads.image }));
  list.push(...blobLoadRows('', { ours: ours.loads.blob, distribution: theirs.loads.blob }, false));
  return list;
}

const mib = (bytes: number) => bytes / MiB;

function imageLoadRows(suffix: string, r: Pair<LoadResult>): Row[] {
  const what = `${r.ours.concurrency} concurrent image pulls${suffix}`;
  return [
    { label: `${what}: wall (s)`, ours: r.ours.wallSeconds, theirs: r.distribution.wallSeconds, digits: 2 },
    { label: `${what}: pull p50 (ms)`, ours: r.ours.p50Ms, theirs: r.distribution.p50Ms, digits: 0 },
    { label: `${what}: pull p99 (ms)`, ours: r.ours.p99Ms, theirs: r.distribution.p99Ms, digits: 0 },
    {
      label: `${what}: errors`,
      ours: r.ours.errors,
      theirs: r.distribution.errors,
      digits: 0,
      target: { text: 'ours 0', met: r.ours.errors === 0 },
    },
    {
      label: `${what}: RSS peak (MiB)`,
      ours: mib(r.ours.rssPeak),
      theirs: mib(r.distribution.rssPeak),
      digits: 0,
    },
  ];
}

function blobLoadRows(suffix: string, r: Pair<LoadResult>, rssTarget: boolean): Row[] {
  const what = `${r.ours.concurrency} concurrent GETs of one ${fixed(r.ours.bytes / r.ours.concurrency / MiB, 0)} MiB blob${suffix}`;
  return [
    {
      label: `${what}: wall (s)`,
      ours: r.ours.wallSeconds,
      theirs: r.distribution.wallSeconds,
      digits: 2,
      target: { text: '≤ 1.0×', met: r.ours.wallSeconds <= r.distribution.wallSeconds },
    },
    { label: `${what}: GET p50 (ms)`, ours: r.ours.p50Ms, theirs: r.distribution.p50Ms, digits: 0 },
    { label: `${what}: GET p99 (ms)`, ours: r.ours.p99Ms, theirs: r.distribution.p99Ms, digits: 0 },
    {
      label: `${what}: errors`,
      ours: r.ours.errors,
      theirs: r.distribution.errors,
      digits: 0,
      target: { text: 'ours 0', met: r.ours.errors === 0 },
    },
    {
      label: `${what}: RSS peak (MiB)`,
      ours: mib(r.ours.rssPeak),
      theirs: mib(r.distribution.rssPeak),
      digits: 0,
      ...(rssTarget ? { target: { text: 'ours < 200 MB', met: r.ours.rssPeak < RSS_TARGET } } : {}),
    },
  ];
}

export function markdownTable(list: Row[]): string {
  const lines = [
    '| Measurement | ours | distribution | ours / distribution | target | met |',
    '| --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const row of list) {
    const r = row.theirs === 0 || Number.isNaN(row.theirs) ? '—' : `${fixed(row.ours / row.theirs, 2)}×`;
    const theirs = Number.isNaN(row.theirs) ? '—' : fixed(row.theirs, row.digits);
    lines.push(
      `| ${row.label} | ${fixed(row.ours, row.digits)} | ${theirs} | ${r} | ` +
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

function cpuAndDebian(): { cpu: string; debian: string } {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let debian = 'unknown';
  try {
    debian = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {}
  return { cpu, debian };
}

/** The machine in a sentence, for the sections that write their own block (scan, edge). */
export function machineSummary(): string {
  const { cpu, debian } = cpuAndDebian();
  return (
    `${os.cpus().length} cores (${cpu}, shared with other work), ${fixed(os.totalmem() / 1024 ** 3, 0)} GiB RAM,\n` +
    `Debian ${debian}, Linux ${os.release()}, Node ${process.version}`
  );
}

export function machine(distributionBinary: string): string {
  const { cpu, debian } = cpuAndDebian();
  return [
    `- ${os.cpus().length} cores (${cpu}), ${fixed(os.totalmem() / 1024 ** 3, 0)} GiB RAM, Debian ${debian}, Linux ${os.release()}`,
    '- all traffic over loopback (127.0.0.1); client, wrk and registry share the same cores',
    `- Node ${process.version} (the project's \`node\` devDependency), ${version(distributionBinary, ['--version'])}, ${version('wrk', ['-v']).replace(/\s+Copyright.*$/, '')}`,
  ].join('\n');
}

const loadText = (values: number[]) => values.map((v) => v.toFixed(2)).join(', ');
const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function headerText(machineText: string): string {
  return `# Benchmarks: origin vs CNCF distribution

The origin registry (this repository) against CNCF distribution 2.8 (Debian's
\`docker-registry\`) on the same machine, measured by \`npm run bench\` (bench/run.ts), in three
sections:

- **filesystem**: ours with its defaults (PGlite metadata, filesystem blobs) against
  distribution on the filesystem: a 1 GiB blob pushed and pulled, small requests under wrk, and
  the load tests of issue 3;
- **s3**: the production setup of issue 3, ours on S3 + PostgreSQL + Redis + a disk cache,
  against distribution's S3 driver on the same S3 server (s3rver): the load tests, and single
  GETs from the disk cache and from S3;
- **big**: a 10 GiB blob pushed (one streamed PATCH) and pulled through ours on S3, with its RSS,
  and pulled from distribution on the same S3 server.

In each section both registries run side by side and the measurements take turns (ours, then
distribution, step by step), so that load from other work on the machine falls on both alike.

Machine:

${machineText}

## How to run

\`\`\`sh
sudo apt-get install wrk docker-registry   # both are required; the run stops if either is missing
npm run bench                              # all sections
BENCH_SECTIONS=s3,big npm run bench        # some of them (filesystem, s3, big, scan, edge)
\`\`\`

The s3 and big sections need PostgreSQL at 127.0.0.1:5432 (a role that may create databases;
\`BENCH_POSTGRES_URL\`, default \`postgres://root@127.0.0.1:5432/postgres\`) and Redis at
127.0.0.1:6379 (\`BENCH_REDIS_URL\`); s3rver comes with the dev dependencies. Each section starts
its own processes (registries, s3rver) with their data in a temp dir, a fresh PostgreSQL database
and a unique Redis key prefix; all of it is stopped, dropped and removed at the end of the
section, also on failure. A run rewrites the blocks of the sections it ran in this file and keeps
the others. Space in the temp dir: about 3 GiB for filesystem, 1 GiB for s3, about 4.5 times the
big blob for big (the section checks first). The filesystem section takes about 2 minutes, s3
about 1, big about 8 (with 10 GiB).

\`BENCH_BLOB_MIB\` (filesystem blob, default 1024), \`BENCH_WRK_SECONDS\` (default 10),
\`BENCH_LOAD_CONCURRENCY\` (default 100), \`BENCH_BIG_GIB\` (default 10) and
\`BENCH_OURS_NODE_ARGS\` (e.g. \`--cpu-prof --cpu-prof-dir=/tmp/prof\`) change the run for
investigations; the tables below use the defaults.`;
}

export function filesystemBlock(
  table: string,
  settings: BenchSettings,
  ours: TargetResult,
  theirs: TargetResult,
  loadAverages: { start: number[]; end: number[] },
  startedAt: Date,
): string {
  const runs = (r: TargetResult) => r.pullRunsMiBps.map((v) => fixed(v, 0)).join(', ');
  const layers = settings.loadLayerSizes.map((n) => fixed(n / MiB, 1)).join(', ');
  return `## Filesystem: PGlite + filesystem

### Results

Run on ${when(startedAt)}; load average (1, 5, 15 min) ${loadText(loadAverages.start)} at
the start and ${loadText(loadAverages.end)} at the end.

${table}

¹ measured with bench/head-load.ts, not wrk (see the notes).

Ratios are ours / distribution: higher is better for MiB/s and req/s, lower is better for
latency, wall time and RSS. Individual pulls (MiB/s): ours ${runs(ours)}; distribution ${runs(theirs)}.

### Notes

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
- RSS: \`VmRSS\` of the registry process from \`/proc/<pid>/status\` every 50 ms (20 ms in the
  load tests). Baseline: idle after start-up, before the push. Growth: the larger of the push
  and pull peaks minus the baseline. Ours' baseline is mostly PGlite (see the analysis), so the
  issue's 200 MB RSS target is checked in the S3 section, on PostgreSQL.
- Small requests: \`wrk -t${settings.wrkThreads} -c${settings.wrkConnections} -d${settings.wrkSeconds}s --latency\` per endpoint, after a
  ${settings.wrkWarmupSeconds} s warm-up run of the same endpoint; image: a config blob, a 16 KiB layer and an
  OCI image manifest. Any socket error or non-2xx answer fails the run. The load generator
  shares the two cores with the registry, so absolute numbers are lower than on a dedicated client.
- **HEAD blob is not measured with wrk**: wrk 4.1 cannot do HEAD (its response parser does not
  know the request was HEAD and waits for the body the \`Content-Length\` announces, so it
  completes no request at all). bench/head-load.ts, a minimal closed-loop keep-alive client in
  the benchmark's Node process (${settings.wrkConnections} connections, ${settings.wrkSeconds} s, same warm-up), measures that row for both
  registries instead.
- Load tests (bench/load.ts), as in the S3 section: ${settings.loadConcurrency} clients at once, each pulling an
  image (manifest GET by tag, then its 5 layers of ${layers} MiB one after the other), then
  ${settings.loadConcurrency} GETs at once of one ${fixed(settings.loadBlobSize / MiB, 0)} MiB blob; every request on a fresh connection,
  status and length checked, the first client's bytes checked against their digests. Wall time:
  from the first request to the last byte of the last client. Run once each, after the rest.
`;
}

function cacheText(r: LoadResult): string {
  const parts = Object.entries(r.cache)
    .filter(([k]) => k !== 'none')
    .map(([k, v]) => `${v} ${k}`);
  return parts.length ? parts.join(', ') : '—';
}

function cpuRows(runs: [string, Pair<LoadResult>][]): string {
  const lines = [
    '| Run | registry under test | its CPU (s) | s3rver CPU (s) | client CPU (s) | other CPU (s) | wall (s) | X-Cache |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const [label, pair] of runs) {
    for (const name of ['ours', 'distribution'] as const) {
      const r = pair[name];
      lines.push(
        `| ${label} | ${name} | ${fixed(r.cpu[name] ?? 0, 2)} | ${fixed(r.cpu.s3rver ?? 0, 2)} | ` +
          `${fixed(r.cpu.bench ?? 0, 2)} | ${fixed(r.cpu.other ?? 0, 2)} | ${fixed(r.wallSeconds, 2)} | ${cacheText(r)} |`,
      );
    }
  }
  return lines.join('\n');
}

function latencyTable(result: S3Result): string {
  const size = result.settings.latencyBlobSize;
  const row = (label: string, list: TimedGet[]) => {
    const first = median(list.map((g) => g.firstByteSeconds * 1000));
    const total = median(list.map((g) => g.seconds * 1000));
    return `| ${label} | ${fixed(first, 1)} | ${fixed(total, 0)} | ${fixed(size / MiB / (total / 1000), 0)} | ${list
      .map((g) => fixed(g.seconds * 1000, 0))
      .join(', ')} |`;
  };
  const l = result.latency;
  return [
    `| GET of one ${fixed(size / MiB, 0)} MiB blob, median of ${l.oursHit.length} | first byte (ms) | total (ms) | MiB/s | each total (ms) |`,
    '| --- | ---: | ---: | ---: | --- |',
    row('ours, disk cache HIT', l.oursHit),
    row('ours, S3 MISS (fills the disk cache on the way)', l.oursMiss),
    row('distribution, first GET (from S3)', l.distributionFirst),
    row('distribution, second GET (from S3)', l.distributionSecond),
    row('s3rver itself: presigned GET of ours’ object', l.s3rverDirect),
  ].join('\n');
}

function freshTable(result: S3Result): string {
  const lines = [
    '| ours process | RSS idle (MiB) | cold: wall (s) | cold: RSS peak (MiB) | warm: wall (s) | warm: RSS peak (MiB) | RSS < 200 MB |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const f of result.fresh) {
    const peak = Math.max(f.cold.rssPeak, f.warm.rssPeak);
    lines.push(
      `| \`${f.label}\` | ${fixed(mib(f.idle), 0)} | ${fixed(f.cold.wallSeconds, 2)} | ${fixed(mib(f.cold.rssPeak), 0)} | ` +
        `${fixed(f.warm.wallSeconds, 2)} | ${fixed(mib(f.warm.rssPeak), 0)} | ${peak < RSS_TARGET ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}

export function s3Block(result: S3Result): string {
  const s = result.settings;
  const l = result.latency;
  const med = (list: TimedGet[], key: 'firstByteSeconds' | 'seconds') =>
    median(list.map((g) => g[key] * 1000));
  const rowsList: Row[] = [
    {
      label: 'RSS baseline, idle after the pushes (MiB)',
      ours: mib(result.rssBaseline.ours),
      theirs: mib(result.rssBaseline.distribution),
      digits: 0,
    },
    ...imageLoadRows(', disk cache cold', result.imageCold),
    ...imageLoadRows(', disk cache warm', result.imageWarm),
    ...blobLoadRows(', disk cache cold', result.blobCold, true),
    ...blobLoadRows(', disk cache warm', result.blobWarm, true),
    {
      label: `${fixed(s.latencyBlobSize / MiB, 0)} MiB GET, ours disk HIT vs distribution: first byte (ms)`,
      ours: med(l.oursHit, 'firstByteSeconds'),
      theirs: med(l.distributionSecond, 'firstByteSeconds'),
      digits: 1,
    },
    {
      label: `${fixed(s.latencyBlobSize / MiB, 0)} MiB GET, ours disk HIT vs distribution: total (ms)`,
      ours: med(l.oursHit, 'seconds'),
      theirs: med(l.distributionSecond, 'seconds'),
      digits: 0,
    },
    {
      label: `${fixed(s.latencyBlobSize / MiB, 0)} MiB GET, ours S3 MISS vs distribution: first byte (ms)`,
      ours: med(l.oursMiss, 'firstByteSeconds'),
      theirs: med(l.distributionFirst, 'firstByteSeconds'),
      digits: 1,
    },
    {
      label: `${fixed(s.latencyBlobSize / MiB, 0)} MiB GET, ours S3 MISS vs distribution: total (ms)`,
      ours: med(l.oursMiss, 'seconds'),
      theirs: med(l.distributionFirst, 'seconds'),
      digits: 0,
    },
  ];
  const cpu = result.cpuSection;
  const layers = s.layerSizes.map((n) => fixed(n / MiB, 1)).join(', ');
  return `## S3 + PostgreSQL + Redis

### Setup

- **One s3rver** (3.7.1, a Node process on the same 2 cores; its own temp dir) serves both
  registries: bucket \`ours\` (prefix \`registry/\`) and bucket \`distribution\` (rootdirectory
  \`/registry\`), over HTTP on 127.0.0.1, path-style, credentials S3RVER/S3RVER.
- **Ours**, configured for production: \`storage.backend: s3\` on that s3rver (defaults: part size
  8 MiB, 4 parts in flight, 64 sockets), PostgreSQL at 127.0.0.1:5432 (a fresh database, dropped
  at the end), \`storage.cache.type: redis\` at 127.0.0.1:6379 with a unique \`redis_prefix\`
  (keys deleted at the end), and a disk cache (\`disk_path\` in the temp dir,
  \`disk_size_gb: ${s.diskSizeGb}\`); token auth as in the filesystem section, \`log.level: warn\`.
- **Distribution 2.8.2** with its \`s3\` driver on the same s3rver: \`regionendpoint\`,
  \`region: us-east-1\`, \`bucket\`, \`accesskey\`/\`secretkey\`, \`secure: false\`,
  \`v4auth: true\`, \`rootdirectory\`; 2.8 has no \`forcepathstyle\` key, a \`regionendpoint\`
  switches it to path-style addressing itself. \`redirect: disable: true\`, so that it streams blobs
  through itself as ours does (its default would answer 307 to a presigned s3rver URL). No auth,
  \`log.level: warn\`, access log off, in-memory blob descriptor cache. Its environment is
  PATH and HOME only: with \`AWS_CA_BUNDLE\` set (as on this machine) its AWS SDK panics at start-up
  (\`LoadCustomCABundleError … unsupported transport\`).
- **Distribution 2.8 cannot push to s3rver.** Every PATCH or PUT of an upload makes its S3 driver
  look the upload up with ListMultipartUploads (\`GET /bucket?uploads\`), which s3rver does not
  implement. This run's probe push answered: \`${result.distributionPush.replaceAll('\n', ' ').replaceAll('|', '\\|')}\`.
  So distribution's blobs, manifest and links are written by the benchmark straight into its
  storage layout on s3rver (\`docker/registry/v2/blobs/sha256/<xx>/<hex>/data\`,
  \`repositories/<name>/_layers/…/link\`, \`_manifests/revisions/…\`, \`_manifests/tags/<tag>/…\`):
  the same bytes and digests as ours, read by distribution's own S3 driver. Only its reads are
  compared.

### Results

Run on ${when(result.startedAt)}; load average (1, 5, 15 min) ${loadText(result.loadStart)} at the start and
${loadText(result.loadEnd)} at the end. Over the whole section, CPU seconds: ours
${fixed(cpu.ours ?? 0, 1)}, distribution ${fixed(cpu.distribution ?? 0, 1)}, s3rver ${fixed(cpu.s3rver ?? 0, 1)}, benchmark client
${fixed(cpu.bench ?? 0, 1)}, everything else ${fixed(cpu.other ?? 0, 1)} (kernel work not charged to a process, and other
processes), in ${fixed(cpu.wall ?? 0, 0)} s of wall time on 2 cores.

${markdownTable(rowsList)}

Ratios are ours / distribution. The image: a config blob and 5 layers of ${layers} MiB
(${fixed(result.imageBytes / MiB, 1)} MiB of layers per pull). "Cold" is the first load after the
push: nothing of it is in ours' disk cache yet (distribution has no disk cache; its in-memory blob
descriptor cache is cold too); "warm" is the same load again.

CPU time of each load run (from \`/proc/<pid>/stat\`; "other" is the machine's busy time not
charged to these processes, mostly loopback networking in interrupts); X-Cache counts ours'
blob answers:

${cpuRows([
  ['image pulls, cold', result.imageCold],
  ['image pulls, warm', result.imageWarm],
  [`${fixed(s.loadBlobSize / MiB, 0)} MiB blob, cold`, result.blobCold],
  [`${fixed(s.loadBlobSize / MiB, 0)} MiB blob, warm`, result.blobWarm],
])}

Single GETs, one at a time (each blob: ours MISS, distribution, s3rver directly; then ours HIT,
distribution again), fresh connection each, body counted and discarded; the digests are
checked afterwards on both:

${latencyTable(result)}

The same ${fixed(s.loadBlobSize / MiB, 0)} MiB blob load on fresh ours processes (started after the runs above, nothing
pushed or pulled through them before; cold = their own empty disk cache), with the production
command line and with V8's young generation capped (\`--max-semi-space-size=2\`, MiB per
semi-space), to show where ours' RSS goes:

${freshTable(result)}

### Notes

- Load tests (bench/load.ts): ${s.concurrency} clients at once; an image pull is a manifest GET by
  tag then the 5 layer GETs one after the other (each on a fresh connection); wall time from the
  first request to the last byte of the last client; p50/p99 per pull (image) or per GET (blob).
  Every answer's status and length are checked; the first client also checks every digest.
  Ours' clients share one pull token fetched before the run (a Docker client fetches one per
  pull; distribution has no auth).
- s3rver held ${fixed(result.s3rverDiskBytes / MiB, 0)} MiB on disk at the end of the section (both buckets).
`;
}

function bigPullCells(p: BigPull | undefined, size: number): { mibps: string; first: string; rss: string } {
  if (!p) return { mibps: '—', first: '—', rss: '—' };
  return {
    mibps: fixed(size / MiB / p.get.seconds, 0),
    first: fixed(p.get.firstByteSeconds * 1000, 0),
    rss: fixed(p.rssPeak / MiB, 0),
  };
}

export function bigBlock(result: BigResult): string {
  const size = result.size;
  const gib = fixed(size / GiB, 0);
  const theirs = 'pull' in result.distribution ? result.distribution : undefined;
  const miss = bigPullCells(result.pullMiss, size);
  const hit = bigPullCells(result.pullHit, size);
  const dist = bigPullCells(theirs?.pull, size);
  const cpu = (c: Record<string, number>, key: string) => fixed(c[key] ?? 0, 1);
  const push = result.push;
  return `## ${gib} GiB blob through S3

The production setup of the S3 section (a fresh s3rver, database, Redis prefix and disk cache),
one blob of ${gib} GiB (${fixed(size, 0)} bytes: a 64 MiB random block repeated, so that the client
spends no CPU making it; nothing on the way compresses or deduplicates). Run on
${when(result.startedAt)}; load average ${loadText(result.loadStart)} at the start and
${loadText(result.loadEnd)} at the end; ${fixed(result.freeBefore / GiB, 0)} GiB free in the temp dir at the start,
at most ${fixed(result.diskPeak / GiB, 1)} GiB of it used at once, all removed at the end.

| Measurement | ours | distribution |
| --- | ---: | ---: |
| Push: POST + one streamed PATCH + PUT ?digest= (MiB/s) | ${fixed(size / MiB / push.seconds, 0)} | — (cannot push to s3rver) |
| … PATCH: the bytes sent and stored in S3 (s) | ${fixed(push.patchSeconds, 1)} | — |
| … PUT: digest check and commit to the blob's final key (s) | ${fixed(push.commitSeconds, 1)} | — |
| Pull from S3, digest verified by the client (MiB/s) | ${miss.mibps} (X-Cache ${result.pullMiss.cache}) | ${dist.mibps} |
| … first byte (ms) | ${miss.first} | ${dist.first} |
| Pull again, from ours' disk cache, digest verified (MiB/s) | ${hit.mibps} (X-Cache ${result.pullHit.cache}) | — |
| RSS idle before (MiB) | ${fixed(result.rssBaseline / MiB, 0)} | ${theirs ? fixed(theirs.rssBaseline / MiB, 0) : '—'} |
| RSS peak during the push (MiB) | ${fixed(result.pushRssPeak / MiB, 0)} | — |
| RSS peak during the pull from S3 (MiB) | ${miss.rss} | ${dist.rss} |
| RSS peak during the pull from disk (MiB) | ${hit.rss} | — |
| CPU during the push: registry / s3rver / client (s) | ${cpu(result.pushCpu, 'ours')} / ${cpu(result.pushCpu, 's3rver')} / ${cpu(result.pushCpu, 'bench')} | — |
| CPU during the pull from S3: registry / s3rver / client (s) | ${cpu(result.pullMiss.cpu, 'registry')} / ${cpu(result.pullMiss.cpu, 's3rver')} / ${cpu(result.pullMiss.cpu, 'bench')} | ${theirs ? `${cpu(theirs.pull.cpu, 'registry')} / ${cpu(theirs.pull.cpu, 's3rver')} / ${cpu(theirs.pull.cpu, 'bench')}` : '—'} |
| CPU during the pull from disk: registry / client (s) | ${cpu(result.pullHit.cpu, 'registry')} / ${cpu(result.pullHit.cpu, 'bench')} | — |

${
  theirs
    ? `Distribution's copy was written into its S3 layout with one PutObject (${fixed(theirs.seedSeconds, 0)} s), since it cannot push to s3rver (see the S3 section).`
    : `Distribution was not measured: ${(result.distribution as { skipped: string }).skipped}.`
}
The client verifies the sha256 of every pull as it reads, on the same 2 cores (its CPU is in
the table).
`;
}

/**
 * Rewrites `file`: the header, then each section's block (new when given, else the one already in
 * the file), then the kept hand-written part.
 */
export async function writeReport(
  file: string,
  header: string,
  blocks: Partial<Record<Section, string>>,
): Promise<void> {
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch {}
  const at = existing.indexOf(KEEP_MARKER);
  const kept = at >= 0 ? existing.slice(at) : `${KEEP_MARKER}\n`;
  const parts = [header];
  for (const section of SECTIONS) {
    let block = blocks[section];
    if (block === undefined) {
      const from = existing.indexOf(begin(section));
      const to = existing.indexOf(end(section));
      block =
        from >= 0 && to > from
          ? existing.slice(from + begin(section).length, to).trim()
          : `## Section ${section}\n\nNot run yet: \`BENCH_SECTIONS=${section} npm run bench\`.`;
    }
    parts.push(`${begin(section)}\n${block.trim()}\n${end(section)}`);
  }
  parts.push(kept);
  await writeFile(file, `${parts.join('\n\n')}`);
}

/**
 * Writes `block` between the markers `begin` and `end`: in place when the file has them, else at
 * the end, after the part that the other sections' runs keep (KEEP_MARKER), so that either
 * survives the other's runs. For the sections that write their own block (scan, edge).
 */
export async function writeMarkedBlock(
  file: string,
  begin: string,
  end: string,
  block: string,
): Promise<void> {
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch {}
  const text = `${begin}\n${block.trim()}\n${end}\n`;
  const from = existing.indexOf(begin);
  const to = existing.indexOf(end);
  let updated: string;
  if (from >= 0 && to > from) {
    updated = existing.slice(0, from) + text + existing.slice(to + end.length).replace(/^\n+/, '');
  } else {
    const kept = existing.includes(KEEP_MARKER)
      ? existing.trimEnd()
      : `${existing.trimEnd()}\n\n${KEEP_MARKER}`;
    updated = `${kept.trimStart()}\n\n${text}`;
  }
  await writeFile(file, updated);
}
