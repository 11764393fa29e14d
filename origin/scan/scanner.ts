// A scanner turns an image into its package inventory and the vulnerabilities found in it. Two
// implementations: the built-in one (builtin-scanner.ts) and the Trivy CLI (trivy-scanner.ts).
import type { ContainerImage } from '../../shared/manifest.ts';
import type { Finding } from '../vulndb/match.ts';
import type { ImageInventory } from './inventory.ts';

/** The image a scanner is given: where its manifest is, its config and the layers stored here. */
export interface ImageTarget extends Omit<ContainerImage, 'kind'> {
  readonly repository: string;
  readonly digest: string;
}

export type ScanOutcome =
  | { ok: true; inventory: ImageInventory; findings: Finding[]; generation: number; layersAnalyzed: number }
  | { ok: false; error: string };

export interface ImageScanner {
  /** Recorded with each result, e.g. "builtin" or "trivy 0.50.1". */
  readonly name: string;
  /** The version of the vulnerability data results are matched against now (0 when the scanner keeps its own). */
  dataGeneration(): Promise<number>;
  scan(target: ImageTarget, signal: AbortSignal): Promise<ScanOutcome>;
  /** Matches a stored inventory again (after a data import) without reading layers; absent when the scanner cannot. */
  rematch?(inventory: ImageInventory): Promise<Finding[]>;
}
