// Fuzzing the tar reader (origin/scan/layer/tar-reader.ts), which reads layers pushed by anyone:
// whatever the bytes and however they are chunked, the walk ends with an `end` or `error` item and
// never throws; entries have normalised paths and sane sizes; and an archive written by the test
// writer reads back entry for entry, content for content.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { normalisePath } from '../../origin/scan/layer/path.ts';
import { readTar, type TarItem } from '../../origin/scan/layer/tar-reader.ts';
import { header, type TestEntry, tarBuffer } from '../unit/scan-layer/tar-helpers.ts';
import { chunkSizes, fuzz, fuzzTimeout, inChunks, mutatedBytes } from './fuzz-settings.ts';

const segment = fc
  .stringMatching(/^[a-zA-Z0-9_-][a-zA-Z0-9._-]{0,40}$/)
  .filter((s) => s !== '.' && s !== '..');
const path = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
const entry: fc.Arbitrary<TestEntry> = fc.oneof(
  fc.record({
    path,
    content: fc.uint8Array({ maxLength: 1200 }),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    longNames: fc.constantFrom('gnu' as const, 'pax' as const),
  }),
  fc.record({ path, type: fc.constant('5') }),
  fc.record({
    path,
    type: fc.constant('2'),
    linkname: path,
    longNames: fc.constantFrom('gnu' as const, 'pax' as const),
  }),
);
const archive = fc.array(entry, { maxLength: 5 });
/** Small hostile headers: any type flag, any size field, checksums right. */
const oddHeader = fc
  .record({
    name: fc.string({ maxLength: 30 }).map((s) => s.replaceAll('\0', '')),
    type: fc.constantFrom('0', '1', '2', '5', 'L', 'K', 'x', 'g', 'S', '7', 'Z'),
    size: fc.oneof(fc.nat({ max: 2000 }), fc.constantFrom(2 ** 33, Number.MAX_SAFE_INTEGER)),
    base256Size: fc.boolean(),
  })
  .map((h) => header(h));

const bytes = fc.oneof(
  archive.map((entries) => tarBuffer(entries)),
  mutatedBytes(archive.map((entries) => tarBuffer(entries))),
  mutatedBytes(
    fc.array(oddHeader, { minLength: 1, maxLength: 3 }).map((hs) => new Uint8Array(Buffer.concat(hs))),
  ),
  fc.uint8Array({ maxLength: 2048 }),
);

/** How much of each entry's content the caller reads: all, some chunks, or none. */
const reading = fc.array(fc.constantFrom('all', 'first', 'none'), { maxLength: 8 });

interface Walk {
  entries: { path: string; type: string; linkname: string; mode: number; content: Uint8Array }[];
  last: TarItem;
}

async function walk(source: AsyncIterable<Uint8Array>, how: readonly string[] = []): Promise<Walk> {
  const entries: Walk['entries'] = [];
  for await (const item of readTar(source)) {
    if (item.kind !== 'entry') return { entries, last: item };
    const { entry } = item;
    expect(entry.path).toBe(normalisePath(entry.path));
    expect(entry.path.split('/')).not.toContain('..');
    expect(Number.isSafeInteger(entry.size) && entry.size >= 0).toBe(true);
    expect(entry.mode & ~0o7777).toBe(0);
    const parts: Uint8Array[] = [];
    const mode = how[entries.length % Math.max(1, how.length)] ?? 'all';
    if (mode !== 'none') {
      for await (const chunk of item.content) {
        parts.push(new Uint8Array(chunk));
        if (mode === 'first') break;
      }
    }
    const content = new Uint8Array(Buffer.concat(parts));
    expect(content.length).toBeLessThanOrEqual(entry.size);
    entries.push({ path: entry.path, type: entry.type, linkname: entry.linkname, mode: entry.mode, content });
  }
  throw new Error('the walk ended without an end or error item');
}

describe('tar archives', () => {
  test(
    'an archive of files, directories and symlinks, long names too, reads back as written',
    async () => {
      await fc.assert(
        fc.asyncProperty(archive, chunkSizes, async (entries, sizes) => {
          const { entries: read, last } = await walk(inChunks(tarBuffer(entries), sizes));
          expect(last).toEqual({ kind: 'end' });
          expect(read).toEqual(
            entries.map((e) => ({
              path: e.path,
              type: e.type === '5' ? 'directory' : e.type === '2' ? 'symlink' : 'file',
              linkname: e.linkname ?? '',
              mode: e.mode ?? 0o644,
              content: e.content ?? new Uint8Array(0),
            })),
          );
        }),
        fuzz(),
      );
    },
    fuzzTimeout(20_000),
  );

  test(
    'any bytes, in any chunks, read in part or not at all: a walk that ends in end or error',
    async () => {
      await fc.assert(
        fc.asyncProperty(bytes, chunkSizes, reading, async (b, sizes, how) => {
          const { last } = await walk(inChunks(b, sizes), how);
          expect(['end', 'error']).toContain(last.kind);
        }),
        fuzz(),
      );
    },
    fuzzTimeout(20_000),
  );

  test(
    'a source that fails midway ends the walk with an error naming the failure',
    async () => {
      await fc.assert(
        fc.asyncProperty(archive, fc.nat(), async (entries, cut) => {
          const b = tarBuffer(entries);
          async function* failing() {
            yield b.subarray(0, cut % (b.length + 1));
            throw new Error('connection reset');
          }
          const { last } = await walk(failing());
          if (last.kind === 'error') expect(last.reason).toMatch(/connection reset|ends inside/);
          else expect(last.kind).toBe('end');
        }),
        fuzz(0.5),
      );
    },
    fuzzTimeout(20_000),
  );
});
