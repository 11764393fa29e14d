// What must hold after a fault: every acknowledged push pulls back byte for byte (through a client
// of its own, on new connections), and no manifest references a blob whose row or bytes are gone.
import pg from 'pg';
import { Agent } from 'undici';
import { OCI_MANIFEST } from '../harness/client.ts';
import { keySize, type S3Server } from '../harness/s3.ts';
import type { AcknowledgedImage } from './load.ts';
import { request } from './load.ts';

/** What does not pull back as it was pushed: one line per image that does not, empty when all do. */
export async function unpullable(url: string, images: readonly AcknowledgedImage[]): Promise<string[]> {
  const dispatcher = new Agent();
  const problems: string[] = [];
  const get = async (at: string, headers: Record<string, string> = {}) => {
    const { ending, answer } = await request(`${url}${at}`, 'GET', undefined, headers, { dispatcher });
    return answer ?? { status: ending.kind, body: new Uint8Array(0) };
  };
  try {
    await inParallel(images, 8, async (image) => {
      const name = `${image.repository}:${image.tag}`;
      const manifest = await get(`/v2/${image.repository}/manifests/${image.tag}`, { Accept: OCI_MANIFEST });
      if (manifest.status !== 200 || !Buffer.from(manifest.body).equals(image.manifest)) {
        problems.push(`${name}: manifest ${manifest.status}`);
        return;
      }
      for (const [digest, bytes] of image.blobs) {
        const blob = await get(`/v2/${image.repository}/blobs/${digest}`);
        if (blob.status !== 200 || !Buffer.from(blob.body).equals(bytes))
          problems.push(`${name}: blob ${digest} ${blob.status}`);
      }
    });
  } finally {
    await dispatcher.close();
  }
  return problems;
}

/**
 * References to blobs that are not there: no blob row, or no object of the row's size in the
 * store (the S3 server under prefix `registry/`); also manifests whose bytes are missing.
 */
export async function danglingReferences(databaseUrl: string, s3: S3Server): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const noRow = await client.query<{ child_digest: string }>(
      `SELECT DISTINCT r.child_digest FROM manifest_references r
         LEFT JOIN blobs b ON b.digest = r.child_digest
        WHERE r.child_kind = 'blob' AND b.digest IS NULL`,
    );
    const referenced = await client.query<{ digest: string; size: string }>(
      `SELECT DISTINCT b.digest, b.size FROM manifest_references r
         JOIN blobs b ON b.digest = r.child_digest
        WHERE r.child_kind = 'blob'`,
    );
    const manifests = await client.query<{ name: string; digest: string }>(
      'SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id',
    );
    const problems = noRow.rows.map((r) => `${r.child_digest}: referenced, no blob row`);
    await inParallel(referenced.rows, 16, async ({ digest, size }) => {
      const stored = await keySize(s3, `registry/blobs/${digest.replace(':', '/')}`);
      if (stored !== Number(size)) problems.push(`${digest}: row of ${size} bytes, store holds ${stored}`);
    });
    await inParallel(manifests.rows, 16, async ({ name, digest }) => {
      if ((await keySize(s3, `registry/manifests/${name}/${digest}`)) === null)
        problems.push(`${name}@${digest}: manifest row, no bytes`);
    });
    return problems;
  } finally {
    await client.end();
  }
}

async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}
