// Builds tar layers for the scan-layer tests: a small writer for exact, possibly hostile, headers
// and lazily generated content, plus real GNU tar for archives as the world writes them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TestEntry {
  path: string;
  /** '0' file (default), '1' hardlink, '2' symlink, '5' directory, or a meta type. */
  type?: string;
  content?: string | Uint8Array;
  /** Content of this many bytes of `fill`, generated as it is read (nothing is held). */
  lazySize?: number;
  fill?: number;
  mode?: number;
  linkname?: string;
  /** How a path over 100 bytes is written: a GNU 'L' entry or a PAX 'x' record. */
  longNames?: 'gnu' | 'pax';
  /** Write the size field in GNU base-256 even when octal would do. */
  base256Size?: boolean;
}

const BLOCK = 512;
const encoder = new TextEncoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** One 512-byte header with a correct checksum (unless `badChecksum`). */
export function header(
  fields: {
    name: string;
    type: string;
    size: number;
    mode?: number;
    linkname?: string;
    base256Size?: boolean;
    prefix?: string;
  },
  badChecksum = false,
): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const put = (offset: number, length: number, text: string) => {
    const b = bytes(text);
    if (b.length > length) throw new Error(`field too long: ${text}`);
    h.set(b, offset);
  };
  const octal = (offset: number, length: number, value: number) =>
    put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, fields.name);
  octal(100, 8, fields.mode ?? 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  if (fields.base256Size || fields.size > 0o77777777777) {
    h[124] = 0x80;
    let v = fields.size;
    for (let i = 135; i > 124; i--) {
      h[i] = v % 256;
      v = Math.floor(v / 256);
    }
  } else octal(124, 12, fields.size);
  octal(136, 12, 0);
  put(156, 1, fields.type);
  put(157, 100, fields.linkname ?? '');
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  if (fields.prefix) put(345, 155, fields.prefix);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (badChecksum) sum += 1;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

function pad(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length++;
  return `${length}${body}`;
}

/** An entry's blocks (meta entries for long names first), content included. */
function* entryBlocks(e: TestEntry): Generator<Uint8Array> {
  const type = e.type ?? '0';
  const content = typeof e.content === 'string' ? bytes(e.content) : e.content;
  const size = e.lazySize ?? content?.length ?? 0;
  let name = e.path;
  let linkname = e.linkname ?? '';
  if (bytes(name).length > 100 || bytes(linkname).length > 100) {
    if (e.longNames === 'pax') {
      let records = '';
      if (bytes(name).length > 100) records += paxRecord('path', name);
      if (bytes(linkname).length > 100) records += paxRecord('linkpath', linkname);
      const body = bytes(records);
      yield header({ name: 'PaxHeader', type: 'x', size: body.length });
      yield body;
      yield pad(body.length);
    } else {
      for (const [flag, value] of [
        ['L', name],
        ['K', linkname],
      ] as const) {
        if (bytes(value).length <= 100) continue;
        const body = bytes(`${value}\0`);
        yield header({ name: '././@LongLink', type: flag, size: body.length });
        yield body;
        yield pad(body.length);
      }
    }
    name = name.slice(0, 100);
    linkname = linkname.slice(0, 100);
  }
  yield header({
    name,
    type,
    size,
    linkname,
    ...(e.mode !== undefined ? { mode: e.mode } : {}),
    ...(e.base256Size ? { base256Size: true } : {}),
  });
  if (e.lazySize !== undefined) {
    const chunk = new Uint8Array(1024 * 1024).fill(e.fill ?? 0);
    for (let left = e.lazySize; left > 0; left -= chunk.length) {
      yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    }
  } else if (content) yield content;
  yield pad(size);
}

/** A whole archive, generated as it is read; `end: false` leaves out the two zero blocks. */
export async function* tarStream(
  entries: TestEntry[],
  options: { end?: boolean } = {},
): AsyncGenerator<Uint8Array> {
  for (const e of entries) yield* entryBlocks(e);
  if (options.end !== false) yield new Uint8Array(BLOCK * 2);
}

/** A small archive in one buffer, built synchronously (for fuzz generators, which cannot await). */
export function tarBuffer(entries: TestEntry[], options: { end?: boolean } = {}): Uint8Array {
  const parts = entries.flatMap((e) => [...entryBlocks(e)]);
  if (options.end !== false) parts.push(new Uint8Array(BLOCK * 2));
  return concat(parts);
}

/** A small archive in one buffer. */
export async function tarBytes(entries: TestEntry[], options: { end?: boolean } = {}): Promise<Uint8Array> {
  return concat(await collect(tarStream(entries, options)));
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(new Uint8Array(chunk));
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A buffer handed out in chunks of `size` bytes, as a network stream would. */
export async function* chunked(data: Uint8Array, size = 4096): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

export interface FsEntry {
  path: string;
  content?: string | Uint8Array;
  symlink?: string;
}

/** Runs real GNU tar over a temporary directory holding `files`; returns the archive. */
export function gnuTar(files: FsEntry[], args: string[] = []): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'scan-layer-test-'));
  try {
    for (const f of files) {
      const full = join(dir, f.path);
      mkdirSync(dirname(full), { recursive: true });
      if (f.symlink !== undefined) symlinkSync(f.symlink, full);
      else writeFileSync(full, f.content ?? '');
    }
    return new Uint8Array(run('tar', ['-c', '-f', '-', '-C', dir, ...args, ...files.map((f) => f.path)]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a command that must exist; a missing tool fails the test loudly, naming it. */
export function run(command: string, args: string[], input?: Uint8Array): Buffer {
  try {
    return execFileSync(command, args, {
      maxBuffer: 1024 ** 3,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input ? { input } : {}),
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new Error(`this test needs "${command}" on the PATH, and it is not installed`);
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stderr?.toString() ?? ''}`);
  }
}
