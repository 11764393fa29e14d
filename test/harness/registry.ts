// Starts a real registry for a test file: its own data directory, its own port (127.0.0.1:0: the
// port the server binds, read back), and either PGlite (a copy of the run's template database, see
// pglite-template.ts) or a fresh database on the PostgreSQL server (TEST_DATABASE=postgres).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../origin/config.ts';
import { type RunningRegistry, startRegistry } from '../../origin/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { seedPgliteDatabase } from './pglite-template.ts';
import { listKeys, putKey, type S3Server, s3StorageConfig, startS3Server } from './s3.ts';

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export type TestDatabase = 'pglite' | 'postgres';
export type TestStorage = 'filesystem' | 's3';

export function testDatabase(): TestDatabase {
  const value = process.env.TEST_DATABASE ?? 'pglite';
  if (value !== 'pglite' && value !== 'postgres')
    throw new Error(`TEST_DATABASE must be pglite or postgres, not ${value}`);
  return value;
}

export function testStorage(): TestStorage {
  const value = process.env.TEST_STORAGE ?? 'filesystem';
  if (value !== 'filesystem' && value !== 's3')
    throw new Error(`TEST_STORAGE must be filesystem or s3, not ${value}`);
  return value;
}

export interface TestRegistry {
  /** http://127.0.0.1:PORT (https:// with http.tls, the host of http.addr if the test gives one) */
  readonly url: string;
  /** 127.0.0.1:PORT, as Docker and skopeo name the registry. */
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** The S3 server holding the blobs, when the storage is s3. */
  readonly s3: S3Server | undefined;
  readonly running: RunningRegistry;
  /** Basic credentials header of the default admin user. */
  readonly adminAuth: string;
  /** Upload ids that have staged data in the storage backend. */
  stagedUploads(): Promise<string[]>;
  /** Replaces the staged bytes of an upload that has one PATCH's worth (a white-box check). */
  overwriteStaged(id: string, content: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  /** Extra config, as the YAML file would hold it (merged over the harness's defaults). */
  config?: Record<string, unknown>;
  database?: TestDatabase;
  /** Reuse a data directory / database (e.g. to restart a registry over the same state). */
  dataDir?: string;
  databaseUrl?: string;
  storage?: TestStorage;
  /** Reuse an S3 server (and its bucket) of another registry. */
  s3?: S3Server;
  /** The registry's clock (default: the system's). */
  clock?: Clock;
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
  const storage = options.storage ?? testStorage();
  const ownsS3 = storage === 's3' && options.s3 === undefined;
  const s3 = storage === 's3' ? (options.s3 ?? (await startS3Server())) : undefined;
  if (database === 'pglite') await seedPgliteDatabase(dataDir);
  const env: NodeJS.ProcessEnv = {};
  const configFile = path.join(dataDir, 'config.yaml');
  const raw = mergeConfig(
    {
      data_dir: dataDir,
      http: { addr: '127.0.0.1:0', shutdown_timeout: '5s' },
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      // Tests reach no address but this machine's: osv.dev's exports (the default) are not fetched.
      scan: { sources: [] },
      ...(databaseUrl ? { database: { url: databaseUrl, pool_size: 10 } } : {}),
      ...(s3 ? { storage: s3StorageConfig(s3) } : {}),
      ...(process.env.TEST_CACHE === 'redis'
        ? {
            storage: {
              ...(s3 ? s3StorageConfig(s3) : {}),
              // Each registry its own namespace: test databases reuse repository names.
              cache: {
                type: 'redis',
                redis_url: REDIS_URL,
                redis_prefix: `test-${randomBytes(6).toString('hex')}:`,
              },
            },
          }
        : {}),
    },
    options.config ?? {},
  );
  await writeFile(configFile, JSON.stringify(raw));
  const loaded = loadConfig(configFile, env);
  if (!loaded.ok) throw new Error(loaded.message);
  const running = await startRegistry(loaded.config, options.clock ? { clock: options.clock } : {});
  const host = new URL(running.url).host;
  return {
    url: running.url,
    host,
    dataDir,
    databaseUrl,
    s3,
    running,
    adminAuth: `Basic ${Buffer.from('admin:secret').toString('base64')}`,
    async stagedUploads() {
      if (s3)
        return [...new Set((await listKeys(s3, 'registry/uploads/')).map((k) => k.split('/')[2] as string))];
      return readdir(path.join(loaded.config.storage.filesystem.root, 'uploads')).catch(() => []);
    },
    async overwriteStaged(id: string, content: string) {
      if (s3) return putKey(s3, `registry/uploads/${id}/${'0'.repeat(16)}`, content);
      await writeFile(path.join(loaded.config.storage.filesystem.root, 'uploads', id, 'data'), content);
    },
    async close() {
      await running.close();
      if (ownsDatabase && databaseUrl) await dropPostgresDatabase(databaseUrl);
      if (ownsS3) await s3?.stop();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Config objects merged key by key (a test's storage.cache does not drop the harness's storage.s3). */
export function mergeConfig(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return merged;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
