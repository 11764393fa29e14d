// A second pass over a layer, for the paths the links of an image reach that the layer's analysis
// did not read (a file no parser wants, such as var/lib/dpkg/status pointing at opt/db/status):
// what the layer holds there, read as a file at the link's own path would be. The merge asks for
// these (merge-layers.ts); the answers are facts about the layer's content, so they are stored
// with its inventory and shared like the rest of it.
import type { LinkFile, LinkTargetRead, PathEntry } from '../inventory.ts';
import type { EntryInfo, FileParser, ParseOutcome } from './file-parser.ts';
import {
  DEFAULT_LAYER_LIMITS,
  type End,
  type FileReader,
  type LayerLimits,
  MAX_PATH,
  runLayerPass,
  WHITEOUT,
} from './layer-pass.ts';
import { basename, dirname, joinPath, symlinkTarget } from './path.ts';
import { linkReaders, type Reader } from './readers.ts';
import type { TarEntry } from './tar-reader.ts';

/** A path to read, for the link at `as`. */
export interface TargetWanted {
  path: string;
  as: string;
}

/**
 * Links of a layer kept with its inventory. A distribution's base layer has a few thousand; past
 * this, chains through the links not kept take another round of reading (see mergeImage).
 */
const MAX_LINKS = 50_000;

export type TargetScan =
  | { ok: true; reads: LinkTargetRead[]; links: LinkFile[] }
  | { ok: false; reason: string };

/**
 * What the layer holds at each wanted path: nothing, a link, something that is not a file, or the
 * file read by the reader of `as`. A symlinked directory on the way to a wanted path is reported
 * as a symlink to where the path then leads, so that the merge follows it too. And every link of
 * the layer (up to MAX_LINKS): a chain of links through paths no parser reads is then
 * followed without reading the layer once per link.
 */
export async function readLinkTargets(
  source: AsyncIterable<Uint8Array>,
  parsers: readonly FileParser[],
  wanted: readonly TargetWanted[],
  limits: Partial<LayerLimits> = {},
): Promise<TargetScan> {
  const maxLinks = Math.min(MAX_LINKS, limits.maxRecordedPaths ?? DEFAULT_LAYER_LIMITS.maxRecordedPaths);
  const walk = new TargetWalk(parsers, wanted, maxLinks);
  const failure = await runLayerPass(source, limits, (entry, content, reader) =>
    walk.entry(entry, content, reader),
  );
  return failure === undefined
    ? { ok: true, reads: walk.reads(), links: walk.links() }
    : { ok: false, reason: failure };
}

class TargetWalk {
  private readonly readerOf: (path: string) => Reader | undefined;
  /** Wanted path → the links it is read for → what the layer holds there (so far). */
  private readonly found = new Map<string, Map<string, PathEntry>>();
  /** Each directory above a wanted path → the wanted paths below it. */
  private readonly above = new Map<string, string[]>();
  /** Wanted paths reached through a symlinked directory, by that directory. */
  private readonly redirectedBy = new Map<string, string>();
  private readonly allLinks = new Map<string, LinkFile>();
  private readonly maxLinks: number;

  constructor(parsers: readonly FileParser[], wanted: readonly TargetWanted[], maxLinks: number) {
    this.readerOf = linkReaders(parsers);
    this.maxLinks = maxLinks;
    for (const { path, as } of wanted) {
      let links = this.found.get(path);
      if (links === undefined) {
        links = new Map();
        this.found.set(path, links);
        for (let dir = dirname(path); dir !== ''; dir = dirname(dir)) {
          const below = this.above.get(dir);
          if (below) below.push(path);
          else this.above.set(dir, [path]);
        }
      }
      links.set(as, { type: 'none' });
    }
  }

  links(): LinkFile[] {
    return [...this.allLinks.values()];
  }

  reads(): LinkTargetRead[] {
    return [...this.found].flatMap(([path, links]) => [...links].map(([as, entry]) => ({ path, as, entry })));
  }

  async entry(
    entry: TarEntry,
    content: AsyncIterable<Uint8Array>,
    reader: FileReader,
  ): Promise<string | undefined> {
    const { path } = entry;
    if (path === '' || path.length > MAX_PATH || basename(path).startsWith(WHITEOUT)) return undefined;
    const linkTarget =
      entry.type === 'hardlink'
        ? entry.linkname
        : entry.type === 'symlink'
          ? symlinkTarget(path, entry.linkname)
          : undefined;
    if (linkTarget !== undefined && linkTarget !== '') {
      if (this.allLinks.has(path) || this.allLinks.size < this.maxLinks) {
        this.allLinks.set(path, {
          path,
          type: entry.type === 'hardlink' ? 'hardlink' : 'symlink',
          target: linkTarget,
        });
      }
    } else this.allLinks.delete(path);
    // A directory above wanted paths: a symlink there leads them elsewhere; anything else at
    // that path (later in the archive) ends what an earlier symlink there said.
    for (const below of this.above.get(path) ?? []) {
      const target = entry.type === 'symlink' ? linkTarget : undefined;
      if (target !== undefined) {
        this.setAll(below, {
          type: 'link',
          link: 'symlink',
          target: joinPath(target, below.slice(path.length + 1)),
        });
        this.redirectedBy.set(below, path);
      } else if (this.redirectedBy.get(below) === path) {
        this.setAll(below, { type: 'none' });
        this.redirectedBy.delete(below);
      }
    }
    const links = this.found.get(path);
    if (links === undefined) return undefined;
    this.redirectedBy.delete(path);
    switch (entry.type) {
      case 'file':
        return this.file(entry, links, content, reader);
      case 'hardlink':
      case 'symlink':
        this.setAll(
          path,
          linkTarget === undefined || linkTarget === ''
            ? { type: 'other' }
            : { type: 'link', link: entry.type, target: linkTarget },
        );
        return undefined;
      default:
        this.setAll(path, { type: 'other' });
        return undefined;
    }
  }

  private setAll(path: string, entry: PathEntry): void {
    const links = this.found.get(path);
    if (links) for (const as of links.keys()) links.set(as, entry);
  }

  /**
   * The file read for each link reaching it, as a file at the link's path. One link: read as the
   * analysis would read it (streamed if its parser streams). Several: held once, within the
   * largest of their limits, and read for each.
   */
  private async file(
    entry: TarEntry,
    links: Map<string, PathEntry>,
    content: AsyncIterable<Uint8Array>,
    reader: FileReader,
  ): Promise<string | undefined> {
    const info = (as: string): EntryInfo => ({ path: as, mode: entry.mode, size: entry.size });
    const readers = [...links.keys()].map((as) => ({ as, reader: this.readerOf(as) }));
    const [only] = readers;
    if (readers.length === 1 && only !== undefined) {
      const read =
        only.reader === 'os'
          ? await reader.osText(only.as, entry.size, content)
          : only.reader === undefined
            ? { warning: `${only.as}: nothing reads it` }
            : await reader.parse(only.reader, info(only.as), content);
      if (read === undefined) return undefined;
      if ('end' in read) return read.end;
      links.set(only.as, toEntry(read));
      return undefined;
    }
    const cap = Math.max(
      ...readers.map(({ reader: r }) =>
        r === 'os' ? reader.limits.maxOsFileBytes : r?.kind === 'whole' ? r.maxBytes : 0,
      ),
    );
    if (entry.size > cap) {
      for (const { as } of readers) {
        links.set(as, {
          type: 'unreadable',
          warning: `${as}: ${entry.size} bytes is over the limit for what it is read as; not read`,
        });
      }
      return undefined;
    }
    const bytes = await reader.hold(entry.size, content);
    if (bytes === undefined) return undefined;
    if ('end' in bytes) return bytes.end;
    for (const { as, reader: r } of readers) {
      let read: ParseOutcome | End | { text: string } | { warning: string };
      if (r === 'os') {
        read =
          entry.size > reader.limits.maxOsFileBytes
            ? { warning: reader.overOsLimit(as, entry.size) }
            : { text: reader.decode(bytes) };
      } else if (r?.kind === 'whole') {
        read = await reader.parseHeld(r, info(as), bytes);
      } else {
        // A streaming parser is offered files too large to hold; this one was held for another.
        read = { warning: `${as}: not read (it is read whole only for one link at a time)` };
      }
      if ('end' in read) return read.end;
      links.set(as, toEntry(read));
    }
    return undefined;
  }
}

function toEntry(read: ParseOutcome | { text: string } | { warning: string }): PathEntry {
  if ('text' in read) return { type: 'text', text: read.text };
  if ('ok' in read) {
    if (!read.ok) return { type: 'unreadable', warning: read.warning };
    return read.warnings
      ? { type: 'packages', packages: read.packages, warnings: read.warnings }
      : { type: 'packages', packages: read.packages };
  }
  return { type: 'unreadable', warning: read.warning };
}
