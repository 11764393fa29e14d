// A streaming reader of tar archives (ustar, GNU and PAX, as container layers are written). It
// walks the archive once; each entry's content is handed out as views into the source's chunks,
// so nothing larger than one source chunk plus one 512-byte header is held, apart from GNU long
// names and PAX records, which are bounded by `maxMetaBytes`. Content the caller does not read is
// skipped when it asks for the next entry. A malformed or cut-short archive ends the walk with an
// error item; nothing here throws on bad input.
//
// Where tar readers disagree, this one does what Go's archive/tar does, since that is what Docker
// and containerd use to unpack layers: a runtime and the scanner then see the same files. So PAX
// global headers ('g') are checked but applied to nothing, as Docker and containerd skip them.
import { normalisePath } from './path.ts';

export type TarEntryType =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'directory'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  /** GNU sparse files: the stored data is not the file's content, so nobody should parse it. */
  | 'sparse'
  | 'other';

export interface TarEntry {
  type: TarEntryType;
  /** Normalised (see path.ts); "" for the root directory. */
  path: string;
  /** The path as the archive spells it, for messages. */
  rawPath: string;
  /** Permission bits and set-id/sticky bits (mode & 0o7777). */
  mode: number;
  /** Bytes of content; 0 for types that carry none (links, directories, devices, fifos). */
  size: number;
  /** Hardlinks: the normalised path of the earlier entry. Symlinks: the target exactly as written. */
  linkname: string;
}

export type TarItem =
  /**
   * `content` yields the entry's bytes as views into the source's chunks (copy what you keep).
   * It must be read before asking for the next item or is skipped then; read later, it is empty.
   * If the archive ends inside the content, it yields fewer than `size` bytes and the next item
   * is the error.
   */
  | { kind: 'entry'; entry: TarEntry; content: AsyncIterable<Uint8Array> }
  | { kind: 'end' }
  | { kind: 'error'; reason: string };

export interface TarReaderOptions {
  /** Largest GNU long name or PAX header body read; Go's archive/tar uses the same 1 MiB. */
  maxMetaBytes?: number;
}

export const DEFAULT_MAX_META_BYTES = 1024 * 1024;

const BLOCK = 512;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Walks a tar archive. The last item is always `end` or `error`; stop iterating early to abandon
 * the archive (the source is then closed).
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
  options: TarReaderOptions = {},
): AsyncGenerator<TarItem, void, undefined> {
  const maxMeta = options.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  const bytes = new ByteSource(source);
  try {
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    while (true) {
      const at = bytes.position;
      const header = await bytes.readBlock();
      if (header === undefined) {
        // A clean end at a header boundary without the two zero blocks: lenient, as Go is.
        yield bytes.failure ? { kind: 'error', reason: bytes.failure } : { kind: 'end' };
        return;
      }
      if (header.length < BLOCK) {
        yield { kind: 'error', reason: bytes.failure ?? `archive ends inside the header at offset ${at}` };
        return;
      }
      if (isZero(header)) {
        // One zero block then data is a corrupt archive to Go, which unpacks the layer for the
        // runtime; one zero block then nothing is a complete one.
        const next = await bytes.readBlock();
        if (next !== undefined && next.length === BLOCK && !isZero(next)) {
          yield { kind: 'error', reason: `a zero block followed by data at offset ${at}` };
        } else yield bytes.failure ? { kind: 'error', reason: bytes.failure } : { kind: 'end' };
        return;
      }
      const parsed = parseHeader(header);
      if (!parsed.ok) {
        yield { kind: 'error', reason: `${parsed.reason} in the header at offset ${at}` };
        return;
      }
      const h = parsed.header;

      if (h.typeflag === 'L' || h.typeflag === 'K' || h.typeflag === 'x' || h.typeflag === 'g') {
        if (h.size > maxMeta) {
          yield {
            kind: 'error',
            reason: `a ${metaName(h.typeflag)} of ${h.size} bytes at offset ${at} is over ${maxMeta}`,
          };
          return;
        }
        const body = await bytes.readExact(h.size);
        if (body.length < h.size || (await bytes.skip(padding(h.size))) < padding(h.size)) {
          yield {
            kind: 'error',
            reason: bytes.failure ?? `archive ends inside the ${metaName(h.typeflag)} at offset ${at}`,
          };
          return;
        }
        if (h.typeflag === 'L') longName = cString(body, 0, body.length);
        else if (h.typeflag === 'K') longLink = cString(body, 0, body.length);
        else {
          const records = parsePax(body);
          if (!records.ok) {
            yield { kind: 'error', reason: `${records.reason} in the PAX header at offset ${at}` };
            return;
          }
          // As in Go, the last 'x' header before an entry counts, and a global header
          // applies to nothing: Docker and containerd skip it, so the runtime's files do not
          // reflect it either.
          if (h.typeflag === 'x') pax = records.records;
        }
        continue;
      }

      if (h.typeflag === 'S' && h.gnuExtendedSparse) {
        // Old GNU sparse maps may continue in extra header blocks before the data.
        let more = true;
        while (more) {
          const ext = await bytes.readBlock();
          if (ext === undefined || ext.length < BLOCK) {
            yield {
              kind: 'error',
              reason: bytes.failure ?? `archive ends inside a sparse map at offset ${at}`,
            };
            return;
          }
          more = ext[504] !== 0;
        }
      }

      const attrs = pax;
      pax = {};
      // GNU long names win over PAX records when an archive has both, as in Go.
      const rawPath = longName ?? nonEmpty(attrs.path) ?? h.name;
      const rawLink = longLink ?? nonEmpty(attrs.linkpath) ?? h.linkname;
      longName = undefined;
      longLink = undefined;
      let size = h.size;
      const paxSize = nonEmpty(attrs.size);
      if (paxSize !== undefined) {
        if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
          yield { kind: 'error', reason: `bad PAX size "${paxSize.slice(0, 40)}" at offset ${at}` };
          return;
        }
        size = Number(paxSize);
      }
      let type = entryType(h.typeflag, rawPath);
      if (Object.keys(attrs).some((k) => k.startsWith('GNU.sparse.'))) type = 'sparse';
      const finalPath = nonEmpty(attrs['GNU.sparse.name']) ?? rawPath;
      // Links, directories, devices and fifos carry no data whatever their size field says.
      if (HEADER_ONLY.has(type)) size = 0;

      const entry: TarEntry = {
        type,
        path: normalisePath(finalPath),
        rawPath: finalPath,
        mode: h.mode & 0o7777,
        size,
        linkname: type === 'hardlink' ? normalisePath(rawLink) : rawLink,
      };
      const body = new EntryBody(bytes, size);
      yield { kind: 'entry', entry, content: body.chunks() };
      body.close();
      const rest = body.remaining + padding(size);
      if ((await bytes.skip(rest)) < rest) {
        yield {
          kind: 'error',
          reason: bytes.failure ?? `archive ends inside the content of "${entry.rawPath}" (${size} bytes)`,
        };
        return;
      }
    }
  } finally {
    await bytes.close();
  }
}

/** One entry's content: reads at most `size` bytes, and none once the walk has moved on. */
class EntryBody {
  remaining: number;
  private open = true;
  private readonly bytes: ByteSource;

  constructor(bytes: ByteSource, size: number) {
    this.bytes = bytes;
    this.remaining = size;
  }

  close(): void {
    this.open = false;
  }

  async *chunks(): AsyncGenerator<Uint8Array, void, undefined> {
    while (this.open && this.remaining > 0) {
      const chunk = await this.bytes.read(this.remaining);
      if (chunk === undefined) return;
      this.remaining -= chunk.length;
      yield chunk;
    }
  }
}

/** Pulls chunks from the source on demand and hands out views of them. */
class ByteSource {
  /** Bytes consumed so far, for messages. */
  position = 0;
  /** Set when the source itself failed (threw); the walk then ends with this reason. */
  failure: string | undefined;
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = EMPTY;
  private ended = false;
  private readonly block = new Uint8Array(BLOCK);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Makes the current chunk non-empty; false at the end of the source. */
  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.ended) return false;
      try {
        const next = await this.iterator.next();
        if (next.done) this.ended = true;
        else this.chunk = next.value;
      } catch (error) {
        this.ended = true;
        this.failure = `reading the layer failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    return true;
  }

  /** Up to `max` bytes (at least one), as a view; undefined at the end of the source. */
  async read(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined;
    const n = Math.min(max, this.chunk.length);
    const out = this.chunk.subarray(0, n);
    this.chunk = this.chunk.subarray(n);
    this.position += n;
    return out;
  }

  /**
   * A 512-byte block, valid until the next read: a view when the chunk holds it whole, else a
   * copy. Shorter when the source ends inside it; undefined when it ends before it.
   */
  async readBlock(): Promise<Uint8Array | undefined> {
    if (!(await this.fill())) return undefined;
    if (this.chunk.length >= BLOCK) return (await this.read(BLOCK))!;
    let got = 0;
    while (got < BLOCK) {
      const part = await this.read(BLOCK - got);
      if (part === undefined) return this.block.subarray(0, got);
      this.block.set(part, got);
      got += part.length;
    }
    return this.block;
  }

  /** Exactly `n` bytes copied out, or fewer if the source ends first. */
  async readExact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const part = await this.read(n - got);
      if (part === undefined) return out.subarray(0, got);
      out.set(part, got);
      got += part.length;
    }
    return out;
  }

  /** Discards `n` bytes; returns how many there were. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      const part = await this.read(n - skipped);
      if (part === undefined) break;
      skipped += part.length;
    }
    return skipped;
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    // Not awaited: a source blocked in next() may only settle after a close it cannot see.
    this.iterator.return?.()?.catch(() => {});
  }
}

interface Header {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
  /** Old GNU sparse header ('S') followed by extension blocks. */
  gnuExtendedSparse: boolean;
}

type HeaderResult = { ok: true; header: Header } | { ok: false; reason: string };

function parseHeader(b: Uint8Array): HeaderResult {
  const checksum = parseOctal(b, 148, 8);
  if (checksum === undefined) return { ok: false, reason: 'unreadable checksum' };
  // Historic writers summed signed bytes; both sums are accepted, as GNU and Go tar do.
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  if (checksum !== unsigned && checksum !== signed) return { ok: false, reason: 'checksum mismatch' };

  const typeflag = b[156] === 0 ? '0' : String.fromCharCode(b[156]!);
  const mode = parseNumber(b, 100, 8);
  const size = parseNumber(b, 124, 12);
  if (mode === undefined) return { ok: false, reason: 'unreadable mode' };
  if (size === undefined) return { ok: false, reason: 'unreadable or too large size' };

  let name = cString(b, 0, 100);
  // POSIX ustar ("ustar\0") splits long names into prefix/name; GNU ("ustar  \0") uses those
  // bytes for other things.
  const posix = b[257] === 0x75 && b[262] === 0 && ascii(b, 257, 5) === 'ustar';
  if (posix) {
    const prefix = cString(b, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  const gnu = ascii(b, 257, 8) === 'ustar  \0';
  return {
    ok: true,
    header: {
      name,
      mode,
      size,
      typeflag,
      linkname: cString(b, 157, 100),
      gnuExtendedSparse: gnu && typeflag === 'S' && b[482] !== 0,
    },
  };
}

const HEADER_ONLY = new Set<TarEntryType>([
  'hardlink',
  'symlink',
  'directory',
  'char-device',
  'block-device',
  'fifo',
]);

function entryType(flag: string, name: string): TarEntryType {
  switch (flag) {
    case '0':
    case '7':
      // Pre-POSIX archives mark directories only by a trailing slash.
      return name.endsWith('/') ? 'directory' : 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char-device';
    case '4':
      return 'block-device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    case 'S':
      return 'sparse';
    default:
      return 'other';
  }
}

function metaName(flag: string): string {
  if (flag === 'L') return 'GNU long name';
  if (flag === 'K') return 'GNU long link name';
  return flag === 'x' ? 'PAX header' : 'PAX global header';
}

type PaxResult = { ok: true; records: Record<string, string> } | { ok: false; reason: string };

/** PAX records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(body: Uint8Array): PaxResult {
  const records: Record<string, string> = Object.create(null);
  let at = 0;
  // A trailing NUL pad is tolerated, as some writers leave one.
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(0x20, at);
    if (space < 0 || space - at > 20) return { ok: false, reason: 'malformed record length' };
    const lengthText = ascii(body, at, space - at);
    if (!/^\d+$/.test(lengthText)) return { ok: false, reason: 'malformed record length' };
    const length = Number(lengthText);
    const end = at + length;
    if (length <= space - at + 1 || end > body.length || body[end - 1] !== 0x0a) {
      return { ok: false, reason: 'malformed record' };
    }
    const record = utf8.decode(body.subarray(space + 1, end - 1));
    const eq = record.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'record without a key' };
    records[record.slice(0, eq)] = record.slice(eq + 1);
    at = end;
  }
  return { ok: true, records };
}

/** Octal, or GNU base-256 (first byte's high bit set) for values octal cannot hold. */
function parseNumber(b: Uint8Array, offset: number, length: number): number | undefined {
  const first = b[offset]!;
  if (first & 0x80) {
    // 0xff starts a negative number, which no size or mode can be.
    if (first === 0xff) return undefined;
    let value = first & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + b[offset + i]!;
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  return parseOctal(b, offset, length);
}

function parseOctal(b: Uint8Array, offset: number, length: number): number | undefined {
  const text = ascii(b, offset, length).replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = Number.parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

function cString(b: Uint8Array, offset: number, length: number): string {
  const field = b.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return utf8.decode(nul < 0 ? field : field.subarray(0, nul));
}

function ascii(b: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
