// The production setup for the S3 runs: ONE s3rver process (its own temp dir, two buckets: one per
// registry), a fresh PostgreSQL database and a unique Redis key prefix for ours. stop() undoes all
// of it (through the `undo` callback): s3rver stopped and its directory removed, the database
// dropped, the Redis keys deleted.
//
// Distribution 2.8 cannot push to s3rver (its S3 driver lists multipart uploads, which s3rver does
// not implement), so its blobs and manifests are written straight into its storage layout here.
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import type { BuiltImage } from './image.ts';
import { createDatabase, dropDatabase } from './postgres.ts';
import { launch } from './servers.ts';
import { listeningPort, log, sleep } from './util.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const OURS_BUCKET = 'ours';
export const DISTRIBUTION_BUCKET = 'distribution';
const OURS_PREFIX = 'registry/';
/** Distribution's storage.s3.rootdirectory; its keys start with `registry/docker/registry/v2/`. */
const DISTRIBUTION_ROOT = '/registry';

export interface S3Env {
  /** http://127.0.0.1:PORT of s3rver. */
  readonly endpoint: string;
  /** s3rver's process id (for its CPU time). */
  readonly pid: number;
  readonly directory: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly client: S3Client;
  /** The top-level config keys that put ours on this setup, its disk cache in `diskPath`. */
  oursConfig(diskPath: string, diskSizeGb: number): Record<string, unknown>;
  /** The storage section of distribution's config for this setup. */
  distributionStorage(): string[];
  /** Writes a blob where distribution keeps it and links it into `repository`. */
  seedDistributionBlob(
    repository: string,
    digest: string,
    body: Uint8Array | { file: string } | { stream: () => Readable },
    size: number,
  ): Promise<void>;
  /** Writes the image's blobs and manifest where distribution keeps them, tagged `tag`. */
  seedDistributionImage(repository: string, tag: string, image: BuiltImage): Promise<void>;
  /** Bytes s3rver holds on disk now. */
  diskBytes(): Promise<number>;
}

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Deletes the keys under `prefix`; returns how many. Bounded: SCAN walks the keyspace once. */
async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${REDIS_URL}: ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

function duBytes(directory: string): Promise<number> {
  return new Promise((resolve) => {
    execFile('du', ['-sb', directory], (error, stdout) => resolve(error ? 0 : Number(stdout.split('\t')[0])));
  });
}

/**
 * Starts s3rver in `directory` and creates the database; `undo` is registered for each step as it
 * succeeds, so that a failure halfway leaves nothing behind.
 */
export async function startS3Env(
  directory: string,
  id: string,
  undo: (label: string, fn: () => Promise<void>) => void,
): Promise<S3Env> {
  await checkRedis();
  const dataDir = path.join(directory, 'data');
  await mkdir(dataDir, { recursive: true });
  undo('s3rver directory', () => rm(directory, { recursive: true, force: true }));

  const databaseName = `registry_bench_${id}`;
  const databaseUrl = await createDatabase(databaseName);
  undo(`database ${databaseName}`, () => dropDatabase(databaseName));
  const redisPrefix = `bench-${id}:`;
  undo(`Redis keys ${redisPrefix}*`, async () => {
    const n = await deleteRedisKeys(redisPrefix);
    log(`deleted ${n} Redis keys under ${redisPrefix}`);
  });

  const proc = launch(
    process.execPath,
    [
      path.join(REPO_ROOT, 'node_modules/.bin/s3rver'),
      '-d',
      dataDir,
      '-a',
      '127.0.0.1',
      '-p',
      '0', // any free port, read back below
      '--silent',
      '--configure-bucket',
      OURS_BUCKET,
      '--configure-bucket',
      DISTRIBUTION_BUCKET,
    ],
    path.join(directory, 's3rver.log'),
    process.env,
  );
  undo('s3rver', proc.stop);
  const port = await listeningPort(proc.pid, 20_000, proc.alive);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const dead = proc.alive();
    if (dead) throw new Error(dead);
    try {
      const response = await fetch(`${endpoint}/${DISTRIBUTION_BUCKET}`);
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`s3rver did not answer on ${endpoint} within 20 s`);
    await sleep(100);
  }

  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  undo('S3 client', async () => client.destroy());

  const layout = (suffix: string) => `${DISTRIBUTION_ROOT.slice(1)}/docker/registry/v2/${suffix}`;
  const hexOf = (digest: string) => digest.slice('sha256:'.length);
  const put = async (key: string, body: PutObjectCommand['input']['Body'], size?: number) => {
    await client.send(
      new PutObjectCommand({
        Bucket: DISTRIBUTION_BUCKET,
        Key: key,
        Body: body,
        ...(size !== undefined ? { ContentLength: size } : {}),
      }),
    );
  };
  const link = (key: string, digest: string) => put(layout(key), digest);

  const env: S3Env = {
    endpoint,
    pid: proc.pid,
    directory,
    databaseUrl,
    redisUrl: REDIS_URL,
    redisPrefix,
    client,
    oursConfig(diskPath, diskSizeGb) {
      return {
        database: { url: databaseUrl, pool_size: 10 },
        storage: {
          backend: 's3',
          s3: {
            bucket: OURS_BUCKET,
            region: 'us-east-1',
            prefix: OURS_PREFIX,
            endpoint,
            force_path_style: true,
            access_key_id: CREDENTIALS.accessKeyId,
            secret_access_key: CREDENTIALS.secretAccessKey,
          },
          cache: {
            type: 'redis',
            redis_url: REDIS_URL,
            redis_prefix: redisPrefix,
            disk_path: diskPath,
            disk_size_gb: diskSizeGb,
          },
        },
      };
    },
    distributionStorage() {
      // 2.8 has no forcepathstyle key: a regionendpoint turns path-style addressing on.
      return [
        '  s3:',
        `    regionendpoint: ${endpoint}`,
        '    region: us-east-1',
        `    bucket: ${DISTRIBUTION_BUCKET}`,
        `    accesskey: ${CREDENTIALS.accessKeyId}`,
        `    secretkey: ${CREDENTIALS.secretAccessKey}`,
        '    secure: false',
        '    v4auth: true',
        `    rootdirectory: ${DISTRIBUTION_ROOT}`,
        // Blob GETs are streamed through the registry, as ours does (s3.redirect is off by default).
        '  redirect:',
        '    disable: true',
      ];
    },
    async seedDistributionBlob(repository, digest, body, size) {
      const hex = hexOf(digest);
      const data = layout(`blobs/sha256/${hex.slice(0, 2)}/${hex}/data`);
      if (body instanceof Uint8Array) await put(data, body, size);
      else if ('file' in body) await put(data, createReadStream(body.file), size);
      else await put(data, body.stream(), size);
      await link(`repositories/${repository}/_layers/sha256/${hex}/link`, digest);
    },
    async seedDistributionImage(repository, tag, image) {
      for (const blob of image.blobs)
        await env.seedDistributionBlob(repository, blob.digest, blob.bytes, blob.bytes.length);
      const { digest, bytes } = image.manifest;
      const hex = hexOf(digest);
      await put(layout(`blobs/sha256/${hex.slice(0, 2)}/${hex}/data`), bytes, bytes.length);
      const manifests = `repositories/${repository}/_manifests`;
      await link(`${manifests}/revisions/sha256/${hex}/link`, digest);
      await link(`${manifests}/tags/${tag}/index/sha256/${hex}/link`, digest);
      await link(`${manifests}/tags/${tag}/current/link`, digest);
    },
    diskBytes: () => duBytes(dataDir),
  };
  return env;
}
