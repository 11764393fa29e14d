// Scanning with the Trivy CLI (`scan.scanner: trivy`): the image is exported to a temporary OCI
// layout, `trivy image --input` reads it with its own database (never updated from here), and
// the JSON report is mapped into our results. Trivy keeps its own data, so a data import here does
// not re-match Trivy results; a rescan does.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { parseDigest } from '../../shared/digest.ts';
import { parseManifest } from '../../shared/manifest.ts';
import { MediaType } from '../../shared/media-types.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { ImageScanner, ImageTarget, ScanOutcome } from './scanner.ts';
import { mapTrivyReport } from './trivy-report.ts';

/** A report larger than this is refused rather than held in memory. */
const MAX_REPORT_BYTES = 256 * 1024 * 1024;

export interface TrivyOptions {
  path: string;
  cacheDir?: string | undefined;
}

/** Fails with a clear message when the binary cannot run, so that `serve` stops at startup. */
export async function trivyVersion(
  binary: string,
): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  try {
    const { stdout } = await promisify(execFile)(binary, ['--version'], { timeout: 30_000 });
    const version = /Version:\s*(\S+)/.exec(stdout)?.[1] ?? stdout.trim().split('\n')[0] ?? 'unknown';
    return { ok: true, version };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      error:
        code === 'ENOENT'
          ? `scan.scanner is trivy but the trivy binary was not found (scan.trivy.path: ${binary}); install Trivy or use scan.scanner: builtin`
          : `scan.scanner is trivy but "${binary} --version" failed: ${(error as Error).message}`,
    };
  }
}

export class TrivyScanner implements ImageScanner {
  readonly name: string;
  private readonly store: BlobStore;
  private readonly options: TrivyOptions;

  constructor(store: BlobStore, options: TrivyOptions, version: string) {
    this.store = store;
    this.options = options;
    this.name = `trivy ${version}`;
  }

  async dataGeneration(): Promise<number> {
    return 0;
  }

  async scan(target: ImageTarget, signal: AbortSignal): Promise<ScanOutcome> {
    const dir = await mkdtemp(path.join(tmpdir(), 'registry-trivy-'));
    try {
      const exported = await exportOciLayout(this.store, target, dir);
      if (!exported.ok) return exported;
      const args = [
        'image',
        '--input',
        dir,
        '--format',
        'json',
        '--list-all-pkgs',
        '--skip-db-update',
        '--quiet',
      ];
      if (this.options.cacheDir) args.push('--cache-dir', this.options.cacheDir);
      const run = await runCapturing(this.options.path, args, signal);
      if (!run.ok) return run;
      const mapped = mapTrivyReport(run.stdout);
      if (!mapped.ok) return mapped;
      return {
        ok: true,
        inventory: mapped.inventory,
        findings: mapped.findings,
        generation: 0,
        layersAnalyzed: 0,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Writes the image as an OCI image layout (oci-layout, index.json, blobs/) under `dir`. */
export async function exportOciLayout(
  store: BlobStore,
  target: ImageTarget,
  dir: string,
): Promise<{ ok: true } | { ok: false; error: string }> {
  const manifest = await store.getManifest(target.repository, target.digest);
  if (!manifest) return { ok: false, error: 'the manifest is missing from storage' };
  const parsed = parseManifest(manifest, undefined);
  if (!parsed.ok) return { ok: false, error: `the stored manifest cannot be read: ${parsed.error.message}` };
  const blobPath = (digest: string) => {
    const parsed = parseDigest(digest);
    if (!parsed.ok) throw new Error(`invalid digest ${digest}`);
    return path.join(dir, 'blobs', parsed.digest.algorithm, parsed.digest.hex);
  };
  await mkdir(path.dirname(blobPath(target.digest)), { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(blobPath(target.digest), manifest);
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [{ mediaType: parsed.value.mediaType, digest: target.digest, size: manifest.byteLength }],
    }),
  );
  for (const digest of [target.configDigest, ...target.layers.map((l) => l.digest)]) {
    const body = await store.read(digest);
    if (!body) return { ok: false, error: `blob ${digest} is missing from storage` };
    await mkdir(path.dirname(blobPath(digest)), { recursive: true });
    await pipeline(body, createWriteStream(blobPath(digest)));
  }
  return { ok: true };
}

function runCapturing(
  binary: string,
  args: string[],
  signal: AbortSignal,
): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, { signal, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_REPORT_BYTES) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString();
    });
    child.on('error', (error) => resolve({ ok: false, error: `trivy could not run: ${error.message}` }));
    child.on('close', (code) => {
      if (outBytes > MAX_REPORT_BYTES) return resolve({ ok: false, error: 'the trivy report is too large' });
      if (code !== 0)
        return resolve({ ok: false, error: `trivy exited with ${code}: ${err.trim().slice(-1000)}` });
      resolve({ ok: true, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}
