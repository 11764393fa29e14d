// origin/scan/zip-reader.ts: archives made by real tools read the same from memory and from a
// file, ZIP64 and prefixed archives read, and hostile archives fail as values within their caps.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openZip, type ZipArchive, type ZipEntry, type ZipSource } from '../../../origin/scan/zip-reader.ts';
import { writeZip } from './zip-writer.ts';

const PYTHON = '/usr/bin/python3';
const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'zip-reader-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function open(source: ZipSource): Promise<ZipArchive> {
  const opened = await openZip(source);
  if (!opened.ok) throw new Error(opened.error);
  return opened.value;
}

/** Every entry's metadata and content, as plain values to compare. */
async function contents(archive: ZipArchive, maxBytes = 64 * MiB) {
  const out: { entry: ZipEntry; data: Buffer }[] = [];
  for (const entry of archive.entries()) {
    const read = await archive.read(entry, { maxBytes });
    if (!read.ok) throw new Error(read.error);
    out.push({ entry, data: Buffer.from(read.value) });
  }
  return out;
}

/** Opens the bytes both in memory and from a file, checks they agree, and returns the entries. */
async function readBothWays(bytes: Uint8Array, name: string) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const inMemory = await open(bytes);
  const fromFile = await open({ path });
  const a = await contents(inMemory);
  const b = await contents(fromFile);
  await fromFile.close();
  expect(b).toEqual(a);
  expect(fromFile.entryCount).toBe(inMemory.entryCount);
  return a;
}

function python(script: string, ...args: string[]): void {
  execFileSync(PYTHON, ['-c', script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// Deflate blocks that end without the final-block bit concatenate into one stream: N pieces of
// 16 MiB of zeros inflate to N × 16 MiB from N × ~16 KiB, the shape of a zip bomb.
function zeroBomb(pieces: number): Uint8Array {
  const piece = deflateRawSync(new Uint8Array(16 * MiB), { finishFlush: constants.Z_SYNC_FLUSH });
  return Buffer.concat([...Array.from({ length: pieces }, () => piece), deflateRawSync(new Uint8Array(0))]);
}

describe('archives written by real tools', () => {
  it("Python's zipfile with deflate reads the same from memory and from a file, byte for byte", async () => {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'dir'), { recursive: true });
    const files: Record<string, Uint8Array> = {
      'hello.txt': Buffer.from('hello\n'),
      empty: new Uint8Array(0),
      'dir/ünïcode.json': Buffer.from(JSON.stringify({ id: 'GHSA-xxxx', note: 'ü' })),
      // Compresses to well under the synchronous inflate limit.
      'big.txt': Buffer.from('the quick brown fox jumps over the lazy dog\n'.repeat(8000)),
      // Incompressible: its deflate data exceeds 1 MiB, so it is inflated as a stream.
      'random.bin': randomBytes(3 * MiB),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data);
    const zipPath = join(dir, 'python.zip');
    python(
      `import sys, zipfile, os
src, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    z.write(os.path.join(src, 'dir'), 'dir/')
    for n in names: z.write(os.path.join(src, n), n)`,
      src,
      zipPath,
      ...Object.keys(files),
    );
    const entries = await readBothWays(readFileSync(zipPath), 'python-copy.zip');
    expect(entries.map((e) => e.entry.name)).toEqual(['dir/', ...Object.keys(files)]);
    expect(entries[0]!.entry.isDirectory).toBe(true);
    for (const { entry, data } of entries.slice(1)) {
      expect(entry.method).toBe(8);
      expect(data.equals(files[entry.name]!)).toBe(true);
    }
    expect(entries.find((e) => e.entry.name === 'random.bin')!.entry.compressedSize).toBeGreaterThan(MiB);
    // Python compresses 3 MiB of random bytes: CPU-bound, slow on a loaded 2-core machine.
  }, 180_000);

  it("Python's zipfile with more than 65535 entries (a ZIP64 end record, like osv.dev's all.zip) lists them all", async () => {
    const zipPath = join(dir, 'many.zip');
    python(
      `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    for i in range(70000): z.writestr(f'osv/GHSA-{i}.json', '{"id": "GHSA-%d", "modified": "2024-01-01T00:00:00Z"}' % i)`,
      zipPath,
    );
    const bytes = readFileSync(zipPath);
    // Python wrote a ZIP64 end record (signature PK\6\6) because the count overflows 16 bits.
    expect(bytes.subarray(bytes.length - 200).includes(Buffer.from('PK\x06\x06', 'latin1'))).toBe(true);
    for (const source of [bytes, { path: zipPath }]) {
      const archive = await open(source);
      expect(archive.entryCount).toBe(70000);
      const entries = [...archive.entries()];
      expect(entries.length).toBe(70000);
      const last = entries[69999]!;
      expect(last.name).toBe('osv/GHSA-69999.json');
      const read = await archive.read(last, { maxBytes: 4096 });
      expect(read.ok && JSON.parse(Buffer.from(read.value).toString()).id).toBe('GHSA-69999');
      await archive.close();
    }
  });

  it.runIf(existsSync('/usr/bin/zip'))(
    'Info-ZIP zip reading stdin (ZIP64 local header and end records) reads',
    async () => {
      const zipPath = join(dir, 'stdin.zip');
      const input = Buffer.from('streamed through zip\n'.repeat(1000));
      execFileSync('/usr/bin/zip', ['-q', zipPath, '-'], { input });
      const entries = await readBothWays(readFileSync(zipPath), 'stdin-copy.zip');
      expect(entries.map((e) => e.entry.name)).toEqual(['-']);
      expect(entries[0]!.data.equals(input)).toBe(true);
    },
  );
});

describe('archives the reader must accept', () => {
  it('ZIP64 sizes and offsets in the central directory and the ZIP64 end records read', async () => {
    const bytes = writeZip(
      [
        { name: 'a.txt', data: 'alpha' },
        { name: 'b.txt', data: 'beta'.repeat(1000), method: 0 },
      ],
      { zip64: true },
    );
    const entries = await readBothWays(bytes, 'zip64.zip');
    expect(entries.map((e) => [e.entry.name, e.entry.size, e.data.toString().slice(0, 8)])).toEqual([
      ['a.txt', 5, 'alpha'],
      ['b.txt', 4000, 'betabeta'],
    ]);
  });

  it('an archive behind a prepended launch script (offsets not adjusted) reads', async () => {
    const prefix = Buffer.from('#!/bin/sh\nexec java -jar "$0" "$@"\n'.padEnd(4000, '#'));
    const bytes = writeZip([{ name: 'META-INF/MANIFEST.MF', data: 'Manifest-Version: 1.0\n' }], { prefix });
    const entries = await readBothWays(bytes, 'prefixed.zip');
    expect(entries[0]!.data.toString()).toBe('Manifest-Version: 1.0\n');
  });

  it('an end-record signature inside the archive comment does not mislead', async () => {
    const comment = `fake PK\x05\x06${'\0'.repeat(30)} end`;
    const entries = await readBothWays(writeZip([{ name: 'x', data: 'x' }], { comment }), 'comment.zip');
    expect(entries.map((e) => e.entry.name)).toEqual(['x']);
  });
});

describe('hostile or broken archives fail as values, within the caps', () => {
  it('an entry declaring more than the cap is refused without inflating it', async () => {
    const raw = zeroBomb(200);
    const archive = await open(writeZip([{ name: 'bomb', raw, declaredSize: 200 * 16 * MiB, crc: 0 }]));
    const entry = [...archive.entries()][0]!;
    const started = Date.now();
    const read = await archive.read(entry, { maxBytes: 64 * MiB });
    expect(read).toEqual({
      ok: false,
      error: `bomb: declares ${200 * 16 * MiB} bytes, over the ${64 * MiB}-byte cap`,
    });
    expect(Date.now() - started).toBeLessThan(100);
  });

  for (const [label, pieces] of [
    ['inflated at once', 40],
    ['inflated as a stream', 200],
  ] as const) {
    it(`a zip bomb declaring 1000 bytes stops inflating just past them (${label})`, async () => {
      const raw = zeroBomb(pieces);
      expect(raw.length > MiB).toBe(pieces === 200);
      const bytes = writeZip([{ name: 'bomb.json', raw, declaredSize: 1000, crc: 0 }]);
      const path = join(dir, `bomb-${pieces}.zip`);
      writeFileSync(path, bytes);
      for (const source of [bytes, { path }]) {
        const archive = await open(source);
        const started = Date.now();
        const read = await archive.read([...archive.entries()][0]!, { maxBytes: 64 * MiB });
        expect(read).toEqual({ ok: false, error: 'bomb.json: inflates past its declared 1000 bytes' });
        // Inflating all of it (640 MiB to 3.2 GiB) would take seconds and as many bytes of memory.
        expect(Date.now() - started).toBeLessThan(1000);
        await archive.close();
      }
    });
  }

  it('a corrupt central directory record fails the open', async () => {
    const bytes = writeZip([
      { name: 'a', data: 'a' },
      { name: 'b', data: 'b' },
    ]);
    const second = Buffer.from(bytes).lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'));
    bytes[second + 1] = 0x58;
    expect(await openZip(bytes)).toEqual({
      ok: false,
      error: 'corrupt central directory at entry 1 (offset 47)',
    });
  });

  it('a truncated archive (no end record) fails the open', async () => {
    const bytes = writeZip([{ name: 'a', data: 'a' }]);
    expect(await openZip(bytes.subarray(0, bytes.length - 10))).toEqual({
      ok: false,
      error: 'not a ZIP archive (no end of central directory record)',
    });
    expect(await openZip(new Uint8Array(0))).toMatchObject({ ok: false });
  });

  it('a central directory said to be larger than the file fails the open', async () => {
    const bytes = writeZip([{ name: 'a', data: 'a' }]);
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(bytes.length - 22 + 12, 0x7fffffff, true);
    expect(await openZip(bytes)).toEqual({ ok: false, error: 'central directory lies outside the archive' });
  });

  it('an entry whose data would lie past the central directory fails the open', async () => {
    const bytes = writeZip([{ name: 'a', data: 'a', method: 0, declaredSize: 1 }]);
    const record = Buffer.from(bytes).lastIndexOf(Buffer.from('PK\x01\x02', 'latin1'));
    new DataView(bytes.buffer, bytes.byteOffset).setUint32(record + 20, 5000, true);
    expect(await openZip(bytes)).toEqual({ ok: false, error: 'entry a: data lies outside the archive' });
  });

  it('a CRC mismatch, an unsupported method and an encrypted entry are listed but not read', async () => {
    const archive = await open(
      writeZip([
        { name: 'crc', data: 'payload', crc: 1234 },
        { name: 'bzip2', data: 'payload', recordedMethod: 12 },
        { name: 'secret', data: 'payload', flags: 1 },
      ]),
    );
    const results = [];
    for (const entry of archive.entries()) results.push(await archive.read(entry, { maxBytes: 1000 }));
    expect(results).toEqual([
      { ok: false, error: 'crc: CRC-32 mismatch' },
      { ok: false, error: 'bzip2: compression method 12 is not supported' },
      { ok: false, error: 'secret: encrypted' },
    ]);
  });

  it('a missing file and a read after close fail as values', async () => {
    expect(await openZip({ path: join(dir, 'nope.zip') })).toMatchObject({ ok: false });
    const path = join(dir, 'closed.zip');
    writeFileSync(path, writeZip([{ name: 'a', data: 'a' }]));
    const archive = await open({ path });
    const entry = [...archive.entries()][0]!;
    await archive.close();
    expect(await archive.read(entry, { maxBytes: 10 })).toMatchObject({ ok: false });
  });
});
