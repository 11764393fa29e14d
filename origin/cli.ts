// The `registry` command: serve, gc, retention, scan, vulndb import|update|status, user add,
// robot create|list|delete, audit export.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { systemClock } from '../shared/clock.ts';
import { parseManifest, scanSubject } from '../shared/manifest.ts';
import {
  type Core,
  openCore,
  openEvents,
  openRegistry,
  openScanning,
  openStore,
  openVulnDataSources,
} from './application.ts';
import { type AuditEntry, AuditTrail, auditJson, parseSince } from './audit/audit-trail.ts';
import { robotLogin } from './auth/robot-names.ts';
import { parseRobotRequest, type Robot, RobotAccounts } from './auth/robots.ts';
import {
  configuredUsers,
  DEFAULT_USER,
  defaultAccountApplies,
  existingUsers,
  saveUser,
} from './auth/users.ts';
import { type Config, loadConfig } from './config.ts';
import { formatDuration, parseDurationMs } from './duration.ts';
import { collectGarbage, GcBusyError, gcDependencies } from './gc/collect.ts';
import { reportLines, terminalProgress } from './gc/report.ts';
import { createLogger } from './log.ts';
import { type Database, openDatabase } from './metadata/database.ts';
import { DataDirInUseError } from './metadata/pglite-lock.ts';
import { DomainEvents, systemActor } from './registry/events.ts';
import { retentionJson, retentionLines } from './retention/report.ts';
import { updateVulnerabilityData } from './scan/data-update.ts';
import { scanReportLines, splitImageReference } from './scan/report-text.ts';
import type { Scans } from './scan/scans.ts';
import { startRegistry } from './server.ts';
import type { SourceOutcome, VulnDataStatus } from './vulndb/sources.ts';

const USAGE = `Usage: registry <command> [options]

Commands:
  serve [--config FILE]          run the registry (default: 127.0.0.1:5000, data in ./data)
  gc (--dry-run | --delete) [--untagged] [--grace-period DURATION] [--config FILE]
                                 garbage collection: list or delete unreferenced blobs
  retention (--dry-run | --apply) [--prefix P] [--json] [--config FILE]
                                 apply the retention rules: list or remove old tags and manifests
  scan NAME:TAG | NAME@DIGEST [--config FILE] [--json]
                                 scan an image now and print what was found
  vulndb import PATH [--config FILE]
                                 import OSV vulnerability data (all.zip, directory, .json)
  vulndb update [--config FILE]  fetch and import scan.sources now
  vulndb status [--config FILE] [--json]
                                 records per ecosystem; each source's last success and error
  user add NAME [--config FILE] [--password-stdin]
                                 add a user or change its password (read from stdin)
  robot create NAME --prefix PREFIX --actions ACTIONS [--prefix … --actions …] [--expires 90d]
                                 create a robot account for CI; prints its secret, once
  robot list [--config FILE]     list robot accounts: scopes, created, expires, last used
  robot delete NAME [--config FILE]
                                 delete (revoke) a robot account
  audit export [--since TIME] [--config FILE]
                                 the audit trail as JSON lines, oldest first

Options:
  -h, --help                     show this help
  -V, --version                  print the version

Every config key can also be set by environment: REGISTRY_<KEY_PATH>, e.g.
REGISTRY_HTTP_ADDR=0.0.0.0:5000 or REGISTRY_DATABASE_URL=postgres://localhost/registry.
Run "registry <command> --help" for the options of a command.
`;

const SERVE_USAGE = `Usage: registry serve [--config FILE]

Runs the registry. Without a config file it listens on 127.0.0.1:5000 and keeps blobs and
metadata (PGlite) under ./data. With http.tls set it serves HTTPS, and SIGHUP re-reads the
certificate and key.

Options:
  -c, --config FILE   YAML config file (keys: see README)
  -h, --help          show this help
`;

const USER_ADD_USAGE = `Usage: registry user add NAME [--config FILE] [--password-stdin]

Adds a user to the registry's database, or changes the password of an existing one. The
password is read from standard input (one line). Permissions come from auth.access in the config.

Options:
  -c, --config FILE     YAML config file, to find the database
      --password-stdin  read the password from stdin without prompting (the default when stdin is not a terminal)
  -h, --help            show this help
`;

const ROBOT_USAGE = `Usage: registry robot create NAME --prefix PREFIX --actions ACTIONS [--prefix … --actions …]
                           [--expires DURATION] [--config FILE]
       registry robot list [--config FILE]
       registry robot delete NAME [--config FILE]

Robot accounts are credentials for CI: they log in as robot$NAME (docker login, the token flow,
Basic credentials) and may do exactly what their scopes say, in the repositories whose names start
with each PREFIX: the auth.access rules do not apply to them, and they are never administrators.
ACTIONS is a comma-separated list of pull, push, delete (push includes pull); each --prefix takes
the --actions given in the same position. The secret is generated by the registry and printed on
standard output once, at creation; only a hash of it is kept. Deleting a robot revokes it at once
(tokens it obtained before live out their auth.token_expiry). Also: GET, POST /admin/robots,
DELETE /admin/robots/NAME. With PGlite (no database.url) run this while the registry is stopped,
or use those endpoints.

Options:
      --prefix PREFIX    a repository-name prefix ("team/app/"; "" is every repository)
      --actions ACTIONS  what the robot may do under the prefix given in the same position
      --expires DURATION how long the robot lives: 90d, 12h, … (default: until deleted)
  -c, --config FILE      YAML config file, to find the database
  -h, --help             show this help
`;

const GC_USAGE = `Usage: registry gc (--dry-run | --delete) [--untagged] [--grace-period DURATION] [--config FILE]

Garbage collection, online: safe while the registry serves pushes and pulls. Removes blobs that no
kept manifest references and that nobody pushed or mounted within the grace period (default 24h),
the stored bytes of deleted manifests, and expired uploads. Only one GC runs at a time.
With PGlite (no database.url) it runs only while the registry is stopped (it refuses otherwise):
use POST /admin/gc on a running registry.

Options:
      --dry-run                  list what would be deleted and its size; delete nothing
      --delete                   delete it
      --untagged                 also delete manifests no tag reaches (through an index or as a
                                 referrer), and what only they reference (default: gc.untagged)
      --grace-period DURATION    keep unreferenced blobs pushed or mounted within DURATION
                                 (e.g. 1h, 30m, 0s; default: gc.grace_period, 24h)
  -c, --config FILE              YAML config file, to find the database and the storage
  -h, --help                     show this help
`;

const RETENTION_USAGE = `Usage: registry retention (--dry-run | --apply) [--prefix P] [--json] [--config FILE]

Applies the retention rules (config key retention, and /admin/retention): lists every tag and
untagged manifest they remove, with the rule and the reason, and the bytes GC would then reclaim;
with --apply removes exactly those, skipping any that changed since (pushed again, pulled, newly
protected). Each removal is a delete (webhooks, audit trail). Blobs are reclaimed by the next gc.
With PGlite (no database.url) it runs only while the registry is stopped (it refuses otherwise):
use POST /admin/retention/run on a running registry.

Options:
      --dry-run        list what would be removed; remove nothing
      --apply          remove it
      --prefix P       only the repositories whose name starts with P
      --json           print the report as POST /admin/retention/run answers it
  -c, --config FILE    YAML config file, to find the database and the storage
  -h, --help           show this help
`;

const SCAN_USAGE = `Usage: registry scan NAME:TAG | NAME@DIGEST [--config FILE] [--json]

Scans an image (or each image of an index) now, stores the result as a push-triggered scan would,
and prints the vulnerabilities found. Layers already analysed are not read again.
With PGlite (no database.url) it runs only while the registry is stopped (it refuses otherwise):
use POST /v2/NAME/manifests/REF/scan on a running registry.

Options:
  -c, --config FILE   YAML config file, to find the database and the storage
      --json          print the result as the scan API returns it
  -h, --help          show this help
`;

const VULNDB_USAGE = `Usage: registry vulndb status [--config FILE] [--json]
       registry vulndb update [--config FILE]
       registry vulndb import PATH [--config FILE]

import: imports vulnerability records in the OSV format: an osv.dev export (e.g. Debian/all.zip),
a directory of OSV .json files, or one .json file. Incremental: records not modified since the last
import are skipped. Stored image inventories are then matched again (no layer is read), and
images that gain vulnerabilities fire the vulnerabilities webhook.
update: does the same for each of scan.sources (URLs fetched with a conditional GET, or local
paths), as \`registry serve\` does every scan.update_interval. Exits 1 if a source failed.
status: the records per ecosystem, and each source's last check, success and error.
With PGlite (no database.url) these run only while the registry is stopped (they refuse otherwise):
use POST /admin/vulndb/import, POST /admin/vulndb/update and GET /admin/vulndb on a running registry.

Options:
  -c, --config FILE   YAML config file, to find the database
      --json          (status) print the status as GET /admin/vulndb returns it
  -h, --help          show this help
`;

/** "registry 0.1.0 (Node v24.21.0)": the package's version and the Node it runs on. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return `registry ${pkg.version} (Node ${process.version})`;
}

/**
 * Opens a part a command needs; what stops it (a database in use by another process, a data
 * directory or blob root that cannot be written, a database that does not answer) ends the
 * command with its message, not a stack trace. `core`, when given, is closed first.
 */
async function opening<T>(open: () => Promise<T>, core?: Core): Promise<T> {
  try {
    return await open();
  } catch (error) {
    await core?.lifecycle.close().catch(() => {});
    process.stderr.write(`registry: ${(error as Error).message}\n`);
    // In use by another process is a conflict, as a GC already running is (1); the rest is setup (2).
    process.exit(error instanceof DataDirInUseError ? 1 : 2);
  }
}

function fail(message: string): never {
  process.stderr.write(`registry: ${message}\n`);
  process.exit(2);
}

function config(file: string | undefined): Config {
  const result = loadConfig(file);
  if (!result.ok) fail(result.message);
  return result.config;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(SERVE_USAGE);
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  try {
    registry = await startRegistry(config(values.config));
  } catch (error) {
    fail((error as Error).message);
  }
  const stop = (signal: string) => {
    registry.services.log.info({ signal }, 'shutting down: waiting for requests in flight');
    void registry.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // With TLS, SIGHUP re-reads the certificate and key (renewed ones are served without a restart).
  const { certificate } = registry;
  if (certificate) process.on('SIGHUP', () => void certificate.reload('SIGHUP'));
}

async function gc(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'dry-run': { type: 'boolean' },
      delete: { type: 'boolean' },
      untagged: { type: 'boolean' },
      'grace-period': { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(GC_USAGE);
  if (Boolean(values['dry-run']) === Boolean(values.delete)) {
    fail(`gc needs exactly one of --dry-run and --delete\n\n${GC_USAGE}`);
  }
  const gracePeriod = values['grace-period'];
  const gracePeriodMs = gracePeriod === undefined ? undefined : parseDurationMs(gracePeriod);
  if (gracePeriodMs === null)
    fail(`--grace-period: "${gracePeriod}" is not a duration (examples: 90s, 30m, 1h)`);
  const cfg = config(values.config);
  // The service logs (JSON on stdout) would mix with the report.
  const core = await opening(() => openCore({ ...cfg, log: { level: 'silent' } }, { holder: 'registry gc' }));
  const progress = process.stdout.isTTY ? terminalProgress(process.stdout) : undefined;
  try {
    const store = await opening(() => openStore(core), core);
    const registry = await openRegistry(core, store, openEvents(core));
    const report = await collectGarbage(gcDependencies({ ...core, ...registry }), {
      mode: values.delete ? 'delete' : 'dry-run',
      untagged: values.untagged ?? cfg.gc.untagged,
      gracePeriodMs: gracePeriodMs ?? cfg.gc.grace_period,
      onProgress: progress?.update,
    });
    progress?.clear();
    process.stdout.write(`${reportLines(report).join('\n')}\n`);
  } catch (error) {
    progress?.clear();
    if (error instanceof GcBusyError) {
      process.stderr.write(`registry: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw error;
  } finally {
    await core.lifecycle.close();
  }
}

async function retention(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'dry-run': { type: 'boolean' },
      apply: { type: 'boolean' },
      prefix: { type: 'string' },
      json: { type: 'boolean' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(RETENTION_USAGE);
  if (Boolean(values['dry-run']) === Boolean(values.apply)) {
    fail(`retention needs exactly one of --dry-run and --apply\n\n${RETENTION_USAGE}`);
  }
  const cfg = config(values.config);
  const core = await opening(() =>
    openCore({ ...cfg, log: { level: 'silent' } }, { holder: 'registry retention' }),
  );
  try {
    const store = await opening(() => openStore(core), core);
    const registry = await openRegistry(core, store, openEvents(core));
    const report = await registry.retention.run(values.apply ? 'apply' : 'dry-run', values.prefix ?? '', {
      actor: CLI,
    });
    if (values.json) return void process.stdout.write(`${JSON.stringify(retentionJson(report), null, 2)}\n`);
    process.stdout.write(`${retentionLines(report).join('\n')}\n`);
  } finally {
    await core.lifecycle.close();
  }
}

async function scan(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(SCAN_USAGE);
  const target = positionals.length === 1 ? splitImageReference(positionals[0] as string) : null;
  if (!target) fail(`scan takes one NAME:TAG or NAME@DIGEST\n\n${SCAN_USAGE}`);
  const cfg = config(values.config);
  const core = await opening(() =>
    openCore(
      { ...cfg, log: { level: 'silent' }, scan: { ...cfg.scan, concurrency: 1, poll_interval: 200 } },
      { holder: 'registry scan' },
    ),
  );
  try {
    const store = await opening(() => openStore(core), core);
    const events = openEvents(core);
    const registry = await openRegistry(core, store, events);
    const { scans, worker } = await openScanning(core, store, events);
    const found = await registry.manifests.get(target.name, target.reference);
    if (!found.ok) fail(`${target.name}:${target.reference}: ${found.error.message}`);
    const { record, bytes } = found.value;
    const manifest = parseManifest(bytes, record.mediaType);
    if (!manifest.ok) fail(`${record.digest}: the stored manifest cannot be read: ${manifest.error.message}`);
    const kind = scanSubject(manifest.value);
    if (kind.kind === 'artifact') fail(`${record.digest} is an artifact, not a container image`);
    await scans.request(target.name, record.digest, kind);
    worker.start();
    const progress = process.stderr.isTTY
      ? (text: string) => process.stderr.write(`\r${text}\x1b[K`)
      : undefined;
    let report = await scans.report(record.digest, kind, false);
    // The request set every image's status to pending: done when each completed or failed (here
    // or in a serving process that took the job).
    const finished = (r: typeof report) =>
      (kind.kind === 'image' ? [r] : (r.platforms ?? [])).every(
        (p) => p.status === 'completed' || p.status === 'failed',
      );
    while (!finished(report)) {
      progress?.(`scanning ${target.name}@${record.digest.slice(0, 19)}… (${report.status})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      report = await scans.report(record.digest, kind, false);
    }
    if (progress) process.stderr.write('\r\x1b[K');
    if (values.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${scanReportLines(`${target.name}@${record.digest}`, report).join('\n')}\n`);
    if (report.status === 'failed') process.exitCode = 1;
  } finally {
    await core.lifecycle.close();
  }
}

async function vulndb(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) return void process.stdout.write(VULNDB_USAGE);
  const [action] = positionals;
  const fits =
    (action === 'import' && positionals.length === 2) ||
    ((action === 'update' || action === 'status') && positionals.length === 1);
  if (!fits) fail(`expected: vulndb import PATH, vulndb update or vulndb status\n\n${VULNDB_USAGE}`);
  const cfg = config(values.config);
  const core = await opening(() =>
    openCore({ ...cfg, log: { level: 'silent' } }, { holder: `registry vulndb ${action}` }),
  );
  try {
    const store = await opening(() => openStore(core), core);
    const { scans } = await openScanning(core, store, openEvents(core));
    if (action === 'import') return await vulndbImport(core, scans, positionals[1] as string);
    const sources = openVulnDataSources(core, scans);
    if (action === 'status') {
      const status = await sources.status();
      if (values.json) return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return void process.stdout.write(`${vulndbStatusLines(status).join('\n')}\n`);
    }
    if (cfg.scan.sources.length === 0) fail('scan.sources is empty: there is nothing to update from');
    const outcomes = await sources.update();
    process.stdout.write(`${outcomes.map(outcomeLine).join('\n')}\n`);
    if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
  } finally {
    await core.lifecycle.close();
  }
}

async function vulndbImport(core: Core, scans: Scans, location: string): Promise<void> {
  const tty = process.stderr.isTTY;
  const update = await updateVulnerabilityData({ db: core.db, scans }, location, {
    progress: {
      imported: (p) => {
        if (tty) process.stderr.write(`\rimporting: ${p.done}/${p.total} records\x1b[K`);
      },
      rematched: (n) => {
        if (tty) process.stderr.write(`\rre-matching stored images: ${n}\x1b[K`);
      },
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (!update.ok) fail(update.error);
  const { report: r, rematch } = update;
  const lines = [
    `Imported ${r.source}: ${r.total} records read in ${(r.elapsedMs / 1000).toFixed(1)} s`,
    `  ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ${r.withdrawn} withdrawn, ${r.skippedInvalid} invalid (skipped)`,
    ...r.invalid.slice(0, 10).map((i) => `    invalid: ${i.file}${i.id ? ` (${i.id})` : ''}: ${i.reason}`),
    `  data generation ${r.generation}${r.generationBumped ? ' (new)' : ' (unchanged)'}`,
    `Re-matched ${rematch.rematched} stored images: ${rematch.gained} gained ${rematch.newFindings} vulnerabilities`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function outcomeLine(o: SourceOutcome): string {
  if (o.status === 'unchanged') return `${o.source}: unchanged`;
  if (o.status === 'failed') return `${o.source}: FAILED after ${o.attempts} attempt(s): ${o.error}`;
  const r = o.report;
  return (
    `${o.source}: imported: ${r.added} added, ${r.updated} updated, ${r.withdrawn} withdrawn, ` +
    `${r.skippedInvalid} invalid (skipped); ${o.rematch.rematched} stored images re-matched`
  );
}

function vulndbStatusLines(status: VulnDataStatus): string[] {
  const lines = [
    `Vulnerability data: ${status.records} records (${status.withdrawn} withdrawn), generation ${status.generation}`,
  ];
  if (status.ecosystems.length === 0) lines.push('  no records: scans match against nothing');
  for (const e of status.ecosystems)
    lines.push(`  ${e.ecosystem}: ${e.records} records, imported ${e.imported_at}`);
  lines.push(
    status.update_interval_ms > 0
      ? `Sources (checked every ${formatDuration(status.update_interval_ms)} by registry serve):`
      : 'Sources (no schedule: scan.update_interval is 0):',
  );
  if (status.sources.length === 0) lines.push('  none (scan.sources is empty)');
  for (const s of status.sources) {
    lines.push(`  ${s.source}${s.configured ? '' : ' (no longer in scan.sources)'}`);
    lines.push(`    last success: ${s.last_success ?? 'never'}; last change: ${s.last_change ?? 'never'}`);
    if (s.last_error) {
      const since = s.failures > 0 ? `${s.failures} failed in a row` : 'a success since';
      lines.push(`    last error: ${s.last_error} (${s.last_error_at}; ${since})`);
    }
    if (s.next_check) lines.push(`    next check: ${s.next_check}`);
  }
  return lines;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split('\n')[0]?.replace(/\r$/, '') ?? '';
}

async function userAdd(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'password-stdin': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(USER_ADD_USAGE);
  const name = positionals[0];
  if (!name || positionals.length > 1) fail(`user add takes one NAME\n\n${USER_ADD_USAGE}`);
  if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name)) fail(`invalid user name "${name}" (letters, digits, . _ @ -)`);
  const password = await readPassword();
  if (password.length < 8) fail('the password must have at least 8 characters');
  const cfg = config(values.config);
  let configured: Map<string, string>;
  try {
    configured = configuredUsers(cfg);
  } catch (error) {
    fail((error as Error).message);
  }
  const db = await opening(() =>
    openDatabase({ url: cfg.database.url, dataDir: cfg.data_dir, poolSize: 1, holder: 'registry user add' }),
  );
  let endsDefault: boolean;
  let admins: string[];
  try {
    endsDefault = await defaultAccountApplies(db, configured);
    await saveUser(db, name, password);
    admins = await existingUsers(db, configured, cfg.auth.admins);
  } finally {
    await db.close();
  }
  process.stdout.write(`user ${name} saved\n`);
  if (endsDefault) {
    process.stdout.write(
      `the default account ${DEFAULT_USER.name}/${DEFAULT_USER.password} is no longer accepted: ` +
        'it applies only while no user is configured or added\n',
    );
  }
  if (admins.length === 0) {
    process.stderr.write(
      `registry: warning: auth.admins (${cfg.auth.admins.join(', ') || 'empty'}) names no user that exists: ` +
        `the /admin/ endpoints accept nobody; add one of them, or list ${name} in auth.admins\n`,
    );
  }
}

/** The database of the config file, for the commands that only read or write rows. */
async function withDatabase<T>(
  file: string | undefined,
  holder: string,
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const cfg = config(file);
  const db = await opening(() =>
    openDatabase({ url: cfg.database.url, dataDir: cfg.data_dir, poolSize: 1, holder }),
  );
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

const AUDIT_USAGE = `Usage: registry audit export [--since TIME] [--config FILE]

Writes the audit trail to standard output, one JSON object a line, oldest first: every push, tag
move, delete (by clients and by GC), rule change and failed login, with who made it and from where.
Also: GET /admin/audit. With PGlite (no database.url) run this while the registry is stopped.

Options:
      --since TIME   only entries at or after TIME (RFC 3339: 2026-01-31T12:00:00Z)
  -c, --config FILE  YAML config file
  -h, --help         show this help
`;

/** Entries read per query: the export streams a trail of any length. */
const AUDIT_BATCH = 1000;

async function audit(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === '--help' || command === '-h') {
    return void process.stdout.write(AUDIT_USAGE);
  }
  if (command !== 'export' || positionals.length > 0) fail(`expected: audit export\n\n${AUDIT_USAGE}`);
  const since = values.since === undefined ? undefined : parseSince(values.since);
  if (values.since !== undefined && since === undefined) {
    fail(`--since must be an RFC 3339 time (2026-01-31T12:00:00Z), got "${values.since}"`);
  }
  await withDatabase(values.config, 'registry audit export', async (db) => {
    const trail = cliAuditTrail(db);
    let after = 0;
    for (;;) {
      const entries = await trail.list({ since, after, limit: AUDIT_BATCH });
      if (entries.length === 0) return;
      const text = entries.map((e) => `${JSON.stringify(auditJson(e))}\n`).join('');
      if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      after = (entries[entries.length - 1] as AuditEntry).id;
    }
  });
}

const when = (ms: number | null) =>
  ms === null ? 'never' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const scopesText = (robot: Robot) =>
  robot.scopes.map((s) => `${s.prefix || '""'}:${s.actions.join(',')}`).join(' ');

/** The audit trail as the command line writes and reads it (it records no failed login: no log). */
const cliAuditTrail = (db: Database) => new AuditTrail(db, systemClock, createLogger('silent'));

/** Who makes the command line's writes: no registry user, from no address. */
const CLI = systemActor('cli');

/**
 * Robot accounts as the command line changes them: their events go to the audit trail alone (they
 * concern no webhook subscription or scan, the other listeners of a serving registry).
 */
function cliRobots(db: Database): RobotAccounts {
  return new RobotAccounts(db, systemClock, new DomainEvents([cliAuditTrail(db)]));
}

async function robot(args: string[]): Promise<void> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      prefix: { type: 'string', multiple: true },
      actions: { type: 'string', multiple: true },
      expires: { type: 'string' },
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || command === undefined || command === '--help' || command === '-h') {
    return void process.stdout.write(ROBOT_USAGE);
  }
  if (command === 'list') {
    if (positionals.length > 0) fail(`robot list takes no NAME\n\n${ROBOT_USAGE}`);
    const robots = await withDatabase(values.config, `registry robot ${command}`, (db) =>
      cliRobots(db).list(),
    );
    const rows = [
      ['NAME', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED'],
      ...robots.map((r) => [
        r.login,
        scopesText(r),
        when(r.createdAt),
        when(r.expiresAt),
        when(r.lastUsedAt),
      ]),
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length))) ?? [];
    const lines = rows.map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
    return void process.stdout.write(`${lines.join('\n')}\n`);
  }
  const name = positionals[0];
  if (name === undefined || positionals.length > 1) fail(`robot ${command} takes one NAME\n\n${ROBOT_USAGE}`);
  if (command === 'delete') {
    const removed = await withDatabase(values.config, `registry robot ${command}`, (db) =>
      cliRobots(db).remove(name, CLI),
    );
    if (!removed) fail(`no robot account ${name}`);
    return void process.stdout.write(`robot account ${robotLogin(name)} deleted\n`);
  }
  if (command !== 'create') fail(`unknown command "robot ${command}"\n\n${ROBOT_USAGE}`);
  const prefixes = values.prefix ?? [];
  const actions = values.actions ?? [];
  if (prefixes.length === 0 || prefixes.length !== actions.length) {
    fail(`robot create takes --prefix and --actions in pairs, at least one of each\n\n${ROBOT_USAGE}`);
  }
  const parsed = parseRobotRequest({
    name,
    scopes: prefixes.map((prefix, i) => ({
      prefix,
      actions: (actions[i] as string)
        .split(',')
        .map((a) => a.trim())
        .filter((a) => a !== ''),
    })),
    ...(values.expires === undefined ? {} : { expires_in: values.expires }),
  });
  if (!parsed.ok) fail(parsed.message);
  const created = await withDatabase(values.config, `registry robot ${command}`, (db) =>
    cliRobots(db).create(parsed.request, CLI),
  );
  if (!created.ok) fail(`robot account ${robotLogin(name)} exists: delete it first to make a new secret`);
  const { robot: made, secret } = created;
  // The secret alone on stdout (for `SECRET=$(registry robot create …)`), what it is on stderr.
  process.stderr.write(
    `robot account ${made.login} created: ${scopesText(made)}; expires ${when(made.expiresAt)}\n` +
      `its secret, shown only now (docker login -u '${made.login}' --password-stdin):\n`,
  );
  process.stdout.write(`${secret}\n`);
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'gc') return await gc(rest);
    if (command === 'retention') return await retention(rest);
    if (command === 'scan') return await scan(rest);
    if (command === 'vulndb') return await vulndb(rest);
    if (command === 'user' && rest[0] === 'add') return await userAdd(rest.slice(1));
    if (command === 'user' && (rest[0] === '--help' || rest[0] === '-h' || rest.length === 0)) {
      return void process.stdout.write(USER_ADD_USAGE);
    }
    if (command === 'robot') return await robot(rest);
    if (command === 'audit') return await audit(rest);
    if (command === '--help' || command === '-h' || command === 'help')
      return void process.stdout.write(USAGE);
    if (command === '--version' || command === '-V') return void process.stdout.write(`${version()}\n`);
    // No command is a usage error: the help, on stderr, and status 2.
    if (command === undefined) fail(`a command is needed\n\n${USAGE}`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) fail((error as Error).message);
    throw error;
  }
  fail(`unknown command "${argv.join(' ')}"\n\n${USAGE}`);
}

if (import.meta.main) await main(process.argv.slice(2));
