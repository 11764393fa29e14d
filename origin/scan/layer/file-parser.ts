// The contract between the layer walker and the parsers of package files. The walker streams a
// layer's tar once and hands each regular file to the first parser that wants it, either whole
// (bounded by maxBytes) or chunk by chunk (for large files such as Go binaries).
import type { FoundPackage } from '../inventory.ts';

/** A tar entry's header, as a parser sees it before deciding. */
export interface EntryInfo {
  /** Normalised path (no leading "/" or "./", no ".." segments, forward slashes). */
  path: string;
  /** Unix permission bits (e.g. 0o755). */
  mode: number;
  size: number;
}

/**
 * A parser's outcome: the packages a file names, with what it could not read of it (a nested jar
 * over budget, rpm headers that are malformed), or why the file could not be read at all. Each
 * warning names the file (the entry's path) as the user will read it.
 */
export type ParseOutcome =
  | { ok: true; packages: FoundPackage[]; warnings?: string[] }
  | { ok: false; warning: string };

/** Reads files small enough to hold: package databases, package.json, METADATA, jars. */
export interface WholeFileParser {
  readonly kind: 'whole';
  readonly name: string;
  /** Largest file read; a larger one is skipped with a warning naming it. */
  readonly maxBytes: number;
  wants(entry: EntryInfo): boolean;
  parse(entry: EntryInfo, content: Uint8Array): ParseOutcome | Promise<ParseOutcome>;
}

/** A file fed in chunks, for files that may be large (Go binaries). */
export interface FileStream {
  /** Returns false once the parser needs no more of this file (the rest is skipped, not buffered). */
  push(chunk: Uint8Array): boolean;
  finish(): ParseOutcome;
}

export interface StreamingFileParser {
  readonly kind: 'streaming';
  readonly name: string;
  wants(entry: EntryInfo): boolean;
  open(entry: EntryInfo): FileStream;
}

export type FileParser = WholeFileParser | StreamingFileParser;
