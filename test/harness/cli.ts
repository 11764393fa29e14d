// The `registry` command run as a user runs it, in its own process, with no REGISTRY_* variables
// from the test's environment but those given.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPostgresDatabase, dropPostgresDatabase, testDatabase } from './registry.ts';
import { type RunResult, run } from './tools.ts';

const NODE = path.resolve('node_modules/.bin/node');

export interface CliOptions {
  env?: Record<string, string>;
  /** Written to standard input (e.g. a password). */
  input?: string;
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<RunResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')),
  );
  return run(NODE, ['origin/cli.ts', ...args], {
    // No source fetched unless the test names one (`registry serve` would fetch osv.dev's).
    env: { ...inherited, REGISTRY_SCAN_SOURCES: '[]', ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** A data directory, and on the postgres projects a database, with a config file naming them. */
export interface CliData {
  readonly dataDir: string;
  /** The PostgreSQL database, on the projects that use one; PGlite under dataDir otherwise. */
  readonly databaseUrl: string | undefined;
  /** `--config` for the CLI; a registry started on the same data reads the same. */
  readonly configFile: string;
  remove(): Promise<void>;
}

export async function createCliData(prefix: string): Promise<CliData> {
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  const databaseUrl = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
  const configFile = path.join(dataDir, 'cli.yaml');
  const database = databaseUrl ? `database:\n  url: ${JSON.stringify(databaseUrl)}\n` : '';
  await writeFile(configFile, `data_dir: ${JSON.stringify(dataDir)}\n${database}`);
  return {
    dataDir,
    databaseUrl,
    configFile,
    async remove() {
      if (databaseUrl) await dropPostgresDatabase(databaseUrl);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
