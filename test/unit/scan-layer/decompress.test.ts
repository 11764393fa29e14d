// origin/scan/layer/decompress.ts: a layer's format is known from its bytes, and a layer that
// inflates beyond reason is stopped early with a reason that says so.
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompressLayer, sniffFormat } from '../../../origin/scan/layer/decompress.ts';
import { chunked, collect, concat, run, tarBytes } from './tar-helpers.ts';

async function drain(layer: ReturnType<typeof decompressLayer>): Promise<number> {
  let n = 0;
  for await (const chunk of layer.chunks) n += chunk.length;
  return n;
}

/** `copies` gzip members of 64 MiB of zeros each, generated as read: 64 KiB in, 64 MiB out. */
async function* zeroGzipMembers(copies: number): AsyncGenerator<Uint8Array> {
  const member = gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
  for (let i = 0; i < copies; i++) yield member;
}

describe('layer formats', () => {
  it('recognises gzip, zstd and anything else as tar by the first bytes', () => {
    expect(sniffFormat(new Uint8Array([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(sniffFormat(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(sniffFormat(new Uint8Array([0x61, 0x62, 0x63, 0x64]))).toBe('tar');
    expect(sniffFormat(new Uint8Array(0))).toBe('tar');
  });

  it('gives back the same tar bytes from gzip (node and the gzip CLI), zstd (the zstd CLI) and plain', async () => {
    const tar = await tarBytes([{ path: 'etc/os-release', content: 'ID=alpine\n'.repeat(1000) }]);
    const forms = {
      gzip: gzipSync(tar),
      'gzip CLI': run('gzip', ['-c'], tar),
      zstd: run('zstd', ['-c', '-q'], tar),
      'zstd (node)': zstdCompressSync(tar),
      tar,
    };
    for (const [name, blob] of Object.entries(forms)) {
      const layer = decompressLayer(chunked(new Uint8Array(blob), 1000));
      const out = concat(await collect(layer.chunks));
      expect({ name, equal: Buffer.compare(out, tar) === 0, failure: layer.failure() }).toEqual({
        name,
        equal: true,
        failure: undefined,
      });
      expect(layer.format()).toBe(
        name.startsWith('gzip') ? 'gzip' : name.startsWith('zstd') ? 'zstd' : 'tar',
      );
    }
  });

  it('sniffs a magic number split across the first chunks', async () => {
    const blob = gzipSync(await tarBytes([{ path: 'a', content: 'x' }]));
    const layer = decompressLayer(chunked(blob, 1));
    expect(await drain(layer)).toBe(2048);
    expect(layer.format()).toBe('gzip');
  });
});

describe('decompression limits', () => {
  it('stops a gzip bomb (10 MB expanding to 10 GiB) by its ratio within seconds', async () => {
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const layer = decompressLayer(zeroGzipMembers(160));
    const out = await drain(layer);
    expect(layer.failure()).toMatch(
      /^layer expands more than 250:1 \(\d+ compressed bytes gave \d+\); stopped as a likely decompression bomb$/,
    );
    expect(out).toBeLessThan(512 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('stops a zstd bomb by its ratio', async () => {
    const frame = zstdCompressSync(new Uint8Array(64 * 1024 * 1024));
    async function* frames() {
      for (let i = 0; i < 100; i++) yield frame;
    }
    const layer = decompressLayer(frames());
    await drain(layer);
    expect(layer.failure()).toMatch(/likely decompression bomb/);
  });

  it('stops at the cap on decompressed bytes, whatever the ratio', async () => {
    const layer = decompressLayer(zeroGzipMembers(2), { maxBytes: 10 * 1024 * 1024, maxRatio: 1e9 });
    await drain(layer);
    expect(layer.failure()).toBe('layer decompresses to more than 10485760 bytes (the limit); stopped');
  });

  it('caps plain tar layers too', async () => {
    const layer = decompressLayer(chunked(new Uint8Array(3 * 1024 * 1024), 65536), { maxBytes: 1024 * 1024 });
    await drain(layer);
    expect(layer.failure()).toBe('layer decompresses to more than 1048576 bytes (the limit); stopped');
  });

  it('leaves a small, very compressible layer alone (the ratio counts only past 256 MiB)', async () => {
    const layer = decompressLayer(zeroGzipMembers(1));
    expect(await drain(layer)).toBe(64 * 1024 * 1024);
    expect(layer.failure()).toBeUndefined();
  });

  it('reports corrupt and cut-short compressed data', async () => {
    const good = gzipSync(await tarBytes([{ path: 'a', content: 'x'.repeat(10_000) }]));
    const corrupt = concat([good.subarray(0, 10), new Uint8Array(200).fill(0xff)]);
    const cut = decompressLayer(chunked(good.subarray(0, good.length - 20)));
    const bad = decompressLayer(chunked(corrupt));
    await drain(cut);
    await drain(bad);
    expect(cut.failure()).toBe('the gzip stream is corrupt or cut short: unexpected end of file');
    expect(bad.failure()).toMatch(/^the gzip stream is corrupt or cut short: /);
  });

  it('reports a failing source as such, not as corrupt data', async () => {
    const good = gzipSync(await tarBytes([{ path: 'a', content: 'x' }]));
    async function* failing() {
      yield good.subarray(0, 20);
      throw new Error('socket hang up');
    }
    const layer = decompressLayer(failing());
    await drain(layer);
    expect(layer.failure()).toBe('reading the layer failed: socket hang up');
  });
});
