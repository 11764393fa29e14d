// Sends a byte range of an open file to a Node writable through two reused 1 MiB buffers: one is
// read into while the other is being written. createReadStream instead allocates a fresh buffer
// per chunk, and faulting in and collecting those was about half the CPU of a large pull.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ByteRange } from './blob-store.ts';

const CHUNK = 1024 * 1024;
// Full-size buffers kept between requests.
const SPARE_BUFFERS = 8;
const spare: Buffer[] = [];

/** Writes `range` of `handle` to `out` (without ending it). Rejects if the file is shorter or `out` fails. */
export async function sendFile(handle: FileHandle, range: ByteRange, out: Writable): Promise<void> {
  const length = range.end - range.start + 1;
  if (length <= 0) return;
  const full = length >= CHUNK;
  const take = () => (full ? (spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK)) : Buffer.allocUnsafe(length));
  const buffers = full ? [take(), take()] : [take()];
  // `writing` never rejects (an unhandled rejection while a read is pending would be fatal):
  // a failed write leaves its error in `failure`.
  let writing: Promise<void> | undefined;
  let failure: Error | undefined;
  try {
    for (let position = range.start, turn = 0; position <= range.end; turn = 1 - turn) {
      const buffer = buffers[turn % buffers.length] as Buffer;
      if (buffers.length === 1) await writing;
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(buffer.length, range.end + 1 - position),
        position,
      );
      if (bytesRead === 0) throw new Error(`file ends at ${position}, before byte ${range.end}`);
      position += bytesRead;
      await writing;
      if (failure) throw failure;
      writing = written(out, buffer.subarray(0, bytesRead)).catch((error: Error) => {
        failure = error;
      });
    }
    await writing;
    if (failure) throw failure;
  } finally {
    // Never hand a buffer back while `out` may still be reading it.
    await writing;
    if (full) for (const buffer of buffers) if (spare.length < SPARE_BUFFERS) spare.push(buffer);
  }
}

/** Resolves once `out` has taken `chunk` (its write callback); rejects if `out` fails or closes first. */
function written(out: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = () => reject(new Error('the connection closed before the blob was sent'));
    out.once('close', closed);
    out.write(chunk, (error) => {
      out.off('close', closed);
      if (error) reject(error);
      else resolve();
    });
  });
}
