// One pass over a layer blob (gzip, zstd or plain tar), entry by entry, within the limits that
// keep a hostile layer from costing more than bounded time and memory: the decompression caps, a
// wall-clock deadline, a budget of bytes handed to parsers. Both passes over a layer use it: the
// analysis (analyze-layer.ts) and the reading of link targets (link-targets.ts).
import { DEFAULT_DECOMPRESS_LIMITS, type DecompressLimits, decompressLayer } from './decompress.ts';
import type { EntryInfo, FileParser, ParseOutcome, WholeFileParser } from './file-parser.ts';
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
   * Most package files, links, whiteouts and opaque directories one layer may record. Default
   * 500,000: a large node_modules holds ~50,000 package.json, and deleting a tree file by file
   * leaves a whiteout per file; a layer made of nothing but whiteouts to fill memory fails.
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

/**
 * Longest path considered. Linux refuses longer ones (PATH_MAX), so a runtime cannot create
 * such a file; a PAX record could otherwise name one of a megabyte.
 */
export const MAX_PATH = 4096;
/** The prefix of whiteout names (".wh.NAME" removes NAME; ".wh..wh..opq" makes its directory opaque). */
export const WHITEOUT = '.wh.';

const STOPPED = Symbol('stopped');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Handles one entry; returns a reason when it ends the pass. */
export type EntryVisitor = (
  entry: TarEntry,
  content: AsyncIterable<Uint8Array>,
  reader: FileReader,
) => Promise<string | undefined>;

/**
 * Walks the layer's entries, handing each to `visit` with a FileReader bound to the pass's
 * budgets. Undefined when the whole layer was walked; otherwise why it was not. Never throws:
 * a bug must not take the process down with it, so it is reported as the reason.
 */
export async function runLayerPass(
  source: AsyncIterable<Uint8Array>,
  limits: Partial<LayerLimits>,
  visit: EntryVisitor,
): Promise<string | undefined> {
  const l = { ...DEFAULT_LAYER_LIMITS, ...limits };
  const stop = new Stopper(l.timeoutMs, l.signal);
  try {
    const reader = new FileReader(l, stop);
    const layer = decompressLayer(source, l);
    // The first cause wins: a stalled source shows up as a cut-short archive, a bomb as a
    // truncated tar; the reason given is the limit that ended it.
    const fail = (reason: string) => stop.reason() ?? layer.failure() ?? reason;
    for await (const item of readTar(guarded(layer.chunks, stop))) {
      if (item.kind === 'error') return fail(item.reason);
      if (item.kind === 'end') break;
      const failure = await visit(item.entry, item.content, reader);
      if (failure !== undefined) return fail(failure);
      if (stop.reason() !== undefined) return fail('stopped');
    }
    return stop.reason() ?? layer.failure();
  } catch (error) {
    return `layer scan failed: ${errorText(error)}`;
  } finally {
    stop.dispose();
  }
}

/** Ends the pass, with the reason (a budget spent, the scan stopped). */
export interface End {
  end: string;
}

/**
 * Reads files for parsers within one pass's budgets. Each result is the parser's outcome, an
 * End, or undefined when the archive ends inside the file (the tar reader reports that next).
 */
export class FileReader {
  private parserBytes = 0;
  readonly limits: Omit<LayerLimits, 'signal'>;
  private readonly stop: Stopper;

  constructor(limits: Omit<LayerLimits, 'signal'>, stop: Stopper) {
    this.limits = limits;
    this.stop = stop;
  }

  /** `content` through `parser`: held whole up to the parser's maxBytes, or streamed. */
  async parse(
    parser: FileParser,
    info: EntryInfo,
    content: AsyncIterable<Uint8Array>,
  ): Promise<ParseOutcome | End | undefined> {
    if (parser.kind === 'whole') {
      if (info.size > parser.maxBytes) return { ok: false, warning: overParserLimit(parser, info) };
      const bytes = await this.hold(info.size, content);
      if (bytes === undefined || 'end' in bytes) return bytes;
      return this.parseHeld(parser, info, bytes);
    }
    let stream: ReturnType<typeof parser.open>;
    try {
      stream = parser.open(info);
    } catch (error) {
      return failed(parser, info, error);
    }
    try {
      for await (const chunk of content) {
        const over = this.charge(chunk.length);
        if (over !== undefined) return { end: over };
        if (!stream.push(chunk)) break;
      }
      return stream.finish();
    } catch (error) {
      return failed(parser, info, error);
    }
  }

  /** A whole-file parser's outcome for content already held (see `hold`). */
  async parseHeld(parser: WholeFileParser, info: EntryInfo, bytes: Uint8Array): Promise<ParseOutcome | End> {
    if (info.size > parser.maxBytes) return { ok: false, warning: overParserLimit(parser, info) };
    try {
      const outcome = await this.stop.race(Promise.resolve(parser.parse(info, bytes)));
      return outcome === STOPPED ? { end: 'stopped' } : outcome;
    } catch (error) {
      return failed(parser, info, error);
    }
  }

  /** An OS identification file's text, if it is within maxOsFileBytes. */
  async osText(
    path: string,
    size: number,
    content: AsyncIterable<Uint8Array>,
  ): Promise<{ text: string } | { warning: string } | undefined> {
    if (size > this.limits.maxOsFileBytes) return { warning: this.overOsLimit(path, size) };
    const bytes = await readWhole(content, size);
    return bytes === undefined ? undefined : { text: utf8.decode(bytes) };
  }

  overOsLimit(path: string, size: number): string {
    return `${path}: ${size} bytes is over the ${this.limits.maxOsFileBytes}-byte limit for OS files; not read`;
  }

  decode(bytes: Uint8Array): string {
    return utf8.decode(bytes);
  }

  /** A file's whole content, charged to the parser budget. */
  async hold(size: number, content: AsyncIterable<Uint8Array>): Promise<Uint8Array | End | undefined> {
    const over = this.charge(size);
    if (over !== undefined) return { end: over };
    return readWhole(content, size);
  }

  /** Counts bytes handed to parsers; returns a reason once over the budget. */
  private charge(bytes: number): string | undefined {
    this.parserBytes += bytes;
    if (this.parserBytes <= this.limits.maxParserBytes) return undefined;
    return `parsers were handed more than ${this.limits.maxParserBytes} bytes of this layer's files (the limit)`;
  }
}

function overParserLimit(parser: WholeFileParser, info: EntryInfo): string {
  return `${info.path}: ${info.size} bytes is over the ${parser.name} parser's limit of ${parser.maxBytes}; not read`;
}

function failed(parser: FileParser, info: EntryInfo, error: unknown): ParseOutcome {
  return { ok: false, warning: `${info.path}: the ${parser.name} parser failed: ${errorText(error)}` };
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

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
