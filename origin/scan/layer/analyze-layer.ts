// One layer's inventory, from one pass over its blob: the package files its parsers recognise,
// the OS identification files, and the whiteouts and opaque directories that hide what the
// layers below hold. Memory is bounded by one chunk plus the largest file a WholeFileParser
// accepts (its maxBytes), whatever the layer holds; time and the work handed to parsers are
// capped, and going over a cap fails the layer with the reason, never the process.
import type { LayerInventory, PackageFile } from '../inventory.ts';
import { DEFAULT_DECOMPRESS_LIMITS, type DecompressLimits, decompressLayer } from './decompress.ts';
import type { EntryInfo, FileParser, ParseOutcome, WholeFileParser } from './file-parser.ts';
import { basename, dirname, joinPath } from './path.ts';
import { readTar, type TarEntry } from './tar-reader.ts';

export interface LayerLimits extends DecompressLimits {
  /**
   * Wall-clock time for the whole layer. Default 5 minutes: inflating a layer at the 32 GiB cap
   * runs at 200+ MB/s, so only a stalled source or a bomb the other caps missed gets near it.
   */
  timeoutMs: number;
  /** Ends the scan early (shutdown, a job cancelled). */
  signal?: AbortSignal;
  /**
   * Bytes of file content handed to parsers across the layer, whole or streamed. Default 4 GiB:
   * a layer of several hundred jars and Go binaries stays under it; a layer built to make the
   * parsers do unbounded work does not. It bounds work: memory is bounded per file by maxBytes.
   */
  maxParserBytes: number;
  /**
   * Most package files, whiteouts and opaque directories one layer may record. Default 500,000:
   * a large node_modules holds ~50,000 package.json, and deleting a tree file by file leaves a
   * whiteout per file; a layer made of nothing but whiteouts to fill memory fails.
   */
  maxRecordedPaths: number;
  /** Largest OS identification file kept (os-release is under 1 KiB). Default 64 KiB. */
  maxOsFileBytes: number;
}

export const DEFAULT_LAYER_LIMITS: Omit<LayerLimits, 'signal'> = {
  ...DEFAULT_DECOMPRESS_LIMITS,
  timeoutMs: 5 * 60_000,
  maxParserBytes: 4 * 1024 ** 3,
  maxRecordedPaths: 500_000,
  maxOsFileBytes: 64 * 1024,
};

export type LayerScan = { ok: true; inventory: LayerInventory } | { ok: false; reason: string };

/** The files that say which OS an image is, in the order they are trusted (see merge-layers.ts). */
export const OS_FILES: readonly string[] = [
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
];
const OS_FILE_SET = new Set(OS_FILES);

/** Warnings kept per layer; a hostile layer could otherwise make millions. */
const MAX_WARNINGS = 1000;
/**
 * Longest path considered. Linux refuses longer ones (PATH_MAX), so a runtime cannot create
 * such a file; a PAX record could otherwise name one of a megabyte.
 */
const MAX_PATH = 4096;
/** Total length of the paths one layer records, so that their count times their length stays small. */
const MAX_RECORDED_PATH_CHARS = 64 * 1024 * 1024;
const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';
const STOPPED = Symbol('stopped');

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Reads one layer blob (gzip, zstd or plain tar) and returns what it contributes. Each regular
 * file goes to the first parser whose `wants()` accepts it; symlinks are never followed.
 */
export async function analyzeLayer(
  source: AsyncIterable<Uint8Array>,
  parsers: readonly FileParser[],
  limits: Partial<LayerLimits> = {},
): Promise<LayerScan> {
  const l = { ...DEFAULT_LAYER_LIMITS, ...limits };
  const stop = new Stopper(l.timeoutMs, l.signal);
  try {
    return await new LayerWalk(parsers, l, stop).run(source);
  } catch (error) {
    // A bug must not take the process down with it; the layer is reported unscanned.
    return {
      ok: false,
      reason: `layer scan failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    stop.dispose();
  }
}

/** What a parsed file gave, kept so that a later hardlink to it needs no second read. */
interface Parsed {
  parser: string;
  size: number;
  packages: PackageFile['packages'];
}

class LayerWalk {
  private readonly files = new Map<string, PackageFile>();
  private readonly parsed = new Map<string, Parsed>();
  private readonly osFiles: Record<string, string> = {};
  private readonly whiteouts = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private readonly warnings: string[] = [];
  private droppedWarnings = 0;
  private parserBytes = 0;
  private recordedPaths = 0;
  private recordedChars = 0;
  private readonly parsers: readonly FileParser[];
  private readonly limits: Omit<LayerLimits, 'signal'>;
  private readonly stop: Stopper;

  constructor(parsers: readonly FileParser[], limits: Omit<LayerLimits, 'signal'>, stop: Stopper) {
    this.parsers = parsers;
    this.limits = limits;
    this.stop = stop;
  }

  async run(source: AsyncIterable<Uint8Array>): Promise<LayerScan> {
    const layer = decompressLayer(source, this.limits);
    // The first cause wins: a stalled source shows up as a cut-short archive, a bomb as a
    // truncated tar; the reason given is the limit that ended it.
    const fail = (reason: string): LayerScan => ({
      ok: false,
      reason: this.stop.reason() ?? layer.failure() ?? reason,
    });
    for await (const item of readTar(guarded(layer.chunks, this.stop))) {
      if (item.kind === 'error') return fail(item.reason);
      if (item.kind === 'end') break;
      const failure = await this.entry(item.entry, item.content);
      if (failure !== undefined) return fail(failure);
      if (this.stop.reason() !== undefined) return fail('stopped');
    }
    const early = this.stop.reason() ?? layer.failure();
    if (early !== undefined) return { ok: false, reason: early };
    if (this.droppedWarnings > 0) this.warnings.push(`${this.droppedWarnings} more warnings not shown`);
    return {
      ok: true,
      inventory: {
        files: [...this.files.values()],
        osFiles: this.osFiles,
        whiteouts: [...this.whiteouts],
        opaqueDirs: [...this.opaqueDirs],
        warnings: this.warnings,
      },
    };
  }

  /** Handles one entry; returns a reason when it ends the scan. */
  private async entry(entry: TarEntry, content: AsyncIterable<Uint8Array>): Promise<string | undefined> {
    const { path } = entry;
    if (path === '') return undefined;
    if (path.length > MAX_PATH) {
      this.warn(
        `a path of ${path.length} characters ("${path.slice(0, 60)}…") is longer than Linux allows; ignored`,
      );
      return undefined;
    }
    const name = basename(path);
    if (name.startsWith(WHITEOUT)) return this.whiteout(path, name);
    // A later entry at the same path replaces an earlier one of this layer, whatever it is.
    if (this.files.delete(path)) this.parsed.delete(path);
    delete this.osFiles[path];
    if (entry.type === 'file') return this.file(entry, content);
    if (entry.type === 'hardlink') return this.hardlink(entry);
    return undefined;
  }

  private whiteout(path: string, name: string): string | undefined {
    const dir = dirname(path);
    if (name === OPAQUE) {
      if (this.opaqueDirs.has(dir)) return undefined;
      this.opaqueDirs.add(dir);
      return this.count(dir);
    }
    // Other ".wh..wh." names are aufs bookkeeping, not whiteouts.
    if (name.startsWith(`${WHITEOUT}${WHITEOUT}`)) return undefined;
    const target = name.slice(WHITEOUT.length);
    if (target === '' || target === '.' || target === '..') return undefined;
    const removed = joinPath(dir, target);
    if (this.whiteouts.has(removed)) return undefined;
    this.whiteouts.add(removed);
    return this.count(removed);
  }

  /** Counts a path the inventory records; returns a reason once over the limits. */
  private count(path: string): string | undefined {
    this.recordedPaths++;
    this.recordedChars += path.length;
    if (this.recordedPaths > this.limits.maxRecordedPaths) {
      return `layer records more than ${this.limits.maxRecordedPaths} package files, whiteouts and opaque directories (the limit)`;
    }
    if (this.recordedChars > MAX_RECORDED_PATH_CHARS) {
      return `the paths this layer records are longer than ${MAX_RECORDED_PATH_CHARS} characters in all (the limit)`;
    }
    return undefined;
  }

  private async file(entry: TarEntry, content: AsyncIterable<Uint8Array>): Promise<string | undefined> {
    const { path, size } = entry;
    if (OS_FILE_SET.has(path)) {
      if (size > this.limits.maxOsFileBytes) {
        this.warn(
          `${path}: ${size} bytes is over the ${this.limits.maxOsFileBytes}-byte limit for OS files; not read`,
        );
        return undefined;
      }
      const bytes = await readWhole(content, size);
      if (bytes !== undefined) this.osFiles[path] = utf8.decode(bytes);
      return undefined;
    }
    const info: EntryInfo = { path, mode: entry.mode, size };
    const parser = this.parserFor(info);
    if (parser === undefined) return undefined;
    if (parser.kind === 'whole') return this.whole(parser, info, content);

    let stream: ReturnType<typeof parser.open>;
    try {
      stream = parser.open(info);
    } catch (error) {
      this.warn(`${path}: the ${parser.name} parser failed: ${errorText(error)}`);
      return undefined;
    }
    let outcome: ParseOutcome;
    try {
      for await (const chunk of content) {
        const over = this.charge(chunk.length);
        if (over !== undefined) return over;
        if (!stream.push(chunk)) break;
      }
      outcome = stream.finish();
    } catch (error) {
      outcome = { ok: false, warning: `the ${parser.name} parser failed: ${errorText(error)}` };
    }
    return this.record(path, parser.name, size, outcome);
  }

  private async whole(
    parser: WholeFileParser,
    info: EntryInfo,
    content: AsyncIterable<Uint8Array>,
  ): Promise<string | undefined> {
    if (info.size > parser.maxBytes) {
      this.warn(
        `${info.path}: ${info.size} bytes is over the ${parser.name} parser's limit of ${parser.maxBytes}; not read`,
      );
      return undefined;
    }
    const over = this.charge(info.size);
    if (over !== undefined) return over;
    const bytes = await readWhole(content, info.size);
    // Cut short: the tar reader reports it next.
    if (bytes === undefined) return undefined;
    let outcome: ParseOutcome | typeof STOPPED;
    try {
      outcome = await this.stop.race(Promise.resolve(parser.parse(info, bytes)));
    } catch (error) {
      outcome = { ok: false, warning: `the ${parser.name} parser failed: ${errorText(error)}` };
    }
    if (outcome === STOPPED) return 'stopped';
    return this.record(info.path, parser.name, info.size, outcome);
  }

  /**
   * A hardlink names an earlier entry of this layer. Its content was not kept, but what the same
   * parser made of it was, and the content is the same; anything else is reported, not guessed.
   */
  private hardlink(entry: TarEntry): string | undefined {
    const { path, linkname: target } = entry;
    if (OS_FILE_SET.has(path)) {
      const text = this.osFiles[target];
      if (text !== undefined) this.osFiles[path] = text;
      else this.warn(`${path}: hardlink to ${target}, which was not kept; not read`);
      return undefined;
    }
    const earlier = this.parsed.get(target);
    const info: EntryInfo = { path, mode: entry.mode, size: earlier?.size ?? 0 };
    const parser = this.parserFor(info);
    if (parser === undefined) return undefined;
    if (earlier === undefined || earlier.parser !== parser.name) {
      this.warn(`${path}: hardlink to ${target}, whose content was not kept; not read`);
      return undefined;
    }
    return this.record(path, parser.name, earlier.size, { ok: true, packages: earlier.packages });
  }

  private parserFor(info: EntryInfo): FileParser | undefined {
    for (const parser of this.parsers) {
      try {
        if (parser.wants(info)) return parser;
      } catch (error) {
        this.warn(`${info.path}: the ${parser.name} parser failed: ${errorText(error)}`);
      }
    }
    return undefined;
  }

  /** Counts bytes handed to parsers; returns a reason once over the budget. */
  private charge(bytes: number): string | undefined {
    this.parserBytes += bytes;
    if (this.parserBytes <= this.limits.maxParserBytes) return undefined;
    return `parsers were handed more than ${this.limits.maxParserBytes} bytes of this layer's files (the limit)`;
  }

  /** Keeps a parser's outcome; returns a reason once the layer records too much. */
  private record(path: string, parser: string, size: number, outcome: ParseOutcome): string | undefined {
    if (!outcome.ok) {
      this.warn(`${path}: ${outcome.warning}`);
      return undefined;
    }
    this.files.set(path, { path, packages: outcome.packages });
    this.parsed.set(path, { parser, size, packages: outcome.packages });
    return this.count(path);
  }

  private warn(warning: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(warning);
    else this.droppedWarnings++;
  }
}

/** A file's whole content in one buffer; undefined if the archive ends inside it. */
async function readWhole(content: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array | undefined> {
  const out = new Uint8Array(size);
  let got = 0;
  for await (const chunk of content) {
    out.set(chunk, got);
    got += chunk.length;
  }
  return got === size ? out : undefined;
}

/** The wall-clock deadline and the caller's signal, as one reason to stop. */
class Stopper {
  private readonly controller = new AbortController();
  private readonly deadline: number;
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = () => this.controller.abort();

  constructor(timeoutMs: number, signal: AbortSignal | undefined) {
    this.timeoutMs = timeoutMs;
    this.deadline = Date.now() + timeoutMs;
    this.timer = setTimeout(this.onAbort, timeoutMs);
    this.signal = signal;
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Checked by clock as well as by event: a source that never yields to timers still stops. */
  reason(): string | undefined {
    if (this.signal?.aborted) return `layer scan aborted: ${errorText(this.signal.reason)}`;
    if (this.controller.signal.aborted || Date.now() > this.deadline) {
      return `layer scan took longer than ${this.timeoutMs} ms (the limit); stopped`;
    }
    return undefined;
  }

  /**
   * `promise`, or STOPPED if the scan is stopped first. A listener added and removed per call,
   * rather than Promise.race against one long-lived promise, which would keep every result alive.
   */
  race<T>(promise: Promise<T>): Promise<T | typeof STOPPED> {
    const signal = this.controller.signal;
    if (this.reason() !== undefined) return Promise.resolve(STOPPED);
    return new Promise((resolve, reject) => {
      const stopped = () => resolve(STOPPED);
      signal.addEventListener('abort', stopped, { once: true });
      promise.then(
        (value) => {
          signal.removeEventListener('abort', stopped);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', stopped);
          reject(error);
        },
      );
    });
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** The layer's bytes until the scan is stopped; then they end, and the stop reason is reported. */
async function* guarded(chunks: AsyncIterable<Uint8Array>, stop: Stopper): AsyncGenerator<Uint8Array, void> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    while (stop.reason() === undefined) {
      const next = await stop.race(iterator.next());
      if (next === STOPPED || next.done) return;
      yield next.value;
    }
  } finally {
    iterator.return?.()?.catch(() => {});
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
