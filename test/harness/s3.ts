// A real S3-protocol server for the tests: s3rver in its own process, over HTTP on loopback,
// with a fresh directory and one bucket. It can be halted and restarted over the same directory
// and port (an S3 outage, as the fault suite makes one).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

export const S3_BUCKET = 'registry-test';
export const S3_CREDENTIALS = { access_key_id: 'S3RVER', secret_access_key: 'S3RVER' } as const;

export interface S3Server {
  readonly endpoint: string;
  readonly directory: string;
  /** Stops the server and keeps its directory: `restart` serves the same objects on the same port. */
  halt(): Promise<void>;
  /** Starts the server again after `halt`, on the same port and directory. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3Server> {
  const directory = await mkdtemp(path.join(tmpdir(), 'registry-s3-'));
  let running: S3Process;
  try {
    running = await spawnS3rver(directory, 0);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const { port } = running;
  const halt = () => running.stop();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    halt,
    async restart() {
      // The port was ours until `halt`: should someone hold it meanwhile, try again for a while.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          running = await spawnS3rver(directory, port);
          return;
        } catch (error) {
          if (!(error instanceof AddressInUse) || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    },
    async stop() {
      await halt();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

class AddressInUse extends Error {}

interface S3Process {
  readonly port: number;
  stop(): Promise<void>;
}

/** s3rver serving `directory` on `port` (0: any free port, read back from what it prints). */
async function spawnS3rver(directory: string, port: number): Promise<S3Process> {
  const bin = path.resolve('node_modules/.bin/s3rver');
  const child: ChildProcess = spawn(
    path.resolve('node_modules/.bin/node'),
    [
      bin,
      '-d',
      directory,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--silent',
      '--configure-bucket',
      S3_BUCKET,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // A test process that dies without stopping it must not leave it running.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    // It prints where it listens once its bucket is configured.
    const bound = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => reject(new Error('s3rver did not listen within 20 s')), 20_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const listening = /S3rver listening on [^\s]+:(\d+)/.exec(stdout);
        if (listening) {
          clearTimeout(timer);
          resolve(Number(listening[1]));
        }
      });
      // 'close': its stderr is read to the end (the reason it exited).
      child.once('close', (code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with ${code}`));
      });
    });
    return {
      port: bound,
      async stop() {
        process.off('exit', reap);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  } catch (error) {
    process.off('exit', reap);
    child.kill('SIGKILL');
    await exited;
    const message = `${(error as Error).message}: ${stderr}`;
    throw stderr.includes('EADDRINUSE') ? new AddressInUse(message) : new Error(message);
  }
}

/** The storage config of a registry using `server`. */
export function s3StorageConfig(server: S3Server, prefix = 'registry/'): Record<string, unknown> {
  return {
    backend: 's3',
    s3: {
      bucket: S3_BUCKET,
      region: 'us-east-1',
      prefix,
      endpoint: server.endpoint,
      force_path_style: true,
      ...S3_CREDENTIALS,
      part_size: '5MiB',
      upload_concurrency: 4,
    },
  };
}

function client(server: S3Server): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: S3_CREDENTIALS.access_key_id,
      secretAccessKey: S3_CREDENTIALS.secret_access_key,
    },
  });
}

/** Keys under `prefix` in the test bucket. */
export async function listKeys(server: S3Server, prefix: string): Promise<string[]> {
  const s3 = client(server);
  try {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
  } finally {
    s3.destroy();
  }
}

export async function putKey(server: S3Server, key: string, body: string | Uint8Array): Promise<void> {
  const s3 = client(server);
  try {
    await s3.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
}

/** The size of the object at `key` in the test bucket, or null when there is none. */
export async function keySize(server: S3Server, key: string): Promise<number | null> {
  const s3 = client(server);
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: key }));
    return head.ContentLength ?? 0;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw error;
  } finally {
    s3.destroy();
  }
}
