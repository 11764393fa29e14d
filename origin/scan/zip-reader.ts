// A small ZIP reader for jars and osv.dev exports: the central directory gives the entries, and an
// entry is read at its local header. Two sources share one API: bytes in memory, and a file read
// at offsets, so a 1 GB archive is never loaded whole. Every read is bounded by the caller's cap,
// whatever the archive declares, because archives come from untrusted images and downloads.
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';

export type ZipResult<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ZipEntry {
  /** The name as stored: forward slashes, directories end in "/". */
  readonly name: string;
  /** 0 stored, 8 deflate; others are listed but cannot be read. */
  readonly method: number;
  readonly compressedSize: number;
  /** The uncompressed size the archive declares (checked when read). */
  readonly size: number;
  readonly crc32: number;
  readonly encrypted: boolean;
  readonly isDirectory: boolean;
  /** Offset of the entry's local header, as the archive states it (before any prefix adjustment). */
  readonly localHeaderOffset: number;
}

/** Bytes in memory, or a file read at offsets. */
export type ZipSource = Uint8Array | { path: string };

export interface OpenZipOptions {
  /** Largest central directory read (default 256 MiB: about three million short names). */
  maxCentralDirectoryBytes?: number;
  /** Most entries listed (default 4,000,000). */
  maxEntries?: number;
}

export interface ZipReadOptions {
  /** Largest uncompressed size returned; an entry declaring more is refused, and inflating stops here. */
  maxBytes: number;
}

export interface ZipArchive {
  readonly entryCount: number;
  /** The entries in central directory order, decoded as iterated (an osv.dev export lists ~10^6). */
  entries(): IterableIterator<ZipEntry>;
  /** The entry's content, checked against its size and CRC-32. From an in-memory source a stored entry shares the source's memory. */
  read(entry: ZipEntry, options: ZipReadOptions): Promise<ZipResult<Uint8Array>>;
  /** Closes the file of a file-backed archive; a no-op in memory. */
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
const DEFAULT_MAX_CENTRAL_DIRECTORY = 256 * MiB;
const DEFAULT_MAX_ENTRIES = 4_000_000;
// Up to this much compressed data is inflated in one synchronous call; larger entries stream, so a
// 200 MB jar neither blocks the event loop in one go nor needs its compressed bytes held whole.
const SYNC_INFLATE_LIMIT = 1 * MiB;
const STREAM_CHUNK = 1 * MiB;

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;
const END_SIZE = 22;
const END64_SIZE = 56;
const LOCATOR_SIZE = 20;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const FLAG_ENCRYPTED = 0x1;
const EXTRA_ZIP64 = 0x0001;

const ok = <T>(value: T): ZipResult<T> => ({ ok: true, value });
const fail = <T = never>(error: string): ZipResult<T> => ({ ok: false, error });

/** Random access to the archive's bytes. */
interface Source {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; throws on I/O errors or a short file. */
  readAt(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

function memorySource(bytes: Uint8Array): Source {
  return {
    size: bytes.length,
    readAt: async (offset, length) => {
      if (offset < 0 || offset + length > bytes.length)
        throw new RangeError('read past the end of the archive');
      return bytes.subarray(offset, offset + length);
    },
    close: async () => {},
  };
}

function fileSource(handle: FileHandle, size: number): Source {
  return {
    size,
    readAt: async (offset, length) => {
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
        // The file shrank after it was opened.
        if (bytesRead === 0) throw new RangeError('read past the end of the archive');
        filled += bytesRead;
      }
      return buffer;
    },
    close: () => handle.close(),
  };
}

export async function openZip(
  source: ZipSource,
  options: OpenZipOptions = {},
): Promise<ZipResult<ZipArchive>> {
  if (source instanceof Uint8Array) return openSource(memorySource(source), options);
  let handle: FileHandle;
  try {
    handle = await open(source.path, 'r');
  } catch (error) {
    return fail(`cannot open ${source.path}: ${(error as Error).message}`);
  }
  try {
    const stat = await handle.stat();
    const opened = await openSource(fileSource(handle, stat.size), options);
    if (!opened.ok) await handle.close();
    return opened;
  } catch (error) {
    await handle.close();
    return fail(`cannot read ${source.path}: ${(error as Error).message}`);
  }
}

interface Directory {
  /** Where the archive's own offset 0 is in the source (non-zero when data was prepended, e.g. a launch script). */
  base: number;
  /** Source offset where the central directory starts; entry data must end before it. */
  start: number;
  bytes: Uint8Array;
  declaredCount: number;
}

async function openSource(source: Source, options: OpenZipOptions): Promise<ZipResult<ZipArchive>> {
  const maxDirectory = options.maxCentralDirectoryBytes ?? DEFAULT_MAX_CENTRAL_DIRECTORY;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  let directory: ZipResult<Directory>;
  try {
    directory = await readDirectory(source, maxDirectory);
  } catch (error) {
    return fail(`cannot read the central directory: ${(error as Error).message}`);
  }
  if (!directory.ok) return directory;
  const dir = directory.value;
  // Decode the whole directory once to report corruption now, as a value; entries() then decodes
  // again lazily instead of holding a million entry objects.
  let count = 0;
  for (const entry of decodeDirectory(dir)) {
    if (!entry.ok) return entry;
    count++;
    if (count > maxEntries) return fail(`more than ${maxEntries} entries`);
  }
  // Writers without ZIP64 store the count modulo 65536; only a mismatch beyond that is corruption.
  if (count % 0x10000 !== dir.declaredCount % 0x10000) {
    return fail(`central directory lists ${count} entries, its end record says ${dir.declaredCount}`);
  }
  return ok(archiveOf(source, dir, count));
}

async function readDirectory(source: Source, maxDirectory: number): Promise<ZipResult<Directory>> {
  const tailLength = Math.min(source.size, END_SIZE + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = await source.readAt(tailStart, tailLength);
  const endAt = findEndRecord(tail);
  if (endAt < 0) return fail('not a ZIP archive (no end of central directory record)');
  const end = view(tail).subarray(endAt);
  const endOffset = tailStart + endAt;
  let disk = end.u16(4);
  let directoryDisk = end.u16(6);
  let declaredCount = end.u16(10);
  let size = end.u32(12);
  let offset = end.u32(16);
  let directoryEnd = endOffset;

  // A ZIP64 locator sits just before the end record when the counts, sizes or offsets overflow.
  if (endOffset >= LOCATOR_SIZE) {
    const locator = view(await source.readAt(endOffset - LOCATOR_SIZE, LOCATOR_SIZE));
    if (locator.u32(0) === SIG_END64_LOCATOR) {
      const stated = locator.u64(8);
      const locatorAt = endOffset - LOCATOR_SIZE;
      // The stated offset is wrong when data was prepended; the record then sits right before the locator.
      let record: Reader | undefined;
      let recordAt = -1;
      for (const at of [stated, locatorAt - END64_SIZE]) {
        if (at === undefined || at < 0 || at + END64_SIZE > locatorAt) continue;
        const candidate = view(await source.readAt(at, END64_SIZE));
        if (candidate.u32(0) === SIG_END64) {
          record = candidate;
          recordAt = at;
          break;
        }
      }
      if (!record) return fail('ZIP64 end of central directory record not found');
      const count = record.u64(32);
      const size64 = record.u64(40);
      const offset64 = record.u64(48);
      if (count === undefined || size64 === undefined || offset64 === undefined) {
        return fail('ZIP64 end record holds values beyond 2^53');
      }
      disk = record.u32(16);
      directoryDisk = record.u32(20);
      declaredCount = count;
      size = size64;
      offset = offset64;
      directoryEnd = recordAt;
    }
  }
  if (disk !== 0 || directoryDisk !== 0) return fail('multi-disk archives are not supported');
  // The directory ends where the end records begin; any difference from the stated offset is data
  // prepended to the archive without adjusting its offsets (self-extracting or launch-script jars).
  const start = directoryEnd - size;
  const base = start - offset;
  if (start < 0 || base < 0) return fail('central directory lies outside the archive');
  if (size > maxDirectory)
    return fail(`central directory of ${size} bytes exceeds the ${maxDirectory}-byte cap`);
  return ok({ base, start, bytes: await source.readAt(start, size), declaredCount });
}

/** Position of the end record in the archive's last bytes, or -1. */
function findEndRecord(tail: Uint8Array): number {
  const reader = view(tail);
  let loose = -1;
  for (let i = tail.length - END_SIZE; i >= 0; i--) {
    if (reader.u32(i) !== SIG_END) continue;
    const commentLength = reader.u16(i + 20);
    // The record whose comment reaches exactly the end of the file is the real one; a signature
    // inside a comment rarely lines up like that.
    if (i + END_SIZE + commentLength === tail.length) return i;
    if (loose < 0 && i + END_SIZE + commentLength <= tail.length) loose = i;
  }
  return loose;
}

const utf8 = new TextDecoder('utf-8');

/** Decodes entries one at a time; yields an error and stops at the first malformed record. */
function* decodeDirectory(dir: Directory): Generator<ZipResult<ZipEntry>> {
  const reader = view(dir.bytes);
  let at = 0;
  let index = 0;
  while (at < dir.bytes.length) {
    if (at + CENTRAL_SIZE > dir.bytes.length || reader.u32(at) !== SIG_CENTRAL) {
      yield fail(`corrupt central directory at entry ${index} (offset ${at})`);
      return;
    }
    const flags = reader.u16(at + 8);
    const method = reader.u16(at + 10);
    const crc = reader.u32(at + 16);
    let compressedSize = reader.u32(at + 20);
    let size = reader.u32(at + 24);
    const nameLength = reader.u16(at + 28);
    const extraLength = reader.u16(at + 30);
    const commentLength = reader.u16(at + 32);
    let diskStart = reader.u16(at + 34);
    let localHeaderOffset = reader.u32(at + 42);
    const next = at + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (next > dir.bytes.length) {
      yield fail(`corrupt central directory: entry ${index} runs past its end`);
      return;
    }
    // Names are UTF-8 in practice (jar, Python, osv.dev); CP437 differs only outside ASCII.
    const name = utf8.decode(dir.bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength));
    const extraStart = at + CENTRAL_SIZE + nameLength;
    // ZIP64 values follow in a fixed order, present only for the fields that overflowed.
    if (
      size === 0xffffffff ||
      compressedSize === 0xffffffff ||
      localHeaderOffset === 0xffffffff ||
      diskStart === 0xffff
    ) {
      const zip64 = findExtra(reader, extraStart, extraStart + extraLength, EXTRA_ZIP64);
      if (!zip64) {
        yield fail(`entry ${name}: ZIP64 sizes missing`);
        return;
      }
      let p = zip64.start;
      const take = (): number | undefined => {
        if (p + 8 > zip64.end) return undefined;
        const value = reader.u64(p);
        p += 8;
        return value;
      };
      const fields = [
        size === 0xffffffff ? take() : size,
        compressedSize === 0xffffffff ? take() : compressedSize,
        localHeaderOffset === 0xffffffff ? take() : localHeaderOffset,
      ];
      if (diskStart === 0xffff) {
        diskStart = p + 4 <= zip64.end ? reader.u32(p) : -1;
      }
      if (fields.some((f) => f === undefined) || diskStart < 0) {
        yield fail(`entry ${name}: ZIP64 extra field too short`);
        return;
      }
      [size, compressedSize, localHeaderOffset] = fields as [number, number, number];
    }
    if (diskStart !== 0) {
      yield fail(`entry ${name}: multi-disk archives are not supported`);
      return;
    }
    if (dir.base + localHeaderOffset + LOCAL_SIZE + compressedSize > dir.start) {
      yield fail(`entry ${name}: data lies outside the archive`);
      return;
    }
    yield ok({
      name,
      method,
      compressedSize,
      size,
      crc32: crc,
      encrypted: (flags & FLAG_ENCRYPTED) !== 0,
      isDirectory: name.endsWith('/'),
      localHeaderOffset,
    });
    at = next;
    index++;
  }
}

function findExtra(
  reader: Reader,
  start: number,
  end: number,
  id: number,
): { start: number; end: number } | undefined {
  let p = start;
  while (p + 4 <= end) {
    const fieldId = reader.u16(p);
    const length = reader.u16(p + 2);
    if (p + 4 + length > end) return undefined;
    if (fieldId === id) return { start: p + 4, end: p + 4 + length };
    p += 4 + length;
  }
  return undefined;
}

function archiveOf(source: Source, dir: Directory, entryCount: number): ZipArchive {
  return {
    entryCount,
    *entries() {
      for (const entry of decodeDirectory(dir)) {
        // Already decoded once at open without error.
        if (entry.ok) yield entry.value;
      }
    },
    async read(entry, options) {
      try {
        return await readEntry(source, dir, entry, options.maxBytes);
      } catch (error) {
        return fail(`${entry.name}: ${(error as Error).message}`);
      }
    },
    close: () => source.close(),
  };
}

async function readEntry(
  source: Source,
  dir: Directory,
  entry: ZipEntry,
  maxBytes: number,
): Promise<ZipResult<Uint8Array>> {
  if (entry.encrypted) return fail(`${entry.name}: encrypted`);
  if (entry.size > maxBytes) {
    return fail(`${entry.name}: declares ${entry.size} bytes, over the ${maxBytes}-byte cap`);
  }
  const headerAt = dir.base + entry.localHeaderOffset;
  const header = view(await source.readAt(headerAt, LOCAL_SIZE));
  if (header.u32(0) !== SIG_LOCAL) return fail(`${entry.name}: no local header at its offset`);
  // The local name and extra field may differ in length from the central directory's.
  const dataAt = headerAt + LOCAL_SIZE + header.u16(26) + header.u16(28);
  if (dataAt + entry.compressedSize > dir.start) return fail(`${entry.name}: data lies outside the archive`);

  let content: ZipResult<Uint8Array>;
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) return fail(`${entry.name}: stored entry with differing sizes`);
    content = ok(await source.readAt(dataAt, entry.size));
  } else if (entry.method === 8) {
    // Inflating stops past the declared size, which is within the cap: a small declaration that
    // inflates to gigabytes (a zip bomb) costs at most one zlib chunk beyond it.
    content =
      entry.compressedSize <= SYNC_INFLATE_LIMIT
        ? inflateSmall(await source.readAt(dataAt, entry.compressedSize), entry.size)
        : await inflateStreaming(source, dataAt, entry.compressedSize, entry.size);
  } else {
    return fail(`${entry.name}: compression method ${entry.method} is not supported`);
  }
  if (!content.ok) return fail(`${entry.name}: ${content.error}`);
  if (content.value.length !== entry.size) {
    return fail(`${entry.name}: holds ${content.value.length} bytes, declares ${entry.size}`);
  }
  if (crc32(content.value) >>> 0 !== entry.crc32) return fail(`${entry.name}: CRC-32 mismatch`);
  return content;
}

function inflateSmall(compressed: Uint8Array, limit: number): ZipResult<Uint8Array> {
  try {
    // maxOutputLength must be at least 1; an empty entry then inflates to 0 bytes anyway.
    return ok(inflateRawSync(compressed, { maxOutputLength: Math.max(limit, 1) }));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return fail(`inflates past its declared ${limit} bytes`);
    }
    return fail(`corrupt deflate data: ${(error as Error).message}`);
  }
}

class PastLimit extends Error {}

async function inflateStreaming(
  source: Source,
  at: number,
  length: number,
  limit: number,
): Promise<ZipResult<Uint8Array>> {
  async function* compressed() {
    for (let p = 0; p < length; p += STREAM_CHUNK) {
      yield await source.readAt(at + p, Math.min(STREAM_CHUNK, length - p));
    }
  }
  const pieces: Uint8Array[] = [];
  let total = 0;
  try {
    await pipeline(compressed, createInflateRaw(), async (inflated: AsyncIterable<Uint8Array>) => {
      for await (const piece of inflated) {
        total += piece.length;
        // Throwing tears down the pipeline, so no more input is read or inflated.
        if (total > limit) throw new PastLimit();
        pieces.push(piece);
      }
    });
  } catch (error) {
    if (error instanceof PastLimit) return fail(`inflates past its declared ${limit} bytes`);
    return fail(`corrupt deflate data: ${(error as Error).message}`);
  }
  return ok(Buffer.concat(pieces, total));
}

/** Little-endian reads over a byte array; u64 is undefined beyond 2^53. */
interface Reader {
  u16(at: number): number;
  u32(at: number): number;
  u64(at: number): number | undefined;
  subarray(at: number): Reader;
}

function view(bytes: Uint8Array): Reader {
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    u16: (at) => data.getUint16(at, true),
    u32: (at) => data.getUint32(at, true),
    u64: (at) => {
      const value = data.getBigUint64(at, true);
      return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
    },
    subarray: (at) => view(bytes.subarray(at)),
  };
}
