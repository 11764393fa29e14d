// origin/scan/layer/analyze-layer.ts: one pass over a layer yields its package files, OS files,
// whiteouts and opaque directories; hostile layers end with a reason or a warning, in bounded
// memory and time, and never crash the process.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { LayerInventory } from '../../../origin/scan/inventory.ts';
import { analyzeLayer, type LayerScan } from '../../../origin/scan/layer/analyze-layer.ts';
import type {
  EntryInfo,
  FileParser,
  StreamingFileParser,
  WholeFileParser,
} from '../../../origin/scan/layer/file-parser.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { chunked, gnuTar, header, type TestEntry, tarBytes, tarStream } from './tar-helpers.ts';

/** Names one package per file: "name=version" lines, for files ending in ".pkg". */
function linesParser(maxBytes = 1024): WholeFileParser & { seen: string[] } {
  const seen: string[] = [];
  return {
    kind: 'whole',
    name: 'lines',
    maxBytes,
    seen,
    wants: (e: EntryInfo) => e.path.endsWith('.pkg'),
    parse(e: EntryInfo, content: Uint8Array) {
      seen.push(e.path);
      const text = new TextDecoder().decode(content);
      if (text.startsWith('!')) return { ok: false, warning: `${e.path}: not a package file` };
      return {
        ok: true,
        packages: text
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [name, version] = l.split('=');
            return { kind: 'npm', name: name!, version: version! };
          }),
      };
    },
  };
}

/** Reads ".bin" files chunk by chunk until it has `need` bytes; records how much it got. */
function headParser(need: number): StreamingFileParser & { got: number[] } {
  const got: number[] = [];
  return {
    kind: 'streaming',
    name: 'head',
    got,
    wants: (e: EntryInfo) => e.path.endsWith('.bin'),
    open() {
      let n = 0;
      return {
        push(chunk: Uint8Array) {
          n += chunk.length;
          return n < need;
        },
        finish() {
          got.push(n);
          return { ok: true, packages: [{ kind: 'go', name: 'stdlib', version: String(n) }] };
        },
      };
    },
  };
}

async function scan(
  entries: TestEntry[],
  parsers: FileParser[] = [linesParser()],
  limits = {},
): Promise<LayerScan> {
  return analyzeLayer(chunked(await tarBytes(entries), 1000), parsers, limits);
}

function inventory(result: LayerScan): LayerInventory {
  if (!result.ok) throw new Error(`scan failed: ${result.reason}`);
  return result.inventory;
}

describe('what a layer contributes', () => {
  it('hands each matching file to its parser and records what it names', async () => {
    const inv = inventory(
      await scan([
        { path: 'app/a.pkg', content: 'left-pad=1.0.0\n' },
        { path: 'app/readme', content: 'not a package file' },
        { path: './app/b.pkg', content: 'lodash=4.17.21\nexpress=4.18.2\n' },
      ]),
    );
    expect(inv.files).toEqual([
      { path: 'app/a.pkg', packages: [{ kind: 'npm', name: 'left-pad', version: '1.0.0' }] },
      {
        path: 'app/b.pkg',
        packages: [
          { kind: 'npm', name: 'lodash', version: '4.17.21' },
          { kind: 'npm', name: 'express', version: '4.18.2' },
        ],
      },
    ]);
    expect(inv.warnings).toEqual([]);
  });

  it('records whiteouts as the paths they remove and opaque directories by their path', async () => {
    const inv = inventory(
      await scan([
        { path: 'usr/lib/node_modules/.wh.left-pad', content: '' },
        { path: 'opt/app/.wh..wh..opq', content: '' },
        { path: '.wh.top', content: '' },
        { path: 'x/.wh..wh.plnk', content: '' },
        { path: 'x/.wh..', content: '' },
      ]),
    );
    expect(inv.whiteouts).toEqual(['usr/lib/node_modules/left-pad', 'top']);
    expect(inv.opaqueDirs).toEqual(['opt/app']);
    expect(inv.files).toEqual([]);
  });

  it('keeps the OS identification files, bounded in size', async () => {
    const inv = inventory(
      await scan(
        [
          { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: 'usr/lib/os-release', content: 'ID=debian\n' },
          { path: 'etc/debian_version', content: '12.4\n' },
          { path: 'etc/alpine-release', content: 'x'.repeat(200) },
          { path: 'etc/hostname', content: 'box' },
        ],
        [],
        { maxOsFileBytes: 100 },
      ),
    );
    expect(inv.osFiles).toEqual({
      'etc/os-release': 'ID=debian\nVERSION_ID="12"\n',
      'usr/lib/os-release': 'ID=debian\n',
      'etc/debian_version': '12.4\n',
    });
    expect(inv.warnings).toEqual([
      'etc/alpine-release: 200 bytes is over the 100-byte limit for OS files; not read',
    ]);
  });

  it('skips a file over its parser’s maxBytes with a warning naming the file and its size', async () => {
    const parser = linesParser(10);
    const inv = inventory(
      await scan(
        [
          { path: 'big.pkg', content: 'a=1\n'.repeat(100) },
          { path: 'small.pkg', content: 'b=2\n' },
        ],
        [parser],
      ),
    );
    expect(parser.seen).toEqual(['small.pkg']);
    expect(inv.files.map((f) => f.path)).toEqual(['small.pkg']);
    expect(inv.warnings).toEqual(["big.pkg: 400 bytes is over the lines parser's limit of 10; not read"]);
  });

  it('reports a parser’s refusal, and a parser that throws, as warnings', async () => {
    const throwing: WholeFileParser = {
      kind: 'whole',
      name: 'broken',
      maxBytes: 100,
      wants: (e) => e.path === 'boom',
      parse() {
        throw new Error('bug');
      },
    };
    const inv = inventory(
      await scan(
        [
          { path: 'bad.pkg', content: '!garbage' },
          { path: 'boom', content: 'x' },
        ],
        [linesParser(), throwing],
      ),
    );
    expect(inv.warnings).toEqual(['bad.pkg: not a package file', 'boom: the broken parser failed: bug']);
  });

  it('feeds a streaming parser until it has enough, then skips the rest of the file', async () => {
    const parser = headParser(3000);
    const inv = inventory(
      await scan(
        [
          { path: 'usr/bin/tool.bin', content: new Uint8Array(100_000) },
          { path: 'usr/bin/small.bin', content: new Uint8Array(10) },
        ],
        [parser],
      ),
    );
    // It stops within the chunk that takes it to 3000 bytes (chunks are at most 1000 here).
    expect(parser.got[0]).toBeGreaterThanOrEqual(3000);
    expect(parser.got[0]).toBeLessThan(4000);
    expect(parser.got[1]).toBe(10);
    expect(inv.files.map((f) => f.path)).toEqual(['usr/bin/tool.bin', 'usr/bin/small.bin']);
  });

  it('offers a file to the first parser that wants it only', async () => {
    const first = linesParser();
    const second = linesParser();
    await scan([{ path: 'a.pkg', content: 'a=1' }], [first, second]);
    expect([first.seen, second.seen]).toEqual([['a.pkg'], []]);
  });

  it('lets a later entry at the same path replace an earlier one of the layer', async () => {
    const inv = inventory(
      await scan([
        { path: 'a.pkg', content: 'a=1' },
        { path: 'b.pkg', content: 'b=1' },
        { path: 'a.pkg', content: 'a=2' },
        { path: 'b.pkg', type: '2', linkname: 'elsewhere' },
      ]),
    );
    expect(inv.files).toEqual([{ path: 'a.pkg', packages: [{ kind: 'npm', name: 'a', version: '2' }] }]);
  });

  it('records links at read paths with their normalised targets, for the merge to follow', async () => {
    const parser = linesParser();
    const inv = inventory(
      await scan(
        [
          { path: 'one/x.pkg', content: 'x=1' },
          { path: 'two/x.pkg', type: '1', linkname: './one/x.pkg' },
          { path: 'etc/alpine-release', type: '1', linkname: 'somewhere' },
          { path: 'three/y.pkg', type: '2', linkname: '../elsewhere/y.data' },
          { path: 'four/z.pkg', type: '2', linkname: '/abs/../z.data' },
          { path: 'etc/os-release', type: '2', linkname: '../usr/lib/os-release' },
          // Links no reader wants are not recorded; a link to nothing is a warning.
          { path: 'usr/bin/tool', type: '2', linkname: 'tool-1.0' },
          { path: 'five/empty.pkg', type: '2', linkname: '' },
        ],
        [parser],
      ),
    );
    expect(parser.seen).toEqual(['one/x.pkg']);
    expect(inv.files.map((f) => f.path)).toEqual(['one/x.pkg']);
    expect(inv.links).toEqual([
      { path: 'two/x.pkg', type: 'hardlink', target: 'one/x.pkg' },
      { path: 'etc/alpine-release', type: 'hardlink', target: 'somewhere' },
      { path: 'three/y.pkg', type: 'symlink', target: 'elsewhere/y.data' },
      { path: 'four/z.pkg', type: 'symlink', target: 'z.data' },
      { path: 'etc/os-release', type: 'symlink', target: 'usr/lib/os-release' },
    ]);
    expect(inv.warnings).toEqual(['five/empty.pkg: a symlink to nothing; not read']);
  });

  it('a later file at a link’s path replaces the link, and a later link the file', async () => {
    const inv = inventory(
      await scan([
        { path: 'a.pkg', type: '2', linkname: 'b.data' },
        { path: 'a.pkg', content: 'a=1' },
        { path: 'c.pkg', content: 'c=1' },
        { path: 'c.pkg', type: '1', linkname: 'a.pkg' },
      ]),
    );
    expect(inv.files.map((f) => f.path)).toEqual(['a.pkg']);
    expect(inv.links).toEqual([{ path: 'c.pkg', type: 'hardlink', target: 'a.pkg' }]);
  });

  it('reads layers written by GNU tar, compressed with gzip', async () => {
    const tar = gnuTar(
      [
        { path: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.19.1\n' },
        { path: `app/${'n'.repeat(120)}/deps.pkg`, content: 'dep=1.0' },
        { path: 'etc/alpine-release', symlink: '../usr/lib/alpine-release' },
      ],
      ['--format=gnu'],
    );
    const inv = inventory(await analyzeLayer(chunked(gzipSync(tar)), [linesParser()]));
    expect(inv.osFiles).toEqual({ 'etc/os-release': 'ID=alpine\nVERSION_ID=3.19.1\n' });
    expect(inv.files.map((f) => f.path)).toEqual([`app/${'n'.repeat(120)}/deps.pkg`]);
  });
});

describe('hostile layers', () => {
  it('keeps path traversal and absolute paths inside the root', async () => {
    const inv = inventory(
      await scan([
        { path: '../../etc/os-release', content: 'ID=evil\n' },
        { path: '/../../../app/x.pkg', content: 'x=1' },
        { path: '../.wh.usr', content: '' },
      ]),
    );
    expect(inv.osFiles).toEqual({ 'etc/os-release': 'ID=evil\n' });
    expect(inv.files.map((f) => f.path)).toEqual(['app/x.pkg']);
    expect(inv.whiteouts).toEqual(['usr']);
  });

  it('does not follow symlinks, so a loop (a → b → a) costs nothing here (the merge stops it)', async () => {
    const inv = inventory(
      await scan([
        { path: 'a.pkg', type: '2', linkname: 'b.pkg' },
        { path: 'b.pkg', type: '2', linkname: 'a.pkg' },
        { path: 'etc/os-release', type: '2', linkname: 'os-release' },
      ]),
    );
    expect(inv).toEqual({
      files: [],
      links: [
        { path: 'a.pkg', type: 'symlink', target: 'b.pkg' },
        { path: 'b.pkg', type: 'symlink', target: 'a.pkg' },
        { path: 'etc/os-release', type: 'symlink', target: 'etc/os-release' },
      ],
      osFiles: {},
      whiteouts: [],
      opaqueDirs: [],
      warnings: [],
    });
  });

  it('skips a 5 GB entry by streaming it, in bounded memory and seconds', async () => {
    const parser = linesParser();
    const before = process.memoryUsage();
    const started = performance.now();
    const result = await analyzeLayer(
      tarStream([
        { path: 'var/lib/huge.img', lazySize: 5e9 },
        { path: 'huge.pkg', lazySize: 5e9, fill: 0x61 },
        { path: 'after.pkg', content: 'after=1' },
      ]),
      [parser],
    );
    const seconds = (performance.now() - started) / 1000;
    expect(inventory(result).files.map((f) => f.path)).toEqual(['after.pkg']);
    expect(inventory(result).warnings).toEqual([
      "huge.pkg: 5000000000 bytes is over the lines parser's limit of 1024; not read",
    ]);
    expect(seconds).toBeLessThan(15);
    expect(process.memoryUsage().arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
    expect(process.memoryUsage().rss - before.rss).toBeLessThan(256 * 1024 * 1024);
  });

  it('stops a gzip bomb (10 MB of compressed zeros in a tar entry) by ratio, with the reason', async () => {
    async function* bomb() {
      yield gzipSync(header({ name: 'zeros', type: '0', size: 10 * 1024 ** 3 }));
      const member = gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
      for (let i = 0; i < 160; i++) yield member;
    }
    const before = process.memoryUsage().rss;
    const started = performance.now();
    const result = await analyzeLayer(bomb(), [linesParser()]);
    expect(result.ok === false && result.reason).toMatch(
      /^layer expands more than 250:1 .*likely decompression bomb$/,
    );
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('warns about an apk database over its limit and carries on', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const result = await analyzeLayer(
      tarStream([
        { path: 'lib/apk/db/installed', lazySize: 100 * 1024 * 1024, fill: 0x50 },
        { path: 'etc/alpine-release', content: '3.19.1\n' },
      ]),
      osPackageParsers,
    );
    const inv = inventory(result);
    expect(inv.warnings).toEqual([
      `lib/apk/db/installed: ${100 * 1024 * 1024} bytes is over the apk parser's limit of 33554432; not read`,
    ]);
    expect(inv.osFiles).toEqual({ 'etc/alpine-release': '3.19.1\n' });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('fails a truncated layer, with the reason', async () => {
    const tar = await tarBytes([{ path: 'a.pkg', content: 'a'.repeat(2000) }]);
    const result = await analyzeLayer(chunked(gzipSync(tar.subarray(0, 1500))), [linesParser()]);
    expect(result).toEqual({ ok: false, reason: 'archive ends inside the content of "a.pkg" (2000 bytes)' });
  });

  it('fails a layer whose compressed stream is cut short, naming that', async () => {
    const blob = gzipSync(await tarBytes([{ path: 'a.pkg', content: 'a'.repeat(20_000) }]));
    const result = await analyzeLayer(chunked(blob.subarray(0, blob.length - 100)), [linesParser()]);
    expect(result).toEqual({
      ok: false,
      reason: 'the gzip stream is corrupt or cut short: unexpected end of file',
    });
  });

  it('fails a layer with a bad header checksum', async () => {
    const good = await tarBytes([{ path: 'a.pkg', content: 'a=1' }]);
    const bad = new Uint8Array(good);
    bad[10] = 0x41;
    expect(await analyzeLayer(chunked(bad), [])).toEqual({
      ok: false,
      reason: 'checksum mismatch in the header at offset 0',
    });
  });

  it('fails a layer that hands parsers more than the byte budget', async () => {
    const result = await scan(
      [
        { path: 'a.pkg', content: 'a=1\n'.repeat(200) },
        { path: 'b.pkg', content: 'b=1\n'.repeat(200) },
      ],
      [linesParser()],
      { maxParserBytes: 1000 },
    );
    expect(result).toEqual({
      ok: false,
      reason: "parsers were handed more than 1000 bytes of this layer's files (the limit)",
    });
  });

  it('fails a layer that takes longer than its time limit, even from a stalled source', async () => {
    async function* stalled() {
      yield (await tarBytes([{ path: 'a.pkg', content: 'a=1' }], { end: false })).subarray(0, 1024);
      await new Promise(() => {});
    }
    const started = performance.now();
    const result = await analyzeLayer(stalled(), [linesParser()], { timeoutMs: 200 });
    expect(result).toEqual({ ok: false, reason: 'layer scan took longer than 200 ms (the limit); stopped' });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('fails a layer whose source never yields to timers once the deadline passes', async () => {
    const result = await analyzeLayer(tarStream([{ path: 'big', lazySize: 1e15 }]), [], {
      timeoutMs: 100,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(result).toEqual({ ok: false, reason: 'layer scan took longer than 100 ms (the limit); stopped' });
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    async function* slow() {
      yield (await tarBytes([{ path: 'a', content: 'x' }], { end: false })).subarray(0, 1024);
      await new Promise((r) => setTimeout(r, 10_000));
    }
    const result = await analyzeLayer(slow(), [], { signal: controller.signal });
    expect(result).toEqual({ ok: false, reason: 'layer scan aborted: shutting down' });
  });

  it('ignores paths longer than Linux allows (a PAX path can be a megabyte)', async () => {
    const long = `${'d/'.repeat(2100)}x.pkg`;
    const inv = inventory(
      await scan([
        { path: long, content: 'x=1', longNames: 'pax' },
        { path: 'ok.pkg', content: 'ok=1' },
      ]),
    );
    expect(inv.files.map((f) => f.path)).toEqual(['ok.pkg']);
    expect(inv.warnings).toEqual([
      `a path of 4205 characters ("${long.slice(0, 60)}…") is longer than Linux allows; ignored`,
    ]);
  });

  it('fails a layer that records more paths than the limit (whiteouts to fill memory)', async () => {
    const entries: TestEntry[] = [];
    for (let i = 0; i < 20; i++) entries.push({ path: `d/.wh.f${i}`, content: '' });
    expect(await scan(entries, [], { maxRecordedPaths: 10 })).toEqual({
      ok: false,
      reason: 'layer records more than 10 package files, links, whiteouts and opaque directories (the limit)',
    });
  });

  it('caps the warnings a layer can produce', async () => {
    const entries: TestEntry[] = [];
    for (let i = 0; i < 1500; i++) entries.push({ path: `${i}.pkg`, content: '!' });
    const inv = inventory(await scan(entries));
    expect(inv.warnings.length).toBe(1001);
    expect(inv.warnings.at(-1)).toBe('500 more warnings not shown');
  });
});
