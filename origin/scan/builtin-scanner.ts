// The built-in scanner: each layer's inventory is computed once per layer digest (streamed from
// the blob store, never written to disk) and stored; an image's inventory is the ordered merge of
// its layers', its links followed (a layer is read again where a link needs it, and what that
// finds is stored with the layer's inventory); findings come from matching it against the stored
// vulnerability data.
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Database } from '../metadata/database.ts';
import { addLinkTargets, findLayerInventories, saveLayerInventory } from '../metadata/scans.ts';
import { currentGeneration } from '../metadata/vulnerabilities.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { matchInventory } from '../vulndb/match.ts';
import { appPackageParsers } from './apps/index.ts';
import type { ImageInventory, LayerInventory, LinkFile, LinkTargetRead } from './inventory.ts';
import { analyzeLayer } from './layer/analyze-layer.ts';
import type { FileParser } from './layer/file-parser.ts';
import { readLinkTargets, type TargetWanted } from './layer/link-targets.ts';
import { type LayerInput, mergeImage } from './layer/merge-layers.ts';
import { linkReaders } from './layer/readers.ts';
import { osPackageParsers } from './os/index.ts';
import type { ImageScanner, ImageTarget, ScanOutcome } from './scanner.ts';

/**
 * Bumped whenever what the layer analysis finds changes (a new parser, a fixed one), so that
 * stored layer inventories made by an older analysis are computed again. 2: links at read paths
 * are recorded; parsers' warnings come with their packages. 3: Ruby, PHP and .NET packages, and
 * Python lockfiles.
 */
export const ANALYZER_VERSION = 3;

const PARSERS: FileParser[] = [...osPackageParsers, ...appPackageParsers];
const READER_OF = linkReaders(PARSERS);

export class BuiltinScanner implements ImageScanner {
  readonly name = 'builtin';
  private readonly db: Database;
  private readonly store: BlobStore;
  private readonly log: Logger;

  constructor(db: Database, store: BlobStore, log: Logger) {
    this.db = db;
    this.store = store;
    this.log = log;
  }

  dataGeneration(): Promise<number> {
    return currentGeneration(this.db);
  }

  async scan(target: ImageTarget, signal: AbortSignal): Promise<ScanOutcome> {
    const generation = await this.dataGeneration();
    const digests = target.layers.map((l) => l.digest);
    const known = await findLayerInventories(this.db, digests, ANALYZER_VERSION);
    let layersAnalyzed = 0;
    const layers: LayerInput[] = [];
    for (const layer of target.layers) {
      let inventory = known.get(layer.digest);
      if (!inventory) {
        const analyzed = await this.analyze(layer.digest, signal);
        if (!analyzed.ok) return { ok: false, error: `layer ${layer.digest}: ${analyzed.error}` };
        inventory = analyzed.inventory;
        await saveLayerInventory(this.db, layer.digest, ANALYZER_VERSION, inventory);
        known.set(layer.digest, inventory);
        layersAnalyzed++;
      }
      layers.push({ digest: layer.digest, inventory });
    }
    const merged = await mergeImage(layers, READER_OF, async (digest, wanted) => {
      const read = await this.readTargets(digest, wanted, signal);
      if (read.ok) await addLinkTargets(this.db, digest, ANALYZER_VERSION, read.reads, read.links);
      return read;
    });
    if (!merged.ok) return merged;
    const { inventory } = merged;
    const findings = await matchInventory(this.db, inventory);
    return { ok: true, inventory, findings, generation, layersAnalyzed };
  }

  rematch(inventory: ImageInventory) {
    return matchInventory(this.db, inventory);
  }

  private async analyze(
    digest: string,
    signal: AbortSignal,
  ): Promise<{ ok: true; inventory: LayerInventory } | { ok: false; error: string }> {
    return this.readLayer(digest, async (stream) => {
      const started = performance.now();
      const result = await analyzeLayer(stream, PARSERS, { signal });
      if (!result.ok) return { ok: false, error: result.reason };
      this.log.debug(
        { layer: digest, files: result.inventory.files.length, ms: Math.round(performance.now() - started) },
        'layer analyzed',
      );
      return { ok: true, inventory: result.inventory };
    });
  }

  /** Reads a layer again for the paths links of the image reach (see layer/link-targets.ts). */
  private async readTargets(
    digest: string,
    wanted: TargetWanted[],
    signal: AbortSignal,
  ): Promise<{ ok: true; reads: LinkTargetRead[]; links: LinkFile[] } | { ok: false; error: string }> {
    return this.readLayer(digest, async (stream) => {
      const started = performance.now();
      const result = await readLinkTargets(stream, PARSERS, wanted, { signal });
      if (!result.ok) return { ok: false, error: `reading link targets: ${result.reason}` };
      this.log.debug(
        { layer: digest, paths: wanted.length, ms: Math.round(performance.now() - started) },
        'layer read again for link targets',
      );
      return { ok: true, reads: result.reads, links: result.links };
    });
  }

  private async readLayer<T>(
    digest: string,
    use: (stream: Readable) => Promise<T | { ok: false; error: string }>,
  ): Promise<T | { ok: false; error: string }> {
    const stream = await this.store.read(digest);
    if (!stream) return { ok: false, error: 'the layer blob is missing from storage' };
    try {
      return await use(stream);
    } finally {
      stream.destroy();
    }
  }
}
