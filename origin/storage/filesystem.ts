// BlobStore on a local directory:
//   blobs/{algorithm}/{hex}, manifests/{repo}/{digest}, uploads/{uuid}/data
import { createReadStream, createWriteStream } from 'node:fs';
import {
  access,
  type FileHandle,
  link,
  mkdir,
  open,
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
    return path.join(this.root, 'manifests', ...repository.split('/'), digest.replace(':', '-'));
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

  async commitUpload(id: string, digest: string): Promise<void> {
    const target = this.blobPath(digest);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      // link() never replaces an existing file: a blob already stored stays as it is.
      await link(this.uploadPath(id), target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await this.abortUpload(id);
  }

  async abortUpload(id: string): Promise<void> {
    await rm(this.uploadDir(id), { recursive: true, force: true });
  }

  async putManifest(repository: string, digest: string, bytes: Uint8Array): Promise<void> {
    const target = this.manifestPath(repository, digest);
    try {
      await access(target);
      return;
    } catch {}
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, target);
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

  async ping(): Promise<boolean> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root);
      return true;
    } catch {
      return false;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
