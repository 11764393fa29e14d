// The `registry` command: serve, gc, scan, vulndb import, user add.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseManifest, scanSubject } from '../shared/manifest.ts';
import { type Core, openCore, openEvents, openRegistry, openScanning, openStore } from './application.ts';
import {
  configuredUsers,
  DEFAULT_USER,
  defaultAccountApplies,
  existingUsers,
  saveUser,
} from './auth/users.ts';
import { type Config, loadConfig } from './config.ts';
import { parseDurationMs } from './duration.ts';
import { collectGarbage, GcBusyError, gcDependencies } from './gc/collect.ts';
import { reportLines, terminalProgress } from './gc/report.ts';
import { openDatabase } from './metadata/database.ts';
import { DataDirInUseError } from './metadata/pglite-lock.ts';
import { updateVulnerabilityData } from './scan/data-update.ts';
import { scanReportLines, splitImageReference } from './scan/report-text.ts';
import { startRegistry } from './server.ts';

const USAGE = `Usage: registry <command> [options]

Commands:
  serve [--config FILE]          run the registry (default: 127.0.0.1:5000, data in ./data)
  gc (--dry-run | --delete) [--untagged] [--grace-period DURATION] [--config FILE]
                                 garbage collection: list or delete unreferenced blobs
  scan NAME:TAG | NAME@DIGEST [--config FILE] [--json]
                                 scan an image now and print what was found
  vulndb import PATH [--config FILE]
                                 import OSV vulnerability data (all.zip, directory, .json)
  user add NAME [--config FILE] [--password-stdin]
                                 add a user or change its password (read from stdin)

Options:
  -h, --help                     show this help
  -V, --version                  print the version

Every config key can also be set by environment: REGISTRY_<KEY_PATH>, e.g.
REGISTRY_HTTP_ADDR=0.0.0.0:5000 or REGISTRY_DATABASE_URL=postgres://localhost/registry.
Run "registry <command> --help" for the options of a command.
`;

const SERVE_USAGE = `Usage: registry serve [--config FILE]

Runs the registry. Without a config file it listens on 127.0.0.1:5000 and keeps blobs and
metadata (PGlite) under ./data.

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

const VULNDB_USAGE = `Usage: registry vulndb import PATH [--config FILE]

Imports vulnerability records in the OSV format: an osv.dev export (e.g. Debian/all.zip), a
directory of OSV .json files, or one .json file. Incremental: records not modified since the last
import are skipped. Stored image inventories are then matched again (no layer is read), and
images that gain vulnerabilities fire the vulnerabilities webhook.
With PGlite (no database.url) it runs only while the registry is stopped (it refuses otherwise):
use POST /admin/vulndb/import on a running registry.

Options:
  -c, --config FILE   YAML config file, to find the database
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
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length === 0) return void process.stdout.write(VULNDB_USAGE);
  if (positionals[0] !== 'import' || positionals.length !== 2)
    fail(`expected: vulndb import PATH\n\n${VULNDB_USAGE}`);
  const cfg = config(values.config);
  const core = await opening(() =>
    openCore({ ...cfg, log: { level: 'silent' } }, { holder: 'registry vulndb import' }),
  );
  const tty = process.stderr.isTTY;
  try {
    const store = await opening(() => openStore(core), core);
    const { scans } = await openScanning(core, store, openEvents(core));
    const update = await updateVulnerabilityData({ db: core.db, scans }, positionals[1] as string, {
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
  } finally {
    await core.lifecycle.close();
  }
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

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'gc') return await gc(rest);
    if (command === 'scan') return await scan(rest);
    if (command === 'vulndb') return await vulndb(rest);
    if (command === 'user' && rest[0] === 'add') return await userAdd(rest.slice(1));
    if (command === 'user' && (rest[0] === '--help' || rest[0] === '-h' || rest.length === 0)) {
      return void process.stdout.write(USER_ADD_USAGE);
    }
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
