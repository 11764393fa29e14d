// Starts a real registry for a test file: its own data directory, its own port, and either
// PGlite or a fresh database on the PostgreSQL server (TEST_DATABASE=postgres).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../origin/config.ts';
import { type RunningRegistry, startRegistry } from '../../origin/server.ts';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

export type TestDatabase = 'pglite' | 'postgres';

export function testDatabase(): TestDatabase {
  const value = process.env.TEST_DATABASE ?? 'pglite';
  if (value !== 'pglite' && value !== 'postgres')
    throw new Error(`TEST_DATABASE must be pglite or postgres, not ${value}`);
  return value;
}

export interface TestRegistry {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** 127.0.0.1:PORT, as Docker and skopeo name the registry. */
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly running: RunningRegistry;
  /** Basic credentials header of the default admin user. */
  readonly adminAuth: string;
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  /** Extra config, as the YAML file would hold it (merged over the harness's defaults). */
  config?: Record<string, unknown>;
  database?: TestDatabase;
  /** Reuse a data directory / database (e.g. to restart a registry over the same state). */
  dataDir?: string;
  databaseUrl?: string;
  port?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function createPostgresDatabase(): Promise<string> {
  const name = `registry_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}: ${(error as Error).message}`);
  }
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.end();
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const database = options.database ?? testDatabase();
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'registry-test-')));
  const ownsDatabase = database === 'postgres' && options.databaseUrl === undefined;
  const databaseUrl =
    database === 'postgres' ? (options.databaseUrl ?? (await createPostgresDatabase())) : undefined;
  const port = options.port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {};
  const configFile = path.join(dataDir, 'config.yaml');
  const raw = {
    data_dir: dataDir,
    http: { addr: `127.0.0.1:${port}`, shutdown_timeout: '5s' },
    log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
    ...(databaseUrl ? { database: { url: databaseUrl, pool_size: 10 } } : {}),
    ...options.config,
  };
  const { writeFile } = await import('node:fs/promises');
  await writeFile(configFile, JSON.stringify(raw));
  const loaded = loadConfig(configFile, env);
  if (!loaded.ok) throw new Error(loaded.message);
  const running = await startRegistry(loaded.config);
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    dataDir,
    databaseUrl,
    running,
    adminAuth: `Basic ${Buffer.from('admin:secret').toString('base64')}`,
    async close() {
      await running.close();
      if (ownsDatabase && databaseUrl) await dropPostgresDatabase(databaseUrl);
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
