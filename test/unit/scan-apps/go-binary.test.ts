// origin/scan/apps/go-binary.ts: a Go binary built here, streamed in chunks of any size, names
// its toolchain and modules as `go version -m` reads them; other executables name nothing and
// are abandoned as early as possible.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createGoBinaryParser,
  goBinaryParser,
  parseModuleInfo,
  stdlibVersion,
} from '../../../origin/scan/apps/go-binary.ts';
import type { EntryInfo, ParseOutcome, StreamingFileParser } from '../../../origin/scan/layer/file-parser.ts';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const KiB = 1024;

/** The go command: on PATH, or where Debian's golang-go puts it. */
function findGo(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    for (const version of ['1.22', '1.21', '1.20', '1.19']) {
      if (existsSync(`/usr/lib/go-${version}/bin/go`)) return `/usr/lib/go-${version}/bin/go`;
    }
    return undefined;
  }
}

let work: string;
let go: string;
let goEnv: NodeJS.ProcessEnv;
let hello: Buffer;
let goVersion: string;

beforeAll(() => {
  const found = findGo();
  if (!found)
    throw new Error('these tests build a Go program: install the Go toolchain (apt-get install golang-go)');
  go = found;
  work = mkdtempSync(join(tmpdir(), 'go-binary-'));
  // Offline and self-contained: no proxy, no module cache or build cache outside the temp dir.
  goEnv = {
    ...process.env,
    GOFLAGS: '-mod=mod',
    GOPROXY: 'off',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GOWORK: 'off',
    GOCACHE: join(work, 'cache'),
    GOPATH: join(work, 'gopath'),
    CGO_ENABLED: '0',
  };
  const src = join(work, 'src');
  mkdirSync(join(src, 'dep'), { recursive: true });
  writeFileSync(
    join(src, 'go.mod'),
    'module example.com/hello\n\ngo 1.19\n\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep v1.2.3 => ./dep\n',
  );
  writeFileSync(
    join(src, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/dep"\n)\n\nfunc main() { fmt.Println(dep.Greeting()) }\n',
  );
  writeFileSync(join(src, 'dep', 'go.mod'), 'module example.com/dep\n\ngo 1.19\n');
  writeFileSync(join(src, 'dep', 'dep.go'), 'package dep\n\nfunc Greeting() string { return "hello" }\n');
  execFileSync(go, ['build', '-o', join(work, 'hello'), '.'], { cwd: src, env: goEnv, stdio: 'inherit' });
  hello = readFileSync(join(work, 'hello'));
  goVersion = execFileSync(go, ['env', 'GOVERSION'], { env: goEnv, encoding: 'utf8' }).trim();
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const exe = (path: string, size: number): EntryInfo => ({ path, mode: 0o755, size });

interface Streamed {
  outcome: ParseOutcome;
  /** Bytes pushed before the parser said it needed no more (or the whole file). */
  consumed: number;
}

/**
 * Streams `bytes` in chunks of `sizeAt(offset)` bytes, each copied into one reused buffer, as a
 * tar reader reusing its buffer would: the parser must copy what it keeps.
 */
function stream(
  bytes: Uint8Array,
  sizeAt: (offset: number) => number,
  parser: StreamingFileParser = goBinaryParser,
): Streamed {
  const file = parser.open(exe('usr/local/bin/app', bytes.length));
  const reused = new Uint8Array(128 * KiB);
  let offset = 0;
  while (offset < bytes.length) {
    const size = Math.min(sizeAt(offset), bytes.length - offset);
    const chunk = size <= reused.length ? reused.subarray(0, size) : new Uint8Array(size);
    chunk.set(bytes.subarray(offset, offset + size));
    offset += size;
    const more = file.push(chunk);
    chunk.fill(0xaa);
    if (!more) break;
  }
  return { outcome: file.finish(), consumed: offset };
}

function expectedHello() {
  return {
    ok: true,
    packages: [
      { kind: 'go', name: 'stdlib', version: goVersion.replace(/^go/, '') },
      { kind: 'go', name: 'example.com/dep', version: '1.2.3' },
    ],
  };
}

describe('a Go program built here', () => {
  it('records the replaced dependency as its required version with a versionless local replacement', () => {
    // What the toolchain itself reads back: the requirement, then "=> ./dep (devel)".
    const listed = execFileSync(go, ['version', '-m', join(work, 'hello')], { env: goEnv, encoding: 'utf8' });
    expect(listed).toContain('\tdep\texample.com/dep\tv1.2.3');
    expect(listed).toMatch(/\t=>\t\.\/dep\t\(devel\)/);
    expect(listed).toMatch(/\tmod\texample.com\/hello\t\(devel\)/);
  });

  it('streamed in 64 KiB chunks, names stdlib at the Go version and the dependency without "v", and stops there', () => {
    const magicAt = hello.indexOf(MAGIC);
    expect(magicAt % 16).toBe(0);
    const { outcome, consumed } = stream(hello, () => 64 * KiB);
    expect(outcome).toEqual(expectedHello());
    // The main module is "(devel)", so it is not a package; and the rest of the file is not read.
    expect(consumed).toBeLessThanOrEqual(magicAt + 128 * KiB);
    expect(consumed).toBeLessThan(hello.length);
  });

  it('streamed in odd-sized chunks, reads the same', () => {
    const sizes = [4093, 7, 1, 65521, 13, 3];
    let i = 0;
    expect(stream(hello, () => sizes[i++ % sizes.length]!).outcome).toEqual(expectedHello());
  });

  it('streamed one byte at a time across the magic, header, version and module info, reads the same', () => {
    const magicAt = hello.indexOf(MAGIC);
    const start = magicAt - 40;
    const sizeAt = (offset: number) =>
      offset < start ? Math.min(4 * KiB, start - offset) : offset < magicAt + 1024 ? 1 : 4 * KiB;
    const { outcome } = stream(hello, sizeAt);
    expect(outcome).toEqual(expectedHello());
  });

  it('split into two chunks at every point of the magic and header, reads the same', () => {
    const magicAt = hello.indexOf(MAGIC);
    for (let k = 1; k <= 64; k++) {
      const cut = magicAt + k;
      expect([k, stream(hello, (offset) => (offset < cut ? cut - offset : hello.length)).outcome]).toEqual([
        k,
        expectedHello(),
      ]);
    }
  });

  it('the Go toolchain binary itself (which also holds the magic as a string) reads as `go version -m` does', () => {
    const goroot = execFileSync(go, ['env', 'GOROOT'], { env: goEnv, encoding: 'utf8' }).trim();
    const binary = readFileSync(join(goroot, 'bin', 'go'));
    const listed = execFileSync(go, ['version', '-m', join(goroot, 'bin', 'go')], {
      env: goEnv,
      encoding: 'utf8',
    });
    const deps = [...listed.matchAll(/^\tdep\t(\S+)\t(v\S+)/gm)].map((m) => ({
      kind: 'go',
      name: m[1],
      version: m[2]!.slice(1),
    }));
    const stdlib = listed.split('\n')[0]!.split(': ')[1]!.trim();
    expect(stream(binary, () => 64 * KiB).outcome).toEqual({
      ok: true,
      packages: [{ kind: 'go', name: 'stdlib', version: stdlibVersion(stdlib) }, ...deps],
    });
  });

  it('cut off inside the build info, gives a warning rather than a partial list', () => {
    const magicAt = hello.indexOf(MAGIC);
    const { outcome } = stream(hello.subarray(0, magicAt + 40), () => 64 * KiB);
    expect(outcome).toEqual({
      ok: false,
      warning: 'usr/local/bin/app: Go build info cut short by the end of the file',
    });
  });

  it('gives up with a warning past the scan cap', () => {
    const parser = createGoBinaryParser({ maxScanBytes: 256 * KiB });
    expect(hello.indexOf(MAGIC)).toBeGreaterThan(512 * KiB);
    const { outcome, consumed } = stream(hello, () => 64 * KiB, parser);
    expect(outcome).toEqual({
      ok: false,
      warning: `usr/local/bin/app: no Go build info in the first ${256 * KiB} bytes; not searched further`,
    });
    expect(consumed).toBe(256 * KiB);
    // A file that ends at the cap was searched whole: no warning.
    const ls = readFileSync('/bin/ls');
    const exact = createGoBinaryParser({ maxScanBytes: ls.length });
    expect(stream(ls, () => 64 * KiB, exact).outcome).toEqual({ ok: true, packages: [] });
  });
});

describe('other executables', () => {
  it('a non-Go ELF executable (/bin/ls) names nothing', () => {
    const ls = readFileSync('/bin/ls');
    const { outcome, consumed } = stream(ls, () => 64 * KiB);
    expect(outcome).toEqual({ ok: true, packages: [] });
    expect(consumed).toBe(ls.length);
  });

  it('a shell script with the x bit is wanted by size and mode, and dropped at its first chunk', () => {
    const script = Buffer.from(`#!/bin/sh\n${'echo hello\n'.repeat(1000)}`);
    expect(goBinaryParser.wants(exe('usr/local/bin/run.sh', script.length))).toBe(true);
    const { outcome, consumed } = stream(script, () => 4 * KiB);
    expect(outcome).toEqual({ ok: true, packages: [] });
    expect(consumed).toBe(4 * KiB);
  });

  it('a file too short to tell is not ELF and names nothing', () => {
    const file = goBinaryParser.open(exe('x', 2));
    expect(file.push(new Uint8Array([0x7f, 0x45]))).toBe(true);
    expect(file.finish()).toEqual({ ok: true, packages: [] });
  });

  it('files without an x bit, or too small to be Go programs, are not wanted', () => {
    expect(goBinaryParser.wants({ path: 'usr/bin/app', mode: 0o644, size: 5_000_000 })).toBe(false);
    expect(goBinaryParser.wants({ path: 'usr/bin/app', mode: 0o755, size: 100 })).toBe(false);
    expect(goBinaryParser.wants({ path: 'usr/bin/app', mode: 0o100, size: 5_000_000 })).toBe(true);
  });
});

describe('build info headers', () => {
  /** An ELF-looking file with `blob` at `at`. */
  function elfWith(...blobs: [number, Uint8Array][]): Buffer {
    const size = Math.max(...blobs.map(([at, blob]) => at + blob.length)) + 4 * KiB;
    const file = Buffer.alloc(size);
    file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    for (const [at, blob] of blobs) file.set(blob, at);
    return file;
  }
  const realBlob = () => {
    const at = hello.indexOf(MAGIC);
    return hello.subarray(at, at + 4 * KiB);
  };

  /** A Go ≥ 1.18 header with inline strings, module info framed as the linker frames it. */
  function inlineBlob(version: string, modinfo: string): Buffer {
    const frame = Buffer.alloc(16, 0x5a);
    const framed = Buffer.concat([frame, Buffer.from(modinfo), frame]);
    return Buffer.concat([
      MAGIC,
      Buffer.from([8, 2]),
      Buffer.alloc(16),
      uvarint(version.length),
      Buffer.from(version),
      uvarint(framed.length),
      framed,
    ]);
  }
  function uvarint(n: number): Buffer {
    const bytes: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n % 0x80) | 0x80);
    bytes.push(n);
    return Buffer.from(bytes);
  }

  it('a main module with a real version is a package; its dependencies follow', () => {
    const modinfo =
      'path\texample.com/app\nmod\texample.com/app\tv1.4.0\th1:aaa=\ndep\tgolang.org/x/text\tv0.14.0\th1:bbb=\n';
    expect(stream(elfWith([4096, inlineBlob('go1.22.1', modinfo)]), () => 64 * KiB).outcome).toEqual({
      ok: true,
      packages: [
        { kind: 'go', name: 'stdlib', version: '1.22.1' },
        { kind: 'go', name: 'example.com/app', version: '1.4.0' },
        { kind: 'go', name: 'golang.org/x/text', version: '0.14.0' },
      ],
    });
  });

  it('module info of more than 128 bytes (a multi-byte length) and without its frame reads as Go reads it', () => {
    const many = Array.from({ length: 40 }, (_, i) => `dep\texample.com/m${i}\tv1.0.${i}\th1:x=\n`).join('');
    const read = stream(elfWith([4096, inlineBlob('go1.21.0', many)]), () => 7).outcome;
    expect(read.ok && read.packages.length).toBe(41);
    // Unframed module info is ignored by Go's reader; the toolchain version still counts.
    const unframed = Buffer.concat([
      MAGIC,
      Buffer.from([8, 2]),
      Buffer.alloc(16),
      uvarint(8),
      Buffer.from('go1.21.0'),
      uvarint(3),
      Buffer.from('abc'),
    ]);
    expect(stream(elfWith([4096, unframed]), () => 64 * KiB).outcome).toEqual({
      ok: true,
      packages: [{ kind: 'go', name: 'stdlib', version: '1.21.0' }],
    });
  });

  it('a pre-1.18 header (pointers, not inline strings) gives the "not read" warning', () => {
    const header = Buffer.concat([MAGIC, Buffer.from([8, 0]), Buffer.alloc(16, 0x11)]);
    expect(stream(elfWith([4096, header]), () => 64 * KiB).outcome).toEqual({
      ok: false,
      warning: 'usr/local/bin/app: Go < 1.18 binary: build info not read',
    });
  });

  it('the magic inside other data (bad header, or not 16-byte aligned) is passed over for the real one', () => {
    const asString = Buffer.concat([MAGIC, Buffer.from('\0\0client finished\0server finished\0')]);
    const file = elfWith([4096, asString], [8192 + 3, realBlob()], [16384, realBlob()]);
    expect(stream(file, () => 1000).outcome).toEqual(expectedHello());
    expect(stream(elfWith([4096, asString], [8192 + 3, realBlob()]), () => 1000).outcome).toEqual({
      ok: true,
      packages: [],
    });
  });
});

describe('module info', () => {
  it('a replacement with a version decides the version; "(devel)" and local paths do not', () => {
    const info = parseModuleInfo(
      [
        'path\texample.com/app/cmd/app',
        'mod\texample.com/app\tv1.4.0\th1:aaa=',
        'dep\tgolang.org/x/net\tv0.10.0\th1:bbb=',
        '=>\tgolang.org/x/net\tv0.17.0\th1:ccc=',
        'dep\tgithub.com/a/b\tv1.0.0\th1:ddd=',
        '=>\tgithub.com/fork/b\tv1.0.1-patched\th1:eee=',
        'dep\texample.com/local\tv0.0.0-00010101000000-000000000000',
        '=>\t../local\t(devel)\t',
        'build\t-compiler=gc',
        '',
      ].join('\n'),
    );
    expect(info).toEqual({
      main: { path: 'example.com/app', version: 'v1.4.0' },
      deps: [
        { path: 'golang.org/x/net', version: 'v0.17.0' },
        { path: 'github.com/a/b', version: 'v1.0.1-patched' },
        { path: 'example.com/local', version: 'v0.0.0-00010101000000-000000000000' },
      ],
    });
  });

  it('Go versions become OSV stdlib versions; development builds have none', () => {
    expect(stdlibVersion('go1.21.3')).toBe('1.21.3');
    expect(stdlibVersion('go1.21.3 X:boringcrypto')).toBe('1.21.3');
    expect(stdlibVersion('go1.20')).toBe('1.20.0');
    expect(stdlibVersion('go1.21rc2')).toBe('1.21.0-rc.2');
    expect(stdlibVersion('go1.9.2rc2')).toBe('1.9.2-rc.2');
    expect(stdlibVersion('devel go1.22-abcdef Tue Jan 2 15:04:05 2024 +0000')).toBeUndefined();
  });
});
