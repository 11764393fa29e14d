// The built-in scanner: each layer's inventory is computed once per layer digest (streamed from
// the blob store, never written to disk) and stored; an image's inventory is the ordered merge of
// its layers'; findings come from matching it against the stored vulnerability data.
import type { Logger } from 'pino';
import type { Database } from '../metadata/database.ts';
import { findLayerInventories, saveLayerInventory } from '../metadata/scans.ts';
import { currentGeneration } from '../metadata/vulnerabilities.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { matchInventory } from '../vulndb/match.ts';
import { appPackageParsers } from './apps/index.ts';
import type { ImageInventory, LayerInventory } from './inventory.ts';
import { analyzeLayer } from './layer/analyze-layer.ts';
import type { FileParser } from './layer/file-parser.ts';
import { mergeLayers } from './layer/merge-layers.ts';
import { osPackageParsers } from './os/index.ts';
import type { ImageScanner, ImageTarget, ScanOutcome } from './scanner.ts';

/**
 * Bumped whenever what the layer analysis finds changes (a new parser, a fixed one), so that
 * stored layer inventories made by an older analysis are computed again.
 */
export const ANALYZER_VERSION = 1;

const PARSERS: FileParser[] = [...osPackageParsers, ...appPackageParsers];

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
    const layers: { digest: string; inventory: LayerInventory }[] = [];
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
    const inventory = mergeLayers(layers);
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
    const stream = await this.store.read(digest);
    if (!stream) return { ok: false, error: 'the layer blob is missing from storage' };
    const started = performance.now();
    try {
      const result = await analyzeLayer(stream, PARSERS, { signal });
      if (!result.ok) return { ok: false, error: result.reason };
      this.log.debug(
        { layer: digest, files: result.inventory.files.length, ms: Math.round(performance.now() - started) },
        'layer analyzed',
      );
      return { ok: true, inventory: result.inventory };
    } finally {
      stream.destroy();
    }
  }
}
