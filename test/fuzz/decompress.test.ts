// Fuzzing layer decompression (origin/scan/layer/decompress.ts): gzip and zstd of any bytes come
// back as those bytes; corrupt, cut or random streams end with a failure() saying why, never an
// exception, and the bytes handed out are what bytesOut() counts.
import { gzipSync, zstdCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decompressLayer } from '../../origin/scan/layer/decompress.ts';
import { chunkSizes, fuzz, fuzzTimeout, inChunks, mutatedBytes } from './fuzz-settings.ts';

const plain = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  // Compressible runs, as tar padding is.
  fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.nat({ max: 100_000 }))
    .map(([v, n]) => new Uint8Array(n).fill(v)),
);
const compress = (format: 'gzip' | 'zstd', b: Uint8Array) =>
  new Uint8Array(format === 'gzip' ? gzipSync(b) : zstdCompressSync(b));
const format = fc.constantFrom('gzip' as const, 'zstd' as const);

async function drain(source: AsyncIterable<Uint8Array>, limits = {}) {
  const layer = decompressLayer(source, limits);
  const parts: Uint8Array[] = [];
  for await (const chunk of layer.chunks) parts.push(new Uint8Array(chunk));
  const out = new Uint8Array(Buffer.concat(parts));
  // bytesOut() counts what the inflater produced: the chunk that crossed a limit was not handed out.
  if (/limit|bomb/.test(layer.failure() ?? '')) expect(out.length).toBeLessThan(layer.bytesOut());
  else expect(out.length).toBe(layer.bytesOut());
  return { out, layer };
}

describe('layer decompression', () => {
  test(
    'gzip and zstd of any bytes, in any chunks, come back as those bytes',
    async () => {
      await fc.assert(
        fc.asyncProperty(plain, format, chunkSizes, async (b, f, sizes) => {
          const { out, layer } = await drain(inChunks(compress(f, b), sizes));
          expect(layer.failure()).toBeUndefined();
          expect(layer.format()).toBe(f);
          expect(Buffer.from(out).equals(Buffer.from(b))).toBe(true);
        }),
        fuzz(0.5),
      );
    },
    fuzzTimeout(20_000),
  );

  test(
    'a stream cut short is reported, not taken for a whole layer',
    async () => {
      await fc.assert(
        fc.asyncProperty(plain, format, fc.nat(), async (b, f, at) => {
          const whole = compress(f, b);
          const cut = whole.subarray(0, 4 + (at % (whole.length - 4)));
          const { out, layer } = await drain(inChunks(cut, []));
          expect(layer.failure()).toMatch(/corrupt or cut short/);
          expect(Buffer.from(b).subarray(0, out.length).equals(Buffer.from(out))).toBe(true);
        }),
        fuzz(0.5),
      );
    },
    fuzzTimeout(20_000),
  );

  test(
    'corrupt, cut or random streams: some bytes, then a failure that says why; never an exception',
    async () => {
      const stream = fc.oneof(
        mutatedBytes(fc.tuple(format, plain).map(([f, b]) => compress(f, b))),
        fc
          .tuple(fc.constantFrom([0x1f, 0x8b], [0x28, 0xb5, 0x2f, 0xfd]), fc.uint8Array({ maxLength: 200 }))
          .map(([magic, rest]) => new Uint8Array([...magic, ...rest])),
        fc.uint8Array({ maxLength: 200 }),
      );
      await fc.assert(
        fc.asyncProperty(stream, chunkSizes, fc.boolean(), async (b, sizes, tight) => {
          // A tight limit makes the limit checks run on small inputs too.
          const limits = tight ? { maxBytes: 1000, ratioAfterBytes: 100, maxRatio: 2 } : {};
          const { layer } = await drain(inChunks(b, sizes), limits);
          expect(['gzip', 'zstd', 'tar']).toContain(layer.format());
          const failure = layer.failure();
          if (failure !== undefined)
            expect(failure).toMatch(/corrupt or cut short|limit|bomb|reading the layer/);
        }),
        fuzz(0.5),
      );
    },
    fuzzTimeout(20_000),
  );
});
