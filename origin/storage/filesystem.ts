// BlobStore on a local directory:
//   blobs/{algorithm}/{hex}, manifests/{repo}/{algorithm}:{hex}, uploads/{uuid}/data
// A manifest's file name holds the digest's `:`, which no repository name may contain: the file of
// one repository's manifest can never be the directory of another repository (`{repo}/sha256-{hex}`
// was, before; upgradeLayout moves such files).
import { createReadStream, createWriteStream } from 'node:fs';
import {
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ByteRange, UploadWrite } from './blob-store.ts';

const READ_CHUNK = 1024 * 1024;
const WRITE_CHUNK = 1024 * 1024;
/** A manifest file as versions before the `{algorithm}:{hex}` layout named it. */
const EARLIER_MANIFEST_NAME = /^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})$/;
/** Written in manifests/ once no file there has an earlier name (a dot: no repository is named so). */
const LAYOUT_MARKER = '.layout';
const LAYOUT = 'manifests/{repository}/{algorithm}:{hex}\n';

export class FilesystemBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':') as [string, string];
    return path.join(this.root, 'blobs', algorithm, hex);
  }

  private uploadDir(id: string): string {
    return path.join(this.root, 'uploads', id);
  }

  private uploadPath(id: string): string {
    return path.join(this.uploadDir(id), 'data');
  }

  private manifestPath(repository: string, digest: string): string {
    return path.join(this.root, 'manifests', ...repository.split('/'), digest);
  }

  /**
   * Moves manifest files named `{algorithm}-{hex}` (the earlier layout) to `{algorithm}:{hex}`, and
   * returns how many it moved. A directory of such a name is a repository and stays. Idempotent, and
   * safe when several processes start at once (a file another one moved is skipped); once done, a
   * marker file makes later starts skip the walk.
   */
  async upgradeLayout(): Promise<number> {
    const manifests = path.join(this.root, 'manifests');
    const marker = path.join(manifests, LAYOUT_MARKER);
    if ((await readFile(marker, 'utf8').catch(() => null)) === LAYOUT) return 0;
    let moved = 0;
    const walk = async (directory: string): Promise<void> => {
      const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
        if (isNotFound(error)) return [];
        throw error;
      });
      for (const entry of entries) {
        const at = path.join(directory, entry.name);
        if (entry.isDirectory()) {
          await walk(at);
          continue;
        }
        const earlier = entry.isFile() ? EARLIER_MANIFEST_NAME.exec(entry.name) : null;
        if (!earlier) continue;
        try {
          await rename(at, path.join(directory, `${earlier[1]}:${earlier[2]}`));
          moved++;
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
    };
    await walk(manifests);
    await mkdir(manifests, { recursive: true });
    await this.writeAtomically(marker, new TextEncoder().encode(LAYOUT));
    return moved;
  }

  async stat(digest: string): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.blobPath(digest))).size };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable | null> {
    const file = this.blobPath(digest);
    // Open first so that a missing blob is a null, not a stream error after headers went out.
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    return createReadStream('', {
      fd: handle,
      highWaterMark: READ_CHUNK,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  async openFile(digest: string): Promise<FileHandle | null> {
    try {
      return await open(this.blobPath(digest), 'r');
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async urlFor(): Promise<null> {
    return null;
  }

  async createUpload(id: string): Promise<void> {
    await mkdir(this.uploadDir(id), { recursive: true });
    await writeFile(this.uploadPath(id), new Uint8Array(0));
  }

  async writeUpload(id: string, offset: number, body: AsyncIterable<Uint8Array>): Promise<UploadWrite> {
    const file = this.uploadPath(id);
    // r+ at an explicit offset: a retried chunk overwrites what a failed attempt left behind.
    const out = createWriteStream(file, { flags: 'r+', start: offset, highWaterMark: WRITE_CHUNK });
    try {
      await pipeline(body, out);
      return { ok: true, size: offset + out.bytesWritten };
    } catch (error) {
      const size = await stat(file).then(
        (s) => Math.min(s.size, offset + out.bytesWritten),
        () => offset,
      );
      return { ok: false, size, cause: error as Error };
    }
  }

  readUpload(id: string, length: number): Readable {
    return createReadStream(this.uploadPath(id), {
      highWaterMark: READ_CHUNK,
      start: 0,
      end: Math.max(0, length - 1),
    });
  }

  async truncateUpload(id: string, size: number): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.uploadPath(id), 'r+');
    } catch (error) {
      // Absent staged data: the write or read that follows reports it.
      if (isNotFound(error)) return;
      throw error;
    }
    try {
      // Only ever shortened: a file shorter than the confirmed size is a fault readers report.
      if ((await handle.stat()).size > size) await handle.truncate(size);
    } finally {
      await handle.close();
    }
  }

  async commitUpload(id: string, digest: string, size: number): Promise<void> {
    const staged = this.uploadPath(id);
    await this.truncateUpload(id, size);
    const held = (await stat(staged)).size;
    if (held !== size) throw new Error(`upload ${id} holds ${held} bytes, not the ${size} it confirmed`);
    const target = this.blobPath(digest);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      // link() never replaces an existing file: a blob already stored stays as it is...
      await link(staged, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // ...unless it is not what its name says: then the verified upload takes its place.
      const existing = await lstat(target);
      if (!existing.isFile() || existing.size !== size) await rename(staged, target);
    }
    await this.abortUpload(id);
  }

  async abortUpload(id: string): Promise<void> {
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  async putManifest(repository: string, digest: string, bytes: Uint8Array): Promise<void> {
    const target = this.manifestPath(repository, digest);
    // Kept only when it is a file holding exactly these bytes; anything else is replaced (or, if it
    // cannot be, the put fails): the push is never answered for bytes that are not there.
    if (await holdsExactly(target, bytes)) return;
    await mkdir(path.dirname(target), { recursive: true });
    await this.writeAtomically(target, bytes);
  }

  /** Writes a temporary file beside `target`, then renames it over `target`. */
  private async writeAtomically(target: string, bytes: Uint8Array): Promise<void> {
    // The temporary name holds a `:` too: it is never a repository's directory.
    const temporary = `${target}:${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async getManifest(repository: string, digest: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.manifestPath(repository, digest)));
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    await unlink(this.manifestPath(repository, digest)).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  }

  async writeProblem(): Promise<string | null> {
    // A name no blob, manifest or upload has (they live under blobs/, manifests/ and uploads/).
    const probe = path.join(this.root, `.probe-${process.pid}`);
    try {
      await mkdir(this.root, { recursive: true });
      await writeFile(probe, 'probe');
      await rm(probe, { force: true });
      return null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // mkdir of a path that is (or runs through) a file says "EEXIST: file already exists".
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        const found = await stat(this.root).catch(() => null);
        if (!found?.isDirectory()) return `${this.root} is not a directory (a file is in the way)`;
      }
      return `${this.root} cannot be written: ${(error as Error).message}`;
    }
  }
}

async function holdsExactly(file: string, bytes: Uint8Array): Promise<boolean> {
  const found = await lstat(file).catch(() => null);
  if (!found?.isFile() || found.size !== bytes.byteLength) return false;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await readFile(file));
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
