// Sends a byte range of an open file to a Node writable through two reused buffers: one is read
// into while the other is being written. createReadStream instead allocates a fresh buffer per
// chunk, and faulting in and collecting those was about half the CPU of a large pull.
//
// The buffers of all sends together are bounded: a send takes two 1 MiB buffers while those in
// use stay within SEND_BUDGET, else two 128 KiB ones. Without the bound, 100 concurrent GETs held
// 200 MiB of buffers (and the process's RSS kept most of it afterwards); with it, at most
// SEND_BUDGET + 256 KiB per send.
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ByteRange } from './blob-store.ts';

const CHUNK = 1024 * 1024;
const SMALL_CHUNK = 128 * 1024;
/** Bytes of full-size (CHUNK) buffers in use at once, across all sends. */
const SEND_BUDGET = 16 * CHUNK;
// Buffers kept between requests, per size.
const SPARE_BUFFERS = 8;
const SPARE_SMALL_BUFFERS = 64;
const spare: Buffer[] = [];
const spareSmall: Buffer[] = [];
let fullInUse = 0;

/** Writes `range` of `handle` to `out` (without ending it). Rejects if the file is shorter or `out` fails. */
export async function sendFile(handle: FileHandle, range: ByteRange, out: Writable): Promise<void> {
  const length = range.end - range.start + 1;
  if (length <= 0) return;
  // Full-size buffers for a large range while the budget allows; small ones (pooled too)
  // otherwise; a range that fits in one small buffer gets one buffer of its size.
  const full = length >= CHUNK && fullInUse + 2 * CHUNK <= SEND_BUDGET;
  const pooled = full || length > SMALL_CHUNK;
  const pool = full ? spare : spareSmall;
  const take = () =>
    pooled ? (pool.pop() ?? Buffer.allocUnsafeSlow(full ? CHUNK : SMALL_CHUNK)) : Buffer.allocUnsafe(length);
  if (full) fullInUse += 2 * CHUNK;
  const buffers = pooled ? [take(), take()] : [take()];
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
    if (full) fullInUse -= 2 * CHUNK;
    if (pooled) {
      const keep = full ? SPARE_BUFFERS : SPARE_SMALL_BUFFERS;
      for (const buffer of buffers) if (pool.length < keep) pool.push(buffer);
    }
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
