// The "retention" section: a retention plan (the dry-run: what every apply starts with) over
// 100,000 tags in 1,000 repositories on PostgreSQL, against issue 13's criterion (under 10 s).
// The fixture is loaded with set-based SQL (no pushes): per repository 100 tags, each naming its
// own manifest (a config shared by all and a layer of its own), pushed a day apart over 100 days,
// a tenth of them pulled within the week, and 10 untagged manifests. The rule, on every repository:
// only ci-* considered, v* and latest always kept, keep the 10 newest, remove what was pushed more
// than 30 d ago unless pulled within 7 d, and untagged manifests older than 7 d; one prefix has
// immutable v* tags. The plan's time is the median of 3 runs, each from the queries to the bytes
// GC would reclaim.
import { randomBytes } from 'node:crypto';
import { InMemoryMetadataCache } from '../origin/cache/metadata-cache.ts';
import { openDatabase } from '../origin/metadata/database.ts';
import { ImmutableTags } from '../origin/policy/immutable-tags.ts';
import { Quotas } from '../origin/policy/quotas.ts';
import { DomainEvents } from '../origin/registry/events.ts';
import { Manifests } from '../origin/registry/manifests.ts';
import { Retention } from '../origin/retention/retention.ts';
import { retentionRuleInput } from '../origin/retention/rule.ts';
import { FilesystemBlobStore } from '../origin/storage/filesystem.ts';
import { systemClock } from '../shared/clock.ts';
import { checkPostgres, createDatabase, dropDatabase } from './postgres.ts';
import { machineSummary, writeMarkedBlock } from './report.ts';
import { fixed, log, median, type Resources } from './util.ts';

const BEGIN = '<!-- bench section retention: begin -->';
const END = '<!-- bench section retention: end -->';
const REPOSITORIES = 1000;
const TAGS_PER_REPOSITORY = 100;
const UNTAGGED_PER_REPOSITORY = 10;
const RUNS = 3;

export interface RetentionResult {
  readonly tags: number;
  readonly repositories: number;
  readonly loadMs: number;
  readonly planMs: number[];
  readonly plannedTags: number;
  readonly plannedManifests: number;
  readonly reclaimable: { blobs: number; bytes: number };
  /** An apply over the repositories under APPLY_PREFIX: items removed, skipped, and its time. */
  readonly apply: { repositories: number; removed: number; skipped: number; ms: number; leftAfter: number };
  readonly when: Date;
}

/** Applied for real: a dozen repositories (team-1/app-1, team-1/app-11, team-1/app-101, …). */
const APPLY_PREFIX = 'team-1/app-1';

export async function runRetentionSection(options: {
  scratch: string;
  resources: Resources;
}): Promise<RetentionResult> {
  await checkPostgres();
  const name = `registry_bench_retention_${randomBytes(4).toString('hex')}`;
  const url = await createDatabase(name);
  const release = options.resources.add('retention database', () => dropDatabase(name));
  const db = await openDatabase({ url, dataDir: options.scratch, poolSize: 4, holder: 'bench retention' });
  try {
    log(`loading ${REPOSITORIES * TAGS_PER_REPOSITORY} tags in ${REPOSITORIES} repositories`);
    const loadStarted = performance.now();
    await load(db);
    const loadMs = performance.now() - loadStarted;
    const events = new DomainEvents([]);
    const immutableTags = new ImmutableTags(db, events, [{ prefix: 'team-0/', tags: ['v*'] }]);
    const manifests = new Manifests({
      db,
      store: new FilesystemBlobStore(options.scratch),
      cache: new InMemoryMetadataCache(),
      events,
      clock: systemClock,
      immutableTags,
      quotas: new Quotas(db, events, []),
    });
    const rule = retentionRuleInput.parse({
      prefix: '',
      keep_last: 10,
      remove_older_than: '30d',
      keep_pulled_within: '7d',
      keep_tags: ['v*', 'latest'],
      only_tags: ['ci-*'],
      untagged_older_than: '7d',
    });
    const retention = new Retention({
      db,
      events,
      clock: systemClock,
      manifests,
      immutableTags,
      configured: [rule],
    });
    const planMs: number[] = [];
    let last: Awaited<ReturnType<Retention['run']>> | undefined;
    for (let i = 0; i < RUNS; i += 1) {
      const started = performance.now();
      last = await retention.run('dry-run');
      planMs.push(performance.now() - started);
      log(`plan ${i + 1}/${RUNS}: ${fixed(planMs[i] as number)} ms`);
    }
    const report = last as NonNullable<typeof last>;
    const applyStarted = performance.now();
    const applied = await retention.run('apply', APPLY_PREFIX);
    const applyMs = performance.now() - applyStarted;
    const skipped = applied.skipped.tags.length + applied.skipped.manifests.length;
    const after = await retention.run('dry-run', APPLY_PREFIX);
    log(`apply under ${APPLY_PREFIX}: ${fixed(applyMs)} ms`);
    return {
      apply: {
        repositories: applied.plan.evaluated.repositories,
        removed: applied.plan.tags.length + applied.plan.manifests.length - skipped,
        skipped,
        ms: applyMs,
        leftAfter: after.plan.tags.length + after.plan.manifests.length,
      },
      tags: report.plan.evaluated.tags,
      repositories: report.plan.evaluated.repositories,
      loadMs,
      planMs,
      plannedTags: report.plan.tags.length,
      plannedManifests: report.plan.manifests.length,
      reclaimable: report.reclaimable,
      when: new Date(),
    };
  } finally {
    await db.close();
    await release();
  }
}

/** The fixture, in a few INSERT … SELECT statements. */
async function load(db: Awaited<ReturnType<typeof openDatabase>>): Promise<void> {
  const perRepo = TAGS_PER_REPOSITORY + UNTAGGED_PER_REPOSITORY;
  await db.query(
    `INSERT INTO repositories (name) SELECT 'team-' || (i % 10) || '/app-' || i FROM generate_series(0, $1 - 1) i`,
    [REPOSITORIES],
  );
  await db.query(`INSERT INTO blobs (digest, size) VALUES ('sha256:config', 1500)`);
  // One layer per manifest, of 1 to 50 MB.
  await db.query(
    `INSERT INTO blobs (digest, size)
     SELECT 'sha256:layer-' || r.id || '-' || n, 1000000 + (n * 7919 % 49) * 1000000
       FROM repositories r, generate_series(0, $1 - 1) n`,
    [perRepo],
  );
  // Manifest n of a repository was stored n days ago (the untagged ones, n >= 100, long ago).
  await db.query(
    `INSERT INTO manifests (repository_id, digest, media_type, size, config_digest, created_at)
     SELECT r.id, 'sha256:m-' || r.id || '-' || n, 'application/vnd.oci.image.manifest.v1+json', 700,
            'sha256:config', now() - (n || ' days')::interval
       FROM repositories r, generate_series(0, $1 - 1) n`,
    [perRepo],
  );
  await db.query(
    `INSERT INTO manifest_references (repository_id, manifest_digest, child_digest, child_kind)
     SELECT m.repository_id, m.digest, c.digest, 'blob'
       FROM manifests m, LATERAL (VALUES ('sha256:config'), ('sha256:layer-' || substr(m.digest, 10))) c (digest)`,
  );
  // Tags: v1.n every tenth, latest on the newest, ci-n for the rest; a tenth pulled 2 days ago.
  await db.query(
    `INSERT INTO tags (repository_id, name, manifest_digest, updated_at, pushed_by, last_pulled_at)
     SELECT r.id,
            CASE WHEN n = 0 THEN 'latest' WHEN n % 10 = 5 THEN 'v1.' || n ELSE 'ci-' || n END,
            'sha256:m-' || r.id || '-' || n, now() - (n || ' days')::interval, 'ci',
            CASE WHEN n % 10 = 3 THEN now() - interval '2 days' END
       FROM repositories r, generate_series(0, $1 - 1) n`,
    [TAGS_PER_REPOSITORY],
  );
  await db.query('ANALYZE');
}

export function retentionBlock(r: RetentionResult): string {
  const ms = median(r.planMs);
  return `## Retention (issue 13)

A retention dry-run (the plan every apply starts with: the set-based reads, the planner, the
estimate of the bytes GC would reclaim) over ${r.tags.toLocaleString('en')} tags in ${r.repositories.toLocaleString('en')} repositories on
PostgreSQL, every repository under one rule (only \`ci-*\`, keep \`v*\` and \`latest\`, keep the 10
newest, remove those pushed more than 30 d ago unless pulled within 7 d, untagged manifests older
than 7 d). Criterion: under 10 s.

| | |
|---|---|
| plan (median of ${r.planMs.length}) | **${fixed(ms / 1000, 2)} s** (runs: ${r.planMs.map((t) => `${fixed(t / 1000, 2)} s`).join(', ')}) |
| tags planned for removal | ${r.plannedTags.toLocaleString('en')} |
| manifests planned for removal | ${r.plannedManifests.toLocaleString('en')} |
| GC would then reclaim | ${r.reclaimable.blobs.toLocaleString('en')} blobs, ${fixed(r.reclaimable.bytes / 1e9, 1)} GB |
| apply, ${r.apply.repositories} repositories (\`${APPLY_PREFIX}\`) | ${r.apply.removed.toLocaleString('en')} items removed in ${fixed(r.apply.ms / 1000, 1)} s (${fixed(r.apply.removed / (r.apply.ms / 1000))} a second; ${r.apply.skipped} skipped; ${r.apply.leftAfter} left to a dry-run after it) |
| fixture load (set-based SQL) | ${fixed(r.loadMs / 1000, 1)} s |

Measured ${r.when.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machineSummary()}; \`BENCH_SECTIONS=retention npm run bench\`
(bench/retention.ts). The fixture is written by SQL, not pushed: the plan reads rows, and
pushes would only measure the push path. An apply removes item by item, each in its own
transaction under the locks pushes take (re-checked, a \`delete\` event each): its rate, not the
plan, bounds a first run over a registry that never had rules.
`;
}

export function writeRetentionBlock(file: string, block: string): Promise<void> {
  return writeMarkedBlock(file, BEGIN, END, block);
}
