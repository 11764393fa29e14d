// Where manifest bytes are kept: no repository name lands on another repository's manifest, on
// either store, and a filesystem store laid out by an earlier version is moved to today's layout
// at start-up, once, by however many processes start.
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FilesystemBlobStore } from '../origin/storage/filesystem.ts';
import { call, OCI_MANIFEST, pushImage, sha256 } from './harness/client.ts';
import { startTestRegistry, type TestRegistry } from './harness/registry.ts';
import { killRegistry, type ServedRegistry, serveRegistry } from './harness/served-registry.ts';

const hexOf = (digest: string) => digest.slice('sha256:'.length);
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A second registry over the first one's data directory, database and bucket (the first stopped). */
async function restart(first: TestRegistry): Promise<TestRegistry> {
  await first.running.close();
  const second = await startTestRegistry({
    dataDir: first.dataDir,
    databaseUrl: first.databaseUrl,
    s3: first.s3,
  });
  cleanups.push(() => second.running.close());
  return second;
}

async function manifestText(registry: TestRegistry, name: string): Promise<string | number> {
  const response = await call(registry, 'GET', `/v2/${name}/manifests/latest`, {
    headers: { Accept: OCI_MANIFEST },
  });
  return response.status === 200 ? response.text() : response.status;
}

describe('manifest bytes in the store', () => {
  it('a repository named like a stored manifest neither hides it nor is refused, in either order', async () => {
    const first = await startTestRegistry();
    cleanups.push(() => first.close());

    // The repository `layout/q/sha256-<hex>` exists before manifest <hex> is pushed to layout/q.
    const image = await pushImage(first, 'layout/scratch', 'latest');
    const early = await pushImage(first, `layout/q/sha256-${hexOf(image.digest)}`, 'latest');
    for (const digest of [image.config, ...image.layers]) {
      const mounted = await call(
        first,
        'POST',
        `/v2/layout/q/blobs/uploads/?mount=${digest}&from=layout/scratch`,
      );
      expect(mounted.status).toBe(201);
    }
    const put = await call(first, 'PUT', '/v2/layout/q/manifests/latest', {
      body: image.manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(put.status).toBe(201);

    // Manifest <hex> is in layout/r before the repository `layout/r/sha256-<hex>` is pushed to.
    const stored = await pushImage(first, 'layout/r', 'latest');
    const late = await pushImage(first, `layout/r/sha256-${hexOf(stored.digest)}`, 'latest');

    // Served from the store, not from a cache the first process filled.
    const second = await restart(first);
    expect(await manifestText(second, 'layout/q')).toBe(image.manifest);
    expect(await manifestText(second, `layout/q/sha256-${hexOf(image.digest)}`)).toBe(early.manifest);
    expect(await manifestText(second, 'layout/r')).toBe(stored.manifest);
    expect(await manifestText(second, `layout/r/sha256-${hexOf(stored.digest)}`)).toBe(late.manifest);
  });
});

describe('manifest files on the filesystem store', () => {
  it('a manifest pushed again over a damaged file is written again, not trusted', async () => {
    const registry = await startTestRegistry({ storage: 'filesystem' });
    cleanups.push(() => registry.close());
    const image = await pushImage(registry, 'damaged/app', 'latest');
    const file = path.join(registry.dataDir, 'blobs', 'manifests', 'damaged', 'app', image.digest);
    await writeFile(file, image.manifest.slice(0, 10));
    const again = await call(registry, 'PUT', '/v2/damaged/app/manifests/latest', {
      body: image.manifest,
      headers: { 'Content-Type': OCI_MANIFEST },
    });
    expect(again.status).toBe(201);
    expect(await readFile(file, 'utf8')).toBe(image.manifest);
  });
});

describe('the filesystem layout of an earlier version', () => {
  /** Writes manifest files as an earlier version named them ({algorithm}-{hex}), and a repository directory named so. */
  async function earlierLayout(root: string): Promise<{ files: string[]; directory: string }> {
    const manifests = path.join(root, 'manifests');
    const files: string[] = [];
    for (const repository of ['old/a', 'old/a/b', 'old/c']) {
      const bytes = `{"repository":"${repository}"}`;
      const file = path.join(manifests, repository, `sha256-${hexOf(sha256(bytes))}`);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
      files.push(file);
    }
    // A repository named `old/c/sha256-<hex>`: a directory, which stays where it is.
    const directory = path.join(manifests, 'old', 'c', `sha256-${'e'.repeat(64)}`);
    await mkdir(directory, { recursive: true });
    await writeFile(path.join(directory, `sha256:${'f'.repeat(64)}`), 'today’s layout');
    return { files, directory };
  }

  const todays = (file: string) => file.replace(/sha256-([0-9a-f]{64})$/, 'sha256:$1');

  it('its manifest files are moved exactly once when two processes start at once, and directories stay', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'registry-layout-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const { files, directory } = await earlierLayout(root);

    const moved = await Promise.all([
      new FilesystemBlobStore(root).upgradeLayout(),
      new FilesystemBlobStore(root).upgradeLayout(),
    ]);
    expect(moved[0] + moved[1]).toBe(files.length);
    for (const file of files) {
      await expect(lstat(file)).rejects.toThrow(/ENOENT/);
      expect(await readFile(todays(file), 'utf8')).toMatch(/^\{"repository"/);
    }
    expect((await lstat(directory)).isDirectory()).toBe(true);
    expect(await readdir(directory)).toEqual([`sha256:${'f'.repeat(64)}`]);
    // Done once: a later start moves nothing.
    expect(await new FilesystemBlobStore(root).upgradeLayout()).toBe(0);
  });

  it('`registry serve` moves them at start-up, logs it, and serves the manifests', async () => {
    const first = await startTestRegistry({ storage: 'filesystem' });
    cleanups.push(() => first.close());
    const image = await pushImage(first, 'legacy/app', 'latest');
    await first.running.close();
    // As an earlier version left it: {algorithm}-{hex} file names, no record of a layout change.
    const manifests = path.join(first.dataDir, 'blobs', 'manifests');
    await rename(
      path.join(manifests, 'legacy', 'app', `sha256:${hexOf(image.digest)}`),
      path.join(manifests, 'legacy', 'app', `sha256-${hexOf(image.digest)}`),
    );
    await rm(path.join(manifests, '.layout'));

    let served: ServedRegistry | undefined;
    try {
      served = await serveRegistry({
        REGISTRY_DATA_DIR: first.dataDir,
        REGISTRY_STORAGE_BACKEND: 'filesystem',
        ...(first.databaseUrl ? { REGISTRY_DATABASE_URL: first.databaseUrl } : {}),
      });
      expect(served.lines).toContainEqual(
        expect.objectContaining({ moved: 1, msg: expect.stringMatching(/manifest files moved/) }),
      );
      const response = await fetch(`${served.url}/v2/legacy/app/manifests/latest`, {
        headers: { Authorization: first.adminAuth, Accept: OCI_MANIFEST },
      });
      expect(await response.text()).toBe(image.manifest);
    } finally {
      await killRegistry(served);
    }
  });
});
