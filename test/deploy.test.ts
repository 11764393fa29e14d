// Deployment (issue 3): docker-compose.yml, the origin's Dockerfile and the seed's config in
// deploy/config.yaml, checked as far as a machine without container images allows. docker-compose
// validates and normalizes the compose file; the registry's own config loader takes the seed file
// with the origin service's environment from it; the Dockerfile's instructions are read and
// matched against the compose file; and the origin is started exactly as the compose file starts
// it (`serve --config` on the seed file, the service's REGISTRY_* environment) with only the
// addresses and credentials of the services swapped for local stand-ins: s3rver for MinIO, the
// PostgreSQL server and Redis of the test suite. The edge Worker deploys from the top level:
// wrangler.toml is there, and `wrangler deploy --dry-run` bundles it without --config.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../origin/config.ts';
import { sha256 } from './harness/client.ts';
import { createPostgresDatabase, dropPostgresDatabase, REDIS_URL } from './harness/registry.ts';
import { S3_CREDENTIALS, startS3Server } from './harness/s3.ts';
import { killRegistry, serveRegistry } from './harness/served-registry.ts';
import { fileSetup, run } from './harness/tools.ts';

const ROOT = path.resolve('.');
const NODE = path.resolve('node_modules/.bin/node');
const SEED_CONFIG = 'deploy/config.yaml';
const ADMIN = `Basic ${Buffer.from('admin:secret').toString('base64')}`;

// The seed's config, as issue 3 gives it: deploy/config.yaml must be this, byte for byte.
const SEED_TEXT = `storage:
  backend: s3
  s3:
    bucket: my-registry
    region: us-east-1
    prefix: registry/
  cache:
    type: redis
    redis_url: redis://localhost:6379
    disk_path: /var/cache/registry
    disk_size_gb: 50
`;

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: { published: number | string; target: number }[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  entrypoint?: string[];
  command?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

// (a) docker-compose's own reading of the file: `config` validates it and prints it normalized.
const compose = fileSetup(async (defer) => {
  const raw = readFileSync('docker-compose.yml', 'utf8');
  // The ${VAR:-placeholder} variables take their placeholders: none from this environment or an .env.
  const substituted = new Set([...raw.matchAll(/\$\{(\w+)/g)].map((m) => m[1] as string));
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !substituted.has(key)));
  const dir = await mkdtemp(path.join(tmpdir(), 'registry-compose-'));
  defer(() => rm(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, 'empty.env');
  await writeFile(envFile, '');
  const args = ['--env-file', envFile, '-f', 'docker-compose.yml', 'config'];
  const result = await run('docker-compose', args, { env, timeoutMs: 60_000 }).catch((error: Error) => {
    const missing = error.message.includes('is not installed');
    throw new Error(
      `docker-compose ${missing ? 'is not installed' : 'could not run'}: this test validates docker-compose.yml with it; ` +
        `install it with apt-get install -y docker-compose (or run npm run test:all, which does)${missing ? '' : `: ${error.message}`}`,
    );
  });
  if (result.code !== 0) {
    throw new Error(`${result.commandLine} failed (exit code ${result.code}): ${result.stderr}`);
  }
  const normalized = parseYaml(result.stdout) as Compose;
  const origin = normalized.services.origin;
  if (!origin?.environment) throw new Error(`no origin service with an environment:\n${result.stdout}`);
  return { compose: normalized, originEnv: origin.environment, stdout: result.stdout };
});

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function dockerfileInstructions(): { keyword: string; args: string }[] {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\S+)\s+(.*)$/.exec(line);
      if (!match) throw new Error(`cannot read Dockerfile line: ${line}`);
      return { keyword: (match[1] as string).toUpperCase(), args: (match[2] as string).trim() };
    });
}

function instruction(keyword: string): string[] {
  return dockerfileInstructions()
    .filter((i) => i.keyword === keyword)
    .map((i) => i.args);
}

/** The exec form (JSON array) of a CMD, or of a HEALTHCHECK's CMD after its options. */
function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

/** The packages origin/, shared/ and bin/ import at run time (type-only imports are erased). */
function runtimeImports(): Set<string> {
  const packages = new Set<string>();
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const file = path.join(dir, name);
      return statSync(file).isDirectory() ? files(file) : /\.(ts|js)$/.test(name) ? [file] : [];
    });
  const patterns = [
    /^\s*import\s+(?!type\s)[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?!type\s)[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const file of ['origin', 'shared', 'bin'].flatMap(files)) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        const parts = specifier.split('/');
        packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string));
      }
    }
  }
  return packages;
}

beforeAll(() => compose.settle(60_000));
afterAll(() => compose.teardown());

describe('docker-compose.yml', () => {
  it('is accepted by docker-compose config: origin, postgres, redis, minio and the bucket job', async () => {
    const { compose: c } = await compose.get();
    expect(Object.keys(c.services).sort()).toEqual(['createbucket', 'minio', 'origin', 'postgres', 'redis']);
    expect(Object.keys(c.volumes).sort()).toEqual(['minio-data', 'postgres-data', 'registry-cache']);
    expect(c.services.postgres?.image).toMatch(/^postgres(:|$)/);
    expect(c.services.redis?.image).toMatch(/^redis(:|$)/);
    expect(c.services.minio?.image).toMatch(/^minio\/minio(:|$)/);
    expect(c.services.createbucket?.image).toMatch(/^minio\/mc(:|$)/);
  });

  it('builds the origin from the Dockerfile and gives it the seed config, port 5000 and the disk cache volume', async () => {
    const origin = (await compose.get()).compose.services.origin as ComposeService;
    expect(origin.build?.context).toBe(ROOT);
    expect(origin.build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(origin.ports).toEqual([{ published: 5000, target: 5000 }]);
    expect(origin.volumes).toContain(`${path.join(ROOT, SEED_CONFIG)}:/etc/registry/config.yaml:ro`);
    expect(origin.volumes).toContain('registry-cache:/var/cache/registry:rw');
  });

  it('wires the origin to MinIO, Redis and PostgreSQL by environment', async () => {
    const { originEnv } = await compose.get();
    expect(originEnv).toMatchObject({
      REGISTRY_HTTP_ADDR: '0.0.0.0:5000',
      REGISTRY_HTTP_PUBLIC_URL: 'http://localhost:5000',
      REGISTRY_STORAGE_S3_ENDPOINT: 'http://minio:9000',
      REGISTRY_STORAGE_S3_FORCE_PATH_STYLE: 'true',
      REGISTRY_STORAGE_CACHE_REDIS_URL: 'redis://redis:6379',
    });
    expect(originEnv.REGISTRY_DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\/\w+$/);
    // Nothing else: the rest comes from the seed's file.
    expect(Object.keys(originEnv).sort()).toEqual([
      'REGISTRY_DATABASE_URL',
      'REGISTRY_HTTP_ADDR',
      'REGISTRY_HTTP_PUBLIC_URL',
      'REGISTRY_STORAGE_CACHE_REDIS_URL',
      'REGISTRY_STORAGE_S3_ACCESS_KEY_ID',
      'REGISTRY_STORAGE_S3_ENDPOINT',
      'REGISTRY_STORAGE_S3_FORCE_PATH_STYLE',
      'REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY',
    ]);
  });

  it('starts the origin only once its services are healthy and the bucket exists', async () => {
    const { compose: c } = await compose.get();
    expect(c.services.origin?.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      minio: { condition: 'service_healthy' },
      createbucket: { condition: 'service_completed_successfully' },
    });
    expect(c.services.createbucket?.depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    expect(c.services.postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(c.services.redis?.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(c.services.minio?.healthcheck?.test).toEqual(['CMD', 'mc', 'ready', 'local']);
    expect(c.services.postgres?.volumes).toEqual(['postgres-data:/var/lib/postgresql/data:rw']);
    expect(c.services.minio?.volumes).toEqual(['minio-data:/data:rw']);
    expect(c.services.minio?.command?.slice(0, 2)).toEqual(['server', '/data']);
  });

  it('creates the bucket the seed config names, with the credentials the origin uses', async () => {
    const { compose: c, originEnv } = await compose.get();
    const job = c.services.createbucket as ComposeService;
    const script = [...(job.entrypoint ?? []), ...(job.command ?? [])].join(' ');
    expect(script).toContain('mc alias set minio http://minio:9000');
    expect(script).toMatch(/mc mb --ignore-existing minio\/my-registry$/);
    const minio = c.services.minio?.environment ?? {};
    expect(job.environment).toEqual(minio);
    expect(originEnv.REGISTRY_STORAGE_S3_ACCESS_KEY_ID).toBe(minio.MINIO_ROOT_USER);
    expect(originEnv.REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY).toBe(minio.MINIO_ROOT_PASSWORD);
    // MinIO refuses a root password under 8 characters.
    expect((minio.MINIO_ROOT_PASSWORD ?? '').length).toBeGreaterThanOrEqual(8);
  });

  it('uses placeholder credentials, marked to be changed, that agree between the services', async () => {
    const { compose: c, originEnv } = await compose.get();
    const pg = c.services.postgres?.environment ?? {};
    const database = new URL(originEnv.REGISTRY_DATABASE_URL as string);
    expect(database.username).toBe(pg.POSTGRES_USER);
    expect(database.password).toBe(pg.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${pg.POSTGRES_DB}`);
    for (const secret of [
      pg.POSTGRES_PASSWORD,
      originEnv.REGISTRY_STORAGE_S3_ACCESS_KEY_ID,
      originEnv.REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY,
    ]) {
      expect(secret).toMatch(/^change-me-/);
    }
    expect(readFileSync('docker-compose.yml', 'utf8')).toContain('CHANGE BEFORE USE');
  });
});

describe('the origin configuration: deploy/config.yaml + the compose environment', () => {
  it('deploy/config.yaml is the seed config exactly as written, and valid on its own', () => {
    expect(readFileSync(SEED_CONFIG, 'utf8')).toBe(SEED_TEXT);
    const alone = loadConfig(SEED_CONFIG, {});
    expect(alone).toMatchObject({ ok: true });
  });

  it('is accepted by the registry config loader, with the wiring of the compose file', async () => {
    const { originEnv } = await compose.get();
    const loaded = loadConfig(SEED_CONFIG, originEnv);
    if (!loaded.ok) throw new Error(loaded.message);
    const { config } = loaded;
    expect(config.storage.backend).toBe('s3');
    expect(config.storage.s3).toMatchObject({
      bucket: 'my-registry',
      region: 'us-east-1',
      prefix: 'registry/',
      endpoint: 'http://minio:9000',
      force_path_style: true,
      access_key_id: originEnv.REGISTRY_STORAGE_S3_ACCESS_KEY_ID,
      secret_access_key: originEnv.REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY,
    });
    expect(config.storage.cache).toMatchObject({
      type: 'redis',
      redis_url: 'redis://redis:6379',
      disk_path: '/var/cache/registry',
      disk_size_gb: 50,
      disk_size_bytes: 50 * 1024 ** 3,
    });
    expect(config.database.url).toMatch(/^postgres:\/\/registry:[^@]+@postgres:5432\/registry$/);
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 5000, public_url: 'http://localhost:5000' });
  });
});

describe('Dockerfile', () => {
  it('runs Node 24, installs production dependencies only and copies what runs', () => {
    expect(instruction('FROM')).toEqual([expect.stringMatching(/^node:24(\.[\d.]+)?-slim$/)]);
    expect(instruction('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
    const copied = instruction('COPY').flatMap((args) => args.split(/\s+/).slice(0, -1));
    expect(copied.sort()).toEqual(['bin/', 'origin/', 'package-lock.json', 'package.json', 'shared/']);
    for (const source of copied) expect(existsSync(source), `${source} (COPY)`).toBe(true);
    // The .dockerignore keeps the rest out of the build context, and none of what is copied.
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(
      expect.arrayContaining(['node_modules', 'data', '.tmp', 'test', 'bench', '.git']),
    );
    for (const source of copied) expect(ignored).not.toContain(source.replace(/\/$/, ''));
  });

  it('needs no devDependency at run time (npm ci --omit=dev leaves them out)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imported = runtimeImports();
    expect(imported).toContain('hono');
    for (const name of imported) expect(Object.keys(pkg.dependencies), `import of ${name}`).toContain(name);
  });

  it('serves the config the compose file mounts, on the port it publishes, as a non-root user', async () => {
    const { compose: c, originEnv } = await compose.get();
    const cmd = instruction('CMD');
    expect(cmd).toHaveLength(1);
    expect(execForm(cmd[0] as string)).toEqual([
      'node',
      '--max-semi-space-size=4',
      'origin/cli.ts',
      'serve',
      '--config',
      '/etc/registry/config.yaml',
    ]);
    expect(existsSync('origin/cli.ts')).toBe(true);
    // The memory settings `npm start` uses (README, Operations).
    expect(instruction('ENV')).toContain('MALLOC_MMAP_THRESHOLD_=131072');
    const mounts = c.services.origin?.volumes ?? [];
    expect(mounts.some((m) => m.split(':')[1] === '/etc/registry/config.yaml')).toBe(true);

    expect(instruction('EXPOSE')).toEqual(['5000']);
    expect(originEnv.REGISTRY_HTTP_ADDR?.endsWith(':5000')).toBe(true);
    expect(c.services.origin?.ports?.[0]?.target).toBe(5000);

    const user = instruction('USER');
    expect(user).toHaveLength(1);
    expect(['root', '0', '0:0']).not.toContain(user[0]);
    // The disk cache directory (the volume's mount point) belongs to that user.
    expect(instruction('RUN').join('\n')).toContain(`chown ${user[0]}:${user[0]} /var/cache/registry`);
  });

  it('checks health with node and fetch on /healthz of that port', () => {
    const checks = instruction('HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const command = execForm(checks[0] as string);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain("fetch('http://127.0.0.1:5000/healthz')");
  });
});

// The origin started as the compose file starts it, with stand-ins for MinIO, PostgreSQL and Redis.
const standIn = fileSetup(async (defer) => {
  const { originEnv } = await compose.get();
  const s3 = await startS3Server();
  defer(() => s3.stop());
  // What the createbucket job does: the bucket of the seed config, on the S3 server.
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: S3_CREDENTIALS.access_key_id,
      secretAccessKey: S3_CREDENTIALS.secret_access_key,
    },
  });
  defer(() => client.destroy());
  await client.send(new CreateBucketCommand({ Bucket: 'my-registry' }));
  const databaseUrl = await createPostgresDatabase();
  defer(() => dropPostgresDatabase(databaseUrl));
  const diskPath = await mkdtemp(path.join(tmpdir(), 'registry-deploy-cache-'));
  defer(() => rm(diskPath, { recursive: true, force: true }));
  const redisPrefix = `registry-test-deploy-${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  defer(async () => {
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    redis.disconnect();
  });

  // Only these differ from the compose environment: the services' addresses and credentials, a
  // Redis namespace of its own, a disk cache directory that may be written here, and the
  // listening address (127.0.0.1:0, any free port, which serveRegistry reads back from the log).
  const { REGISTRY_HTTP_ADDR: _addr, ...kept } = originEnv;
  const env: Record<string, string> = {
    ...kept,
    REGISTRY_STORAGE_S3_ENDPOINT: s3.endpoint,
    REGISTRY_STORAGE_S3_ACCESS_KEY_ID: S3_CREDENTIALS.access_key_id,
    REGISTRY_STORAGE_S3_SECRET_ACCESS_KEY: S3_CREDENTIALS.secret_access_key,
    REGISTRY_STORAGE_CACHE_REDIS_URL: REDIS_URL,
    REGISTRY_STORAGE_CACHE_REDIS_PREFIX: redisPrefix,
    REGISTRY_STORAGE_CACHE_DISK_PATH: diskPath,
    REGISTRY_DATABASE_URL: databaseUrl,
  };
  const served = await serveRegistry(env, ['--config', SEED_CONFIG]);
  defer(() => killRegistry(served));
  return { served, client, redis, redisPrefix, diskPath, env };
});

async function s3Keys(client: S3Client, prefix: string): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: 'my-registry', Prefix: prefix }));
  return (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
}

describe('the origin as docker-compose.yml runs it, on local stand-ins', () => {
  beforeAll(() => standIn.settle(120_000));
  afterAll(() => standIn.teardown());

  it('keeps the public URL, path style and the seed file, and is ready (/readyz 200)', async () => {
    const { served, env } = await standIn.get();
    expect(env.REGISTRY_HTTP_PUBLIC_URL).toBe('http://localhost:5000');
    expect(env.REGISTRY_STORAGE_S3_FORCE_PATH_STYLE).toBe('true');
    expect((await fetch(`${served.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${served.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: true, storage: true });
    // The token realm is the public URL of the compose file.
    const challenge = await fetch(`${served.url}/v2/`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toContain('realm="http://localhost:5000/token"');
  });

  it('stores blobs under the seed prefix in the bucket, caches them on disk, manifests in Redis', async () => {
    const { served, client, redis, redisPrefix, diskPath } = await standIn.get();
    const repo = 'deploy/check';
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    });
    const layer = `a layer ${randomBytes(8).toString('hex')}`;
    for (const blob of [config, layer]) {
      const pushed = await fetch(`${served.url}/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
        method: 'POST',
        headers: { Authorization: ADMIN, 'Content-Type': 'application/octet-stream' },
        body: blob,
      });
      expect(pushed.status).toBe(201);
    }
    const layerHex = sha256(layer).slice('sha256:'.length);
    expect(await s3Keys(client, 'registry/blobs/')).toContain(`registry/blobs/sha256/${layerHex}`);

    const pulls: (string | null)[] = [];
    for (let i = 0; i < 2; i++) {
      const pulled = await fetch(`${served.url}/v2/${repo}/blobs/${sha256(layer)}`, {
        headers: { Authorization: ADMIN },
      });
      expect(pulled.status).toBe(200);
      expect(await pulled.text()).toBe(layer);
      pulls.push(pulled.headers.get('x-cache'));
    }
    expect(pulls).toEqual(['MISS', 'HIT']);
    expect(await readdir(diskPath)).toContain(`sha256-${layerHex}`);

    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
    });
    const put = await fetch(`${served.url}/v2/${repo}/manifests/v1`, {
      method: 'PUT',
      headers: { Authorization: ADMIN, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status).toBe(201);
    const got = await fetch(`${served.url}/v2/${repo}/manifests/v1`, {
      headers: { Authorization: ADMIN, Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(manifest);
    expect(await s3Keys(client, `registry/manifests/${repo}/`)).toEqual([
      `registry/manifests/${repo}/${sha256(manifest)}`,
    ]);
    expect((await redis.keys(`${redisPrefix}*`)).length).toBeGreaterThan(0);
  });

  it("answers the Dockerfile's HEALTHCHECK (exit 0), which fails (exit 1) when nothing listens", async () => {
    const { served } = await standIn.get();
    const command = execForm(instruction('HEALTHCHECK')[0] as string);
    const script = command[2] as string;
    const healthy = await run(NODE, ['-e', script.replace('127.0.0.1:5000', `127.0.0.1:${served.port}`)]);
    expect(healthy.code, healthy.stderr).toBe(0);
    // Port 0: nothing can listen there (binding it picks another port), so the connection is refused.
    const closed = await run(NODE, ['-e', script.replace('127.0.0.1:5000', '127.0.0.1:0')]);
    expect(closed.code).toBe(1);
  });
});

describe('the top level', () => {
  it('holds the parts the project is specified as, and wrangler.toml nowhere else', () => {
    const top = readdirSync(ROOT);
    for (const entry of [
      'origin',
      'edge',
      'shared',
      'test',
      'package.json',
      'tsconfig.json',
      'wrangler.toml',
      'docker-compose.yml',
    ]) {
      expect(top, entry).toContain(entry);
    }
    expect(existsSync(path.join(ROOT, 'edge', 'wrangler.toml'))).toBe(false);
  });

  it('deploys the edge Worker from there: `wrangler deploy --dry-run` needs no --config', async () => {
    const outdir = await mkdtemp(path.join(tmpdir(), 'wrangler-out-'));
    try {
      const wrangler = path.resolve('node_modules/wrangler/bin/wrangler.js');
      const result = await run(NODE, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
        cwd: ROOT,
        env: {
          ...process.env,
          WRANGLER_SEND_METRICS: 'false',
          CLOUDFLARE_CF_FETCH_ENABLED: 'false',
          NO_COLOR: '1',
        },
        timeoutMs: 120_000,
      });
      expect(result.code, result.stderr).toBe(0);
      // The bindings wrangler.toml declares, read from the top-level file.
      expect(result.stdout).toMatch(/env\.CHUNK_LOCKS \(ChunkLock\)\s+Durable Object/);
      expect(result.stdout).toContain('env.TOKEN_SERVICE');
      // The bundle is edge/src/index.ts: the Worker and its Durable Object class.
      const bundle = readFileSync(path.join(outdir, 'index.js'), 'utf8');
      expect(bundle).toMatch(/export\s*\{[^}]*ChunkLock[^}]*\}/);
      expect(bundle).toContain('edge/src/index.ts');
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });
});

describe('README', () => {
  it('documents the deployment: docker compose up, the seed config, what to change, what was checked', () => {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf('\n## Deployment\n');
    expect(start).toBeGreaterThan(0);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    for (const phrase of [
      'docker compose up',
      'deploy/config.yaml',
      'POSTGRES_PASSWORD',
      'MINIO_ROOT_PASSWORD',
      'REGISTRY_PUBLIC_URL',
      'disk_size_gb',
      '/healthz',
      'were not built or run',
    ]) {
      expect(section, phrase).toContain(phrase);
    }
  });
});
