// Picks the scanner the config names. Trivy is checked at startup: a missing binary stops the
// origin with a clear message rather than failing every scan later.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../metadata/database.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { BuiltinScanner } from './builtin-scanner.ts';
import type { ImageScanner } from './scanner.ts';
import { TrivyScanner, trivyVersion } from './trivy-scanner.ts';

export class ScannerUnavailableError extends Error {}

export async function createScanner(
  config: Config,
  deps: { db: Database; store: BlobStore; log: Logger },
): Promise<ImageScanner> {
  if (config.scan.scanner === 'builtin') return new BuiltinScanner(deps.db, deps.store, deps.log);
  const version = await trivyVersion(config.scan.trivy.path);
  if (!version.ok) throw new ScannerUnavailableError(version.error);
  deps.log.info({ version: version.version }, 'scanning with trivy');
  return new TrivyScanner(
    deps.store,
    { path: config.scan.trivy.path, cacheDir: config.scan.trivy.cache_dir },
    version.version,
  );
}
