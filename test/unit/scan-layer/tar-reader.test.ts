// origin/scan/layer/tar-reader.ts: a tar archive is read as GNU tar and Go's archive/tar read
// it, in one pass, and a bad archive ends the walk with a reason rather than an exception.
import { describe, expect, it } from 'vitest';
import { readTar, type TarEntry, type TarItem } from '../../../origin/scan/layer/tar-reader.ts';
import { bytes, chunked, concat, gnuTar, header, tarBytes, tarStream } from './tar-helpers.ts';

interface Read {
  entries: (TarEntry & { text: string })[];
  last: TarItem;
}

/** Walks an archive, reading every entry's content as text. */
async function readAll(source: AsyncIterable<Uint8Array>): Promise<Read> {
  const entries: Read['entries'] = [];
  for await (const item of readTar(source)) {
    if (item.kind !== 'entry') return { entries, last: item };
    const parts: Uint8Array[] = [];
    for await (const chunk of item.content) parts.push(new Uint8Array(chunk));
    entries.push({ ...item.entry, text: new TextDecoder().decode(concat(parts)) });
  }
  throw new Error('the walk ended without an end or error item');
}

const LONG = `${'deep/'.repeat(30)}node_modules/some-package/package.json`;

describe('tar reading', () => {
  it('reads a ustar archive written by GNU tar: types, paths, modes, sizes, link names', async () => {
    const tar = gnuTar(
      [
        { path: 'etc/os-release', content: 'ID=debian\n' },
        { path: 'usr/bin/tool', content: 'x'.repeat(1000) },
        { path: 'etc/alt', symlink: '../usr/bin/tool' },
      ],
      ['--format=ustar', '--mode=u=rwx,go=rx'],
    );
    const { entries, last } = await readAll(chunked(tar, 777));
    expect(last).toEqual({ kind: 'end' });
    expect(entries.map((e) => [e.type, e.path, e.size, e.linkname])).toEqual([
      ['file', 'etc/os-release', 10, ''],
      ['file', 'usr/bin/tool', 1000, ''],
      ['symlink', 'etc/alt', 0, '../usr/bin/tool'],
    ]);
    expect(entries[0]!.text).toBe('ID=debian\n');
    expect(entries[1]!.mode).toBe(0o755);
  });

  it('reads GNU long names (L) and long link names (K) from GNU tar', async () => {
    const longTarget = `/${'t'.repeat(150)}`;
    const tar = gnuTar(
      [
        { path: LONG, content: '{"name":"x"}' },
        { path: 'link', symlink: longTarget },
      ],
      ['--format=gnu'],
    );
    const { entries, last } = await readAll(chunked(tar, 100));
    expect(last.kind).toBe('end');
    expect(entries.map((e) => [e.path, e.linkname, e.text])).toEqual([
      [LONG, '', '{"name":"x"}'],
      ['link', longTarget, ''],
    ]);
  });

  it('reads PAX paths and link paths from GNU tar --format=pax', async () => {
    const tar = gnuTar(
      [
        { path: LONG, content: 'pax content' },
        { path: 'dir/ünïcødé-name', content: 'u' },
      ],
      ['--format=pax'],
    );
    const { entries } = await readAll(chunked(tar, 512));
    expect(entries.map((e) => [e.path, e.text])).toEqual([
      [LONG, 'pax content'],
      ['dir/ünïcødé-name', 'u'],
    ]);
  });

  it('joins the ustar prefix field and the name', async () => {
    const h = header({ name: 'package.json', prefix: 'usr/lib/node_modules/pkg', type: '0', size: 2 });
    const tar = concat([h, bytes('{}'), new Uint8Array(510 + 1024)]);
    const { entries } = await readAll(chunked(tar));
    expect(entries[0]!.path).toBe('usr/lib/node_modules/pkg/package.json');
  });

  it('ignores a PAX global header, as Docker and containerd do, and applies a per-file one', async () => {
    const record = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 1;
      while (`${n}${body}`.length !== n) n++;
      return bytes(`${n}${body}`);
    };
    const global = record('linkpath', 'global-target');
    const local = record('linkpath', 'local-target');
    const tar = concat([
      header({ name: 'pax_global_header', type: 'g', size: global.length }),
      global,
      new Uint8Array(512 - global.length),
      header({ name: 'a', type: '2', size: 0 }),
      header({ name: 'PaxHeader/b', type: 'x', size: local.length }),
      local,
      new Uint8Array(512 - local.length),
      header({ name: 'b', type: '2', size: 0 }),
      new Uint8Array(1024),
    ]);
    const { entries } = await readAll(chunked(tar, 300));
    expect(entries.map((e) => [e.path, e.linkname])).toEqual([
      ['a', ''],
      ['b', 'local-target'],
    ]);
  });

  it('reads sizes written in GNU base-256', async () => {
    const tar = await tarBytes([{ path: 'f', content: 'hello', base256Size: true }]);
    const { entries } = await readAll(chunked(tar));
    expect(entries.map((e) => [e.size, e.text])).toEqual([[5, 'hello']]);
  });

  it('gives the same entries however the source chunks the bytes', async () => {
    const tar = await tarBytes([
      { path: 'a', content: 'a'.repeat(700) },
      { path: LONG, content: 'long', longNames: 'gnu' },
      { path: `${LONG}/pax`, content: 'pax', longNames: 'pax' },
      { path: 'b', content: '' },
    ]);
    const expected = await readAll(chunked(tar, tar.length));
    for (const size of [1, 7, 511, 512, 513, 4096]) {
      expect(await readAll(chunked(tar, size))).toEqual(expected);
    }
    expect(expected.entries.map((e) => e.path)).toEqual(['a', LONG, `${LONG}/pax`, 'b']);
  });

  it('skips content the caller does not read', async () => {
    const tar = await tarBytes([
      { path: 'skipped', content: 's'.repeat(5000) },
      { path: 'read', content: 'wanted' },
    ]);
    const seen: string[] = [];
    for await (const item of readTar(chunked(tar, 1000))) {
      if (item.kind !== 'entry') break;
      if (item.entry.path !== 'read') continue;
      for await (const chunk of item.content) seen.push(new TextDecoder().decode(chunk));
    }
    expect(seen).toEqual(['wanted']);
  });

  it('normalises paths: no leading "./" or "/", no ".." above the root', async () => {
    const tar = await tarBytes([
      { path: './etc/./passwd', content: '1' },
      { path: '/usr//lib/os-release', content: '2' },
      { path: '../../etc/shadow', content: '3' },
      { path: './', type: '5' },
    ]);
    const { entries } = await readAll(chunked(tar));
    expect(entries.map((e) => [e.path, e.rawPath])).toEqual([
      ['etc/passwd', './etc/./passwd'],
      ['usr/lib/os-release', '/usr//lib/os-release'],
      ['etc/shadow', '../../etc/shadow'],
      ['', './'],
    ]);
  });

  it('reads no content for links and directories, whatever their size field says', async () => {
    const tar = concat([
      header({ name: 'link', type: '2', size: 4096, linkname: 'target' }),
      header({ name: 'after', type: '0', size: 2 }),
      bytes('ok'),
      new Uint8Array(510 + 1024),
    ]);
    const { entries, last } = await readAll(chunked(tar));
    expect(last.kind).toBe('end');
    expect(entries.map((e) => [e.path, e.size, e.text])).toEqual([
      ['link', 0, ''],
      ['after', 2, 'ok'],
    ]);
  });

  it('accepts an archive that ends at a header boundary without the zero blocks', async () => {
    const tar = await tarBytes([{ path: 'a', content: 'x' }], { end: false });
    expect((await readAll(chunked(tar))).last).toEqual({ kind: 'end' });
  });
});

describe('bad archives end the walk with a reason', () => {
  it('a header whose checksum does not match', async () => {
    const tar = concat([header({ name: 'a', type: '0', size: 0 }, true), new Uint8Array(1024)]);
    const { last } = await readAll(chunked(tar));
    expect(last).toEqual({ kind: 'error', reason: 'checksum mismatch in the header at offset 0' });
  });

  it('an archive cut inside an entry’s content', async () => {
    const tar = await tarBytes([
      { path: 'ok', content: 'fine' },
      { path: 'cut', content: 'c'.repeat(3000) },
    ]);
    const { entries, last } = await readAll(chunked(tar.subarray(0, 1024 + 512 + 1000), 300));
    expect(entries.map((e) => [e.path, e.text.length])).toEqual([
      ['ok', 4],
      ['cut', 1000],
    ]);
    expect(last).toEqual({ kind: 'error', reason: 'archive ends inside the content of "cut" (3000 bytes)' });
  });

  it('an archive cut inside a header', async () => {
    const tar = await tarBytes([{ path: 'a', content: 'x' }]);
    const { last } = await readAll(chunked(tar.subarray(0, 1024 + 100)));
    expect(last).toEqual({ kind: 'error', reason: 'archive ends inside the header at offset 1024' });
  });

  it('a size field that is not a number', async () => {
    const h = header({ name: 'a', type: '0', size: 0 });
    h.set(bytes('99zz'), 124);
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.set(bytes(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    const { last } = await readAll(chunked(concat([h, new Uint8Array(1024)])));
    expect(last).toEqual({ kind: 'error', reason: 'unreadable or too large size in the header at offset 0' });
  });

  it('a GNU long name over 1 MiB', async () => {
    const tar = concat([
      header({ name: '././@LongLink', type: 'L', size: 2 * 1024 * 1024 }),
      new Uint8Array(1024),
    ]);
    const { last } = await readAll(chunked(tar));
    expect(last.kind === 'error' && last.reason).toMatch(
      /GNU long name of 2097152 bytes at offset 0 is over 1048576/,
    );
  });

  it('a zero block followed by data (Go, and so the runtime, refuses it)', async () => {
    const tar = concat([new Uint8Array(512), await tarBytes([{ path: 'hidden', content: 'x' }])]);
    const { entries, last } = await readAll(chunked(tar));
    expect(entries).toEqual([]);
    expect(last).toEqual({ kind: 'error', reason: 'a zero block followed by data at offset 0' });
  });

  it('a malformed PAX record', async () => {
    const body = bytes('99 path=x\n');
    const tar = concat([
      header({ name: 'PaxHeader', type: 'x', size: body.length }),
      body,
      new Uint8Array(512 - body.length + 1024),
    ]);
    const { last } = await readAll(chunked(tar));
    expect(last).toEqual({ kind: 'error', reason: 'malformed record in the PAX header at offset 0' });
  });

  it('a source that fails', async () => {
    async function* failing() {
      yield (await tarBytes([{ path: 'a', content: 'x' }], { end: false })).subarray(0, 700);
      throw new Error('connection reset');
    }
    const { last } = await readAll(failing());
    expect(last).toEqual({ kind: 'error', reason: 'reading the layer failed: connection reset' });
  });

  it('walks a 5 GB entry it does not read without holding it, in seconds', async () => {
    const before = process.memoryUsage();
    const started = performance.now();
    const paths: string[] = [];
    for await (const item of readTar(
      tarStream([
        { path: 'big', lazySize: 5e9 },
        { path: 'after', content: 'x' },
      ]),
    )) {
      if (item.kind === 'entry') paths.push(`${item.entry.path}:${item.entry.size}`);
      else expect(item).toEqual({ kind: 'end' });
    }
    expect(paths).toEqual(['big:5000000000', 'after:1']);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(process.memoryUsage().arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 1024 * 1024);
  });
});
