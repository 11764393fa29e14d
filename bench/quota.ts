// The "quota" section: what quota bookkeeping costs a push. A registry in this process (PGlite, and
// PostgreSQL when it is reachable) with two nested quotas, org/ and org/team/; N images pushed to
// org/team/… (charged to both rules) and N to free/… (no rule), alternately, so that both see the
// same machine. Each image: a config, a 1 KiB layer every image shares and a 4 KiB layer of its own;
// blobs are uploaded first, untimed; the manifest PUT alone is timed, one at a time.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../origin/config.ts';
import { startRegistry } from '../origin/server.ts';
import { buildImage, OCI_MANIFEST, pushBytes } from './image.ts';
import { checkPostgres, createDatabase, dropDatabase } from './postgres.ts';
import { machineSummary, writeMarkedBlock } from './report.ts';
import { fixed, log, median, type Resources } from './util.ts';

const ADMIN = { Authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };
const BEGIN = '<!-- bench section quota: begin -->';
const END = '<!-- bench section quota: end -->';

interface EngineResult {
  readonly engine: string;
  /** Manifest PUT times, ms. */
  readonly without: number[];
  readonly with: number[];
}

export interface QuotaResult {
  readonly pushes: number;
  /** The 1-minute load average at the end: the machine may be shared. */
  readonly load: number;
  readonly engines: EngineResult[];
  readonly skipped: string[];
}

async function runEngine(
  engine: 'pglite' | 'postgres',
  dir: string,
  pushes: number,
  databaseUrl?: string,
): Promise<EngineResult> {
  await mkdir(dir, { recursive: true });
  const configFile = path.join(dir, 'config.yaml');
  await writeFile(
    configFile,
    JSON.stringify({
      data_dir: path.join(dir, 'data'),
      http: { addr: '127.0.0.1:0', shutdown_timeout: '5s' },
      log: { level: 'error' },
      scan: { on_push: false, sources: [] },
      quotas: [
        { prefix: 'org/', limit: '1TB' },
        { prefix: 'org/team/', limit: '1TB' },
      ],
      ...(databaseUrl ? { database: { url: databaseUrl } } : {}),
    }),
  );
  const loaded = loadConfig(configFile, {});
  if (!loaded.ok) throw new Error(loaded.message);
  const running = await startRegistry(loaded.config);
  try {
    const base = running.url;
    const shared = randomBytes(1024);
    const times: Record<'with' | 'without', number[]> = { with: [], without: [] };
    for (let i = 0; i < pushes * 2; i += 1) {
      const kind = i % 2 === 0 ? 'with' : 'without';
      const repository = `${kind === 'with' ? 'org/team' : 'free'}/app${i % 10}`;
      const image = buildImage([shared, randomBytes(4096)]);
      for (const blob of image.blobs) await pushBytes(base, repository, blob.bytes, ADMIN);
      const started = performance.now();
      const put = await fetch(new URL(`/v2/${repository}/manifests/t${i}`, base), {
        method: 'PUT',
        headers: { ...ADMIN, 'Content-Type': OCI_MANIFEST },
        body: image.manifest.bytes as Uint8Array<ArrayBuffer>,
      });
      const elapsed = performance.now() - started;
      if (put.status !== 201) throw new Error(`PUT manifest: ${put.status} ${await put.text()}`);
      // The first of each kind warms caches up: not counted.
      if (i >= 2) times[kind].push(elapsed);
    }
    return { engine, without: times.without, with: times.with };
  } finally {
    await running.close();
  }
}

export async function runQuotaSection(options: {
  scratch: string;
  resources: Resources;
  pushes: number;
}): Promise<QuotaResult> {
  const engines: EngineResult[] = [];
  const skipped: string[] = [];
  log(`quota: ${options.pushes} pushes with and without quotas, on PGlite`);
  engines.push(await runEngine('pglite', path.join(options.scratch, 'quota-pglite'), options.pushes));
  try {
    await checkPostgres();
    const name = `registry_bench_quota_${randomBytes(4).toString('hex')}`;
    const url = await createDatabase(name);
    const release = options.resources.add('quota database', () => dropDatabase(name));
    log('quota: on PostgreSQL');
    engines.push(
      await runEngine('postgres', path.join(options.scratch, 'quota-postgres'), options.pushes, url),
    );
    await release();
  } catch (error) {
    skipped.push(`PostgreSQL: ${(error as Error).message}`);
  }
  return { pushes: options.pushes, load: os.loadavg()[0] ?? 0, engines, skipped };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

export function quotaTable(result: QuotaResult): string {
  const lines = [
    '| engine | manifest PUT, no quota (median / mean) | under 2 nested quotas (median / mean) | cost per push (median) |',
    '|---|---|---|---|',
  ];
  for (const e of result.engines) {
    const cost = median(e.with) - median(e.without);
    lines.push(
      `| ${e.engine} | ${fixed(median(e.without), 2)} / ${fixed(mean(e.without), 2)} ms | ${fixed(median(e.with), 2)} / ${fixed(mean(e.with), 2)} ms | ${fixed(cost, 2)} ms |`,
    );
  }
  return lines.join('\n');
}

export function quotaBlock(result: QuotaResult, table: string): string {
  return [
    '## Quota bookkeeping per push',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machineSummary()}. ${result.pushes} manifest PUTs`,
    'under org/team/ (charged to the quotas of org/ and org/team/) and as many under free/ (no quota),',
    'alternately, one at a time, on a registry in the benchmark process. Each image: a config, a',
    '1 KiB layer every image shares and a 4 KiB one of its own (blobs uploaded first, untimed).',
    '',
    table,
    '',
    `Load average at the end: ${fixed(result.load, 1)}. A push under quotas runs four more statements in its`,
    'transaction (the counting lock taken shared, the usage rows locked, the blob references upserted,',
    'the usage updated); a push under no quota two of them (the lock and an empty read). The means',
    'carry the outliers of a loaded machine; the medians are the figure to read.',
    ...(result.skipped.length > 0 ? ['', `Not run: ${result.skipped.join('; ')}.`] : []),
  ].join('\n');
}

export function writeQuotaBlock(file: string, block: string): Promise<void> {
  return writeMarkedBlock(file, BEGIN, END, block);
}
