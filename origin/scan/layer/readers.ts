// Which files the scanner reads, and with what: the OS identification files, kept as text, and
// each file some parser wants, given to the first parser that wants it.
import type { EntryInfo, FileParser } from './file-parser.ts';

/** The files that say which OS an image is, in the order they are trusted (see merge-layers.ts). */
export const OS_FILES: readonly string[] = [
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
];
const OS_FILE_SET = new Set(OS_FILES);

export function isOsFile(path: string): boolean {
  return OS_FILE_SET.has(path);
}

/** What reads a path: a parser, or 'os' for an OS identification file. */
export type Reader = FileParser | 'os';

/** The first parser that wants the entry; `failed` hears of a parser whose wants() threw. */
export function parserFor(
  parsers: readonly FileParser[],
  info: EntryInfo,
  failed: (parser: FileParser, error: unknown) => void = () => {},
): FileParser | undefined {
  for (const parser of parsers) {
    try {
      if (parser.wants(info)) return parser;
    } catch (error) {
      failed(parser, error);
    }
  }
  return undefined;
}

/**
 * The reader of a link's path: a link is read as a file at its own path would be, whatever its
 * target is called (var/lib/dpkg/status as a dpkg database). Decided by the path alone, since a
 * link has no size or mode of its own: so the Go parser, which wants executables of some size,
 * never reads through a link, and the binary a link points to is read at its own path instead.
 */
export function linkReaders(parsers: readonly FileParser[]): (path: string) => Reader | undefined {
  return (path) => (isOsFile(path) ? 'os' : parserFor(parsers, { path, mode: 0o644, size: 0 }));
}
