// Scans an image made of tar layers as the built-in scanner does, without a database or a blob
// store: each layer analysed, then merged, reading layers again for link targets when asked.
import type { ImageInventory } from '../../../origin/scan/inventory.ts';
import { analyzeLayer } from '../../../origin/scan/layer/analyze-layer.ts';
import type { FileParser } from '../../../origin/scan/layer/file-parser.ts';
import { readLinkTargets } from '../../../origin/scan/layer/link-targets.ts';
import { type LayerInput, mergeImage } from '../../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../../origin/scan/layer/readers.ts';
import { chunked, type TestEntry, tarBytes } from './tar-helpers.ts';

export interface ScannedImage {
  inventory: ImageInventory;
  /** The layers' inventories, with what they were read again for (as the database keeps them). */
  layers: LayerInput[];
  /** The paths each layer was read again for, by layer digest ("L1" is the bottom layer), in order. */
  rereads: Record<string, string[][]>;
}

export async function scanImage(
  layers: TestEntry[][],
  parsers: readonly FileParser[],
): Promise<ScannedImage> {
  const tars = new Map<string, Uint8Array>();
  const inputs: LayerInput[] = [];
  for (const [i, entries] of layers.entries()) {
    const digest = `L${i + 1}`;
    const tar = await tarBytes(entries);
    tars.set(digest, tar);
    const analysed = await analyzeLayer(chunked(tar), parsers);
    if (!analysed.ok) throw new Error(`${digest}: ${analysed.reason}`);
    inputs.push({ digest, inventory: analysed.inventory });
  }
  const rereads: Record<string, string[][]> = {};
  const merged = await mergeImage(inputs, linkReaders(parsers), async (digest, wanted) => {
    rereads[digest] = [...(rereads[digest] ?? []), wanted.map((w) => w.path)];
    const read = await readLinkTargets(chunked(tars.get(digest) as Uint8Array), parsers, wanted);
    if (!read.ok) return { ok: false, error: read.reason };
    for (const layer of inputs) {
      if (layer.digest !== digest) continue;
      layer.inventory.linkTargets = [...(layer.inventory.linkTargets ?? []), ...read.reads];
      layer.inventory.allLinks = read.links;
    }
    return read;
  });
  if (!merged.ok) throw new Error(merged.error);
  return { inventory: merged.inventory, layers: inputs, rereads };
}
