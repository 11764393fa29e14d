// Go binaries record the toolchain version and the modules they were built from in a build info
// blob ("\xff Go buildinf:", 16-byte aligned, at the start of the data segment). The walker streams
// executables through here; ELF files are scanned for the blob and abandoned at the first one
// read, so memory stays at one chunk plus the blob however large the binary.
import type { FoundPackage } from '../inventory.ts';
import type { EntryInfo, FileStream, ParseOutcome, StreamingFileParser } from '../layer/file-parser.ts';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
const FLAG_VERSION_INLINE = 0x2;
const ELF = [0x7f, 0x45, 0x4c, 0x46];
const EMPTY = new Uint8Array(0);
// A version string is a few dozen bytes ("devel go1.23-abc… +0000" is the longest kind); module
// info grows ~100 bytes per module, so 4 MiB is tens of thousands of modules.
const MAX_VERSION = 1024;
const MAX_MODINFO = 4 * 1024 * 1024;
// Module info is framed by 16 bytes on each side (so the linker can find it); they are not text.
const FRAME = 16;

export interface GoBinaryParserOptions {
  /** Executables smaller than this are not Go programs (default 4 KiB; a hello world is ~1.5 MB). */
  minSize?: number;
  /** Bytes searched for the build info before giving up (default 256 MiB). */
  maxScanBytes?: number;
}

export function createGoBinaryParser(options: GoBinaryParserOptions = {}): StreamingFileParser {
  const minSize = options.minSize ?? 4096;
  // The blob sits after code and read-only data, ~60–70% into the file: 256 MiB covers Go
  // binaries up to ~350 MB, and bounds the time spent on other large executables.
  const maxScanBytes = options.maxScanBytes ?? 256 * 1024 * 1024;
  return {
    kind: 'streaming',
    name: 'go-binary',
    wants: (entry: EntryInfo) => (entry.mode & 0o111) !== 0 && entry.size >= minSize,
    open: (entry: EntryInfo) => new BuildInfoScanner(entry, maxScanBytes),
  };
}

export const goBinaryParser: StreamingFileParser = createGoBinaryParser();

type HeaderRead =
  | { state: 'need'; bytes: number }
  | { state: 'invalid' }
  | { state: 'done'; outcome: ParseOutcome };

class BuildInfoScanner implements FileStream {
  readonly #path: string;
  readonly #size: number;
  readonly #maxScanBytes: number;
  /** File offset of the next byte pushed. */
  #offset = 0;
  /** The first bytes, until there are enough to tell ELF from anything else. */
  #head: number[] = [];
  /** The last bytes searched, so a magic split across chunks is still found. */
  #tail: Uint8Array = EMPTY;
  /** Bytes from a candidate magic on, while its header and strings arrive. */
  #candidate: { at: number; pieces: Uint8Array[]; length: number; need: number } | undefined;
  #outcome: ParseOutcome | undefined;

  constructor(entry: EntryInfo, maxScanBytes: number) {
    this.#path = entry.path;
    this.#size = entry.size;
    this.#maxScanBytes = maxScanBytes;
  }

  push(chunk: Uint8Array): boolean {
    if (this.#outcome) return false;
    const at = this.#offset;
    this.#offset += chunk.length;
    if (this.#head.length < ELF.length) {
      for (const byte of chunk.subarray(0, ELF.length - this.#head.length)) this.#head.push(byte);
      if (this.#head.some((byte, i) => byte !== ELF[i])) {
        this.#outcome = { ok: true, packages: [] };
        return false;
      }
    }
    if (this.#candidate) {
      const candidate = this.#candidate;
      candidate.pieces.push(copy(chunk));
      candidate.length += chunk.length;
      if (candidate.length >= candidate.need) this.#readCandidate();
    } else {
      this.#search(chunk, at);
    }
    // Only a file with more left to read is given up on; one that ended at the cap was searched.
    const more = this.#offset < this.#size;
    if (!this.#outcome && !this.#candidate && this.#offset >= this.#maxScanBytes && more) {
      this.#outcome = {
        ok: false,
        warning: `${this.#path}: no Go build info in the first ${this.#maxScanBytes} bytes; not searched further`,
      };
    }
    return this.#outcome === undefined;
  }

  finish(): ParseOutcome {
    if (this.#outcome) return this.#outcome;
    if (this.#candidate)
      return { ok: false, warning: `${this.#path}: Go build info cut short by the end of the file` };
    return { ok: true, packages: [] };
  }

  #search(chunk: Uint8Array, chunkAt: number): void {
    const data = this.#tail.length > 0 ? Buffer.concat([this.#tail, chunk]) : asBuffer(chunk);
    const dataAt = chunkAt - this.#tail.length;
    for (let from = 0; ; ) {
      const i = data.indexOf(MAGIC, from);
      if (i < 0) break;
      // The real blob is aligned; an unaligned match is the magic as a string in some other data.
      if ((dataAt + i) % ALIGN === 0) {
        this.#tail = EMPTY;
        const rest = data.subarray(i);
        this.#candidate = { at: dataAt + i, pieces: [copy(rest)], length: rest.length, need: HEADER_SIZE };
        if (rest.length >= HEADER_SIZE) this.#readCandidate();
        return;
      }
      from = i + 1;
    }
    const keep = Math.min(data.length, MAGIC.length - 1);
    this.#tail = copy(data.subarray(data.length - keep));
  }

  #readCandidate(): void {
    const candidate = this.#candidate!;
    const bytes = Buffer.concat(candidate.pieces, candidate.length);
    candidate.pieces = [bytes];
    const read = readHeader(bytes, this.#path);
    if (read.state === 'need') {
      candidate.need = read.bytes;
    } else if (read.state === 'done') {
      this.#candidate = undefined;
      this.#outcome = read.outcome;
    } else {
      // Not a build info header (the magic inside a string table, say): search on after it.
      this.#candidate = undefined;
      this.#search(bytes.subarray(ALIGN), candidate.at + ALIGN);
    }
  }
}

// The walker may reuse its chunk buffer, and Buffer#slice is a view: kept bytes are copied so.
function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the header at the start of `bytes`, or says how many bytes it needs to. */
function readHeader(bytes: Buffer, path: string): HeaderRead {
  if (bytes.length < HEADER_SIZE) return { state: 'need', bytes: HEADER_SIZE };
  const pointerSize = bytes[14];
  const flags = bytes[15]!;
  if (pointerSize !== 4 && pointerSize !== 8) return { state: 'invalid' };
  if ((flags & FLAG_VERSION_INLINE) === 0) {
    // Before 1.18 the header holds pointers into the data segment, which a stream has passed.
    return {
      state: 'done',
      outcome: { ok: false, warning: `${path}: Go < 1.18 binary: build info not read` },
    };
  }
  const version = readString(bytes, HEADER_SIZE, MAX_VERSION);
  if (version.state !== 'read') return version;
  // Checked before the module info, so a false match is not followed for megabytes.
  const versionText = version.value.toString('latin1');
  if (!/^[\x20-\x7e]+$/.test(versionText)) return { state: 'invalid' };
  const modinfo = readString(bytes, version.next, MAX_MODINFO);
  if (modinfo.state !== 'read') return modinfo;
  return {
    state: 'done',
    outcome: { ok: true, packages: buildInfoPackages(versionText, unframe(modinfo.value)) },
  };
}

type StringRead =
  | { state: 'read'; value: Buffer; next: number }
  | { state: 'need'; bytes: number }
  | { state: 'invalid' };

/** A uvarint length and that many bytes, at `at`. */
function readString(bytes: Buffer, at: number, max: number): StringRead {
  let length = 0;
  let p = at;
  for (let shift = 0; ; shift += 7) {
    if (p >= bytes.length) return { state: 'need', bytes: p + 1 };
    const byte = bytes[p++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
    if (shift >= 28) return { state: 'invalid' };
  }
  if (length > max) return { state: 'invalid' };
  if (p + length > bytes.length) return { state: 'need', bytes: p + length };
  return { state: 'read', value: bytes.subarray(p, p + length), next: p + length };
}

function unframe(modinfo: Buffer): string {
  // Without the frame (and its final newline before it) there is no module info, as Go reads it.
  if (modinfo.length < 2 * FRAME + 1 || modinfo[modinfo.length - FRAME - 1] !== 0x0a) return '';
  return modinfo.subarray(FRAME, modinfo.length - FRAME).toString('utf8');
}

export interface GoModule {
  path: string;
  version: string;
}

export interface GoModuleInfo {
  main?: GoModule;
  deps: GoModule[];
}

/**
 * Reads `go version -m` style module info: "mod" is the main module, "dep" a dependency, and
 * "=>" replaces the line before it. A replacement with a version decides the version; one with
 * none (a local directory, recorded as "(devel)") leaves the required version, since that is
 * what the code claims to be and dropping it would hide the module from matching.
 */
export function parseModuleInfo(text: string): GoModuleInfo {
  const info: GoModuleInfo = { deps: [] };
  let last: GoModule | undefined;
  for (const line of text.split('\n')) {
    const [word, path, version] = line.split('\t');
    if (word === 'mod' || word === 'dep') {
      last = { path: path ?? '', version: version ?? '' };
      if (word === 'mod') info.main = last;
      else info.deps.push(last);
    } else if (word === '=>') {
      if (last && version && isRealVersion(version)) last.version = version;
      last = undefined;
    }
  }
  return info;
}

function isRealVersion(version: string): boolean {
  return version !== '(devel)' && /^v\d/.test(version);
}

function buildInfoPackages(goVersion: string, modinfo: string): FoundPackage[] {
  const packages: FoundPackage[] = [];
  const stdlib = stdlibVersion(goVersion);
  if (stdlib) packages.push({ kind: 'go', name: 'stdlib', version: stdlib });
  const info = parseModuleInfo(modinfo);
  const modules = info.main && isRealVersion(info.main.version) ? [info.main, ...info.deps] : info.deps;
  for (const module of modules) {
    if (module.path && isRealVersion(module.version)) {
      packages.push({ kind: 'go', name: module.path, version: module.version.slice(1) });
    }
  }
  return packages;
}

/**
 * "go1.21.3" → "1.21.3". Releases before 1.21 named the first release "go1.20" and candidates
 * "go1.20rc2"; OSV writes those as "1.20.0" and "1.20.0-rc.2", so they are written so here.
 * Development builds ("devel go1.22-abc…") have no release version and give no stdlib package.
 */
export function stdlibVersion(goVersion: string): string | undefined {
  // Experiments follow the version after a space ("go1.21.3 X:boringcrypto").
  const tag = goVersion.split(' ')[0] ?? '';
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?$/.exec(tag);
  if (!m) return undefined;
  const [, major, minor, patch, pre, preNumber] = m;
  return `${major}.${minor}.${patch ?? '0'}${pre ? `-${pre}.${preNumber}` : ''}`;
}
