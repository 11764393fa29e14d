// One layer's inventory, from one pass over its blob: the package files its parsers recognise,
// the OS identification files, the links at paths that are read, and the whiteouts and opaque
// directories that hide what the layers below hold. Memory is bounded by one chunk plus the
// largest file a WholeFileParser accepts (its maxBytes), whatever the layer holds; time and the
// work handed to parsers are capped, and going over a cap fails the layer with the reason, never
// the process. Links are recorded, not followed: their targets may be in other layers, so they
// are followed when the image is merged (merge-layers.ts).
import type { LayerInventory, LinkFile, PackageFile } from '../inventory.ts';
import type { EntryInfo, FileParser, ParseOutcome } from './file-parser.ts';
import {
  DEFAULT_LAYER_LIMITS,
  errorText,
  type FileReader,
  type LayerLimits,
  MAX_PATH,
  runLayerPass,
  WHITEOUT,
} from './layer-pass.ts';
import { basename, dirname, joinPath, symlinkTarget } from './path.ts';
import { isOsFile, linkReaders, parserFor, type Reader } from './readers.ts';
import type { TarEntry } from './tar-reader.ts';

export type LayerScan = { ok: true; inventory: LayerInventory } | { ok: false; reason: string };

/** Warnings kept per layer; a hostile layer could otherwise make millions. */
const MAX_WARNINGS = 1000;
/** Total length of the paths one layer records, so that their count times their length stays small. */
const MAX_RECORDED_PATH_CHARS = 64 * 1024 * 1024;
const OPAQUE = '.wh..wh..opq';

/**
 * Reads one layer blob (gzip, zstd or plain tar) and returns what it contributes. Each regular
 * file goes to the first parser whose `wants()` accepts it; links are recorded, never followed.
 */
export async function analyzeLayer(
  source: AsyncIterable<Uint8Array>,
  parsers: readonly FileParser[],
  limits: Partial<LayerLimits> = {},
): Promise<LayerScan> {
  const walk = new LayerWalk(parsers, limits.maxRecordedPaths ?? DEFAULT_LAYER_LIMITS.maxRecordedPaths);
  const failure = await runLayerPass(source, limits, (entry, content, reader) =>
    walk.entry(entry, content, reader),
  );
  return failure === undefined ? { ok: true, inventory: walk.inventory() } : { ok: false, reason: failure };
}

class LayerWalk {
  private readonly files = new Map<string, PackageFile>();
  private readonly links = new Map<string, LinkFile>();
  private readonly osFiles: Record<string, string> = {};
  private readonly whiteouts = new Set<string>();
  private readonly opaqueDirs = new Set<string>();
  private readonly warnings: string[] = [];
  private droppedWarnings = 0;
  private recordedPaths = 0;
  private recordedChars = 0;
  private readonly parsers: readonly FileParser[];
  private readonly readerOf: (path: string) => Reader | undefined;
  private readonly maxRecordedPaths: number;

  constructor(parsers: readonly FileParser[], maxRecordedPaths: number) {
    this.parsers = parsers;
    this.readerOf = linkReaders(parsers);
    this.maxRecordedPaths = maxRecordedPaths;
  }

  inventory(): LayerInventory {
    if (this.droppedWarnings > 0) this.warnings.push(`${this.droppedWarnings} more warnings not shown`);
    return {
      files: [...this.files.values()],
      links: [...this.links.values()],
      osFiles: this.osFiles,
      whiteouts: [...this.whiteouts],
      opaqueDirs: [...this.opaqueDirs],
      warnings: this.warnings,
    };
  }

  /** Handles one entry; returns a reason when it ends the scan. */
  async entry(
    entry: TarEntry,
    content: AsyncIterable<Uint8Array>,
    reader: FileReader,
  ): Promise<string | undefined> {
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
    this.files.delete(path);
    this.links.delete(path);
    delete this.osFiles[path];
    if (entry.type === 'file') return this.file(entry, content, reader);
    if (entry.type === 'hardlink' || entry.type === 'symlink') return this.link(entry);
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
    if (this.recordedPaths > this.maxRecordedPaths) {
      return `layer records more than ${this.maxRecordedPaths} package files, links, whiteouts and opaque directories (the limit)`;
    }
    if (this.recordedChars > MAX_RECORDED_PATH_CHARS) {
      return `the paths this layer records are longer than ${MAX_RECORDED_PATH_CHARS} characters in all (the limit)`;
    }
    return undefined;
  }

  private async file(
    entry: TarEntry,
    content: AsyncIterable<Uint8Array>,
    reader: FileReader,
  ): Promise<string | undefined> {
    const { path, size } = entry;
    if (isOsFile(path)) {
      const read = await reader.osText(path, size, content);
      if (read === undefined) return undefined;
      if ('text' in read) this.osFiles[path] = read.text;
      else this.warn(read.warning);
      return undefined;
    }
    const info: EntryInfo = { path, mode: entry.mode, size };
    const parser = parserFor(this.parsers, info, (p, error) =>
      this.warn(`${path}: the ${p.name} parser failed: ${errorText(error)}`),
    );
    if (parser === undefined) return undefined;
    const outcome = await reader.parse(parser, info, content);
    // Cut short: the tar reader reports it next.
    if (outcome === undefined) return undefined;
    if ('end' in outcome) return outcome.end;
    return this.record(path, outcome);
  }

  /** A link at a path that is read: kept with its target, for the merge to follow. */
  private link(entry: TarEntry): string | undefined {
    const { path } = entry;
    if (this.readerOf(path) === undefined) return undefined;
    // Hardlink names come normalised from the tar reader ("" is the root: not a file).
    const target = entry.type === 'hardlink' ? entry.linkname : symlinkTarget(path, entry.linkname);
    if (target === undefined || target === '') {
      this.warn(`${path}: a ${entry.type} to nothing; not read`);
      return undefined;
    }
    this.links.set(path, { path, type: entry.type === 'hardlink' ? 'hardlink' : 'symlink', target });
    return this.count(path);
  }

  /** Keeps a parser's outcome; returns a reason once the layer records too much. */
  private record(path: string, outcome: ParseOutcome): string | undefined {
    if (!outcome.ok) {
      this.warn(outcome.warning);
      return undefined;
    }
    for (const warning of outcome.warnings ?? []) this.warn(warning);
    this.files.set(path, { path, packages: outcome.packages });
    return this.count(path);
  }

  private warn(warning: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(warning);
    else this.droppedWarnings++;
  }
}
