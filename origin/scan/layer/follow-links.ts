// Following a link of an image to the file it names, across the image's layers (see "Scanning"
// in docs/architecture.md). Each layer's inventory was made on its own, so the answer is put
// together here from what the layers know:
// - A symlink is resolved in the image as it finally stands: what a process opening the path
//   in a container gets. So the top-most layer that has something at the target decides.
// - A hardlink shares the content its target had when the link was made: the target as it stood
//   in the link's own layer or below it. A later layer replacing or deleting the target does
//   not change the link's content.
// - A layer knows what it holds at the paths it read (a parser's paths, the OS files: there,
//   absence is knowledge too) and what it was read again for (`linkTargets`). Anything else is
//   unknown: the follower says which layers to read again, and is asked again once they are.
// - Chains are followed up to MAX_HOPS links; a link met twice is a loop. Both end with a warning.
import type { LayerInventory, LinkFile, PackageFile, PathEntry } from '../inventory.ts';
import { dirname } from './path.ts';
import type { Reader } from './readers.ts';

/** Links followed from one path before giving up: Linux's own limit (MAXSYMLINKS). */
export const MAX_HOPS = 40;

export interface LayerInput {
  digest: string;
  inventory: LayerInventory;
}

/** A layer to read again at `path`, for the link at `as`. */
export interface TargetRequest {
  layer: string;
  path: string;
  as: string;
}

export type Followed =
  /** The file the link leads to, in `layer` (an index into the layers), as its reader read it. */
  | {
      kind: 'content';
      layer: number;
      entry: Extract<PathEntry, { type: 'packages' | 'text' | 'unreadable' }>;
    }
  /** The link leads to a file the image lists at its own path: it adds nothing. */
  | { kind: 'counted' }
  /** Layers must be read again before the link can be followed. */
  | { kind: 'unknown'; reads: TargetRequest[] }
  | { kind: 'broken'; warning: string };

type Lookup =
  | { kind: 'found'; layer: number; entry: Exclude<PathEntry, { type: 'none' }>; analysed: boolean }
  | { kind: 'absent' }
  | { kind: 'unknown'; reads: TargetRequest[] };

interface LayerIndex {
  files: Map<string, PackageFile>;
  links: Map<string, LinkFile>;
  /** By `${path}\0${as}`. */
  reads: Map<string, PathEntry>;
  whiteouts: Set<string>;
  opaque: Set<string>;
}

export class LinkFollower {
  private readonly layers: readonly LayerInput[];
  private readonly readerOf: (path: string) => Reader | undefined;
  private readonly listed: (path: string, layer: number) => boolean;
  private readonly indexes: (LayerIndex | undefined)[] = [];

  /**
   * `listed(path, layer)`: whether the image lists the file `layer` holds at `path` at that path
   * (it stands in the final image and is read there).
   */
  constructor(
    layers: readonly LayerInput[],
    readerOf: (path: string) => Reader | undefined,
    listed: (path: string, layer: number) => boolean,
  ) {
    this.layers = layers;
    this.readerOf = readerOf;
    this.listed = listed;
  }

  /** Follows `link`, found in layer `layer`, to what it names. */
  follow(link: LinkFile, layer: number): Followed {
    const reader = this.readerOf(link.path);
    if (reader === undefined) return { kind: 'broken', warning: `${link.path}: nothing reads it` };
    const chain = [link.path];
    const seen = new Set<string>();
    let current: { type: LinkFile['type']; target: string; layer: number } = { ...link, layer };
    for (;;) {
      chain.push(current.target);
      const broken = (problem: string): Followed => ({
        kind: 'broken',
        warning: `${chain.join(' → ')}: ${problem}; not read`,
      });
      const key = `${current.type}\0${current.layer}\0${current.target}`;
      if (seen.has(key)) return broken('the links form a loop');
      if (seen.size >= MAX_HOPS) return broken(`more than ${MAX_HOPS} links`);
      seen.add(key);
      const from = current.type === 'hardlink' ? current.layer : this.layers.length - 1;
      const found = this.lookup(current.target, link.path, reader, from);
      if (found.kind === 'unknown') return found;
      if (found.kind === 'absent') {
        return broken(
          current.type === 'hardlink' ? 'no such file in its layer or below' : 'no such file in the image',
        );
      }
      const { entry } = found;
      if (entry.type === 'link') {
        current = { type: entry.link, target: entry.target, layer: found.layer };
        continue;
      }
      if (entry.type === 'other') return broken('not a regular file');
      // Read at its own path already (same reader, same layer, standing): once is enough.
      if (found.analysed && reader !== 'os' && this.listed(current.target, found.layer)) {
        return { kind: 'counted' };
      }
      return { kind: 'content', layer: found.layer, entry };
    }
  }

  /** What stands at `path` looking down from layer `from`: the first layer that has something there. */
  private lookup(path: string, as: string, reader: Reader, from: number): Lookup {
    const reads: TargetRequest[] = [];
    for (let i = from; i >= 0; i--) {
      const known = this.entryAt(i, path, as, reader);
      if (known === undefined) {
        reads.push({ layer: (this.layers[i] as LayerInput).digest, path, as });
      } else if (known.entry.type !== 'none') {
        // A layer not read yet above this one may hide it or replace it.
        if (reads.length > 0) return { kind: 'unknown', reads };
        return { kind: 'found', layer: i, entry: known.entry, analysed: known.analysed };
      }
      // Whiteouts and opaque directories hide only what lower layers hold.
      if (this.hides(i, path)) break;
    }
    return reads.length > 0 ? { kind: 'unknown', reads } : { kind: 'absent' };
  }

  /** What layer `i` holds at `path`, as the link at `as` reads it; undefined when the layer does not know. */
  private entryAt(
    i: number,
    path: string,
    as: string,
    reader: Reader,
  ): { entry: PathEntry; analysed: boolean } | undefined {
    const index = this.index(i);
    const read = index.reads.get(`${path}\0${as}`);
    if (read !== undefined) return { entry: read, analysed: false };
    const link = index.links.get(path);
    if (link !== undefined) {
      return { entry: { type: 'link', link: link.type, target: link.target }, analysed: true };
    }
    // The analysis read this path as the link's path is read: what it did not keep is not there
    // (or could not be read, and its warning is the layer's).
    if (this.readerOf(path) !== reader) return undefined;
    if (reader === 'os') {
      const osFiles = (this.layers[i] as LayerInput).inventory.osFiles;
      const text = Object.hasOwn(osFiles, path) ? osFiles[path] : undefined;
      return { entry: text === undefined ? { type: 'none' } : { type: 'text', text }, analysed: true };
    }
    const file = index.files.get(path);
    return {
      entry: file === undefined ? { type: 'none' } : { type: 'packages', packages: file.packages },
      analysed: true,
    };
  }

  /** Whether layer `i` hides what lower layers hold at `path`. */
  private hides(i: number, path: string): boolean {
    return hidden(path, this.index(i).whiteouts, this.index(i).opaque);
  }

  private index(i: number): LayerIndex {
    let index = this.indexes[i];
    if (index === undefined) {
      const inventory = (this.layers[i] as LayerInput).inventory;
      index = {
        files: new Map(inventory.files.map((f) => [f.path, f])),
        links: new Map([...(inventory.allLinks ?? []), ...inventory.links].map((l) => [l.path, l])),
        reads: new Map((inventory.linkTargets ?? []).map((r) => [`${r.path}\0${r.as}`, r.entry])),
        whiteouts: new Set(inventory.whiteouts),
        opaque: new Set(inventory.opaqueDirs),
      };
      this.indexes[i] = index;
    }
    return index;
  }
}

/** Whether a lower layer's `path` is removed by a whiteout or hidden by an opaque directory. */
export function hidden(path: string, whiteouts: ReadonlySet<string>, opaque: ReadonlySet<string>): boolean {
  if (whiteouts.has(path)) return true;
  // Walk up the ancestors: each lookup is O(1), so a layer costs O(files × depth).
  let dir = path;
  while (dir !== '') {
    dir = dirname(dir);
    if (opaque.has(dir) || (dir !== '' && whiteouts.has(dir))) return true;
  }
  return false;
}
