// origin/scan/layer/path.ts, origin/scan/os/os-release.ts and origin/scan/os/apk.ts: the small
// text formats, read as their own tools read them.
import { describe, expect, it } from 'vitest';
import { isAtOrBelow, joinPath, normalisePath } from '../../../origin/scan/layer/path.ts';
import { apkParser, parseApkInstalled } from '../../../origin/scan/os/apk.ts';
import { parseOsRelease } from '../../../origin/scan/os/os-release.ts';

describe('path normalisation', () => {
  it.each([
    ['./etc/os-release', 'etc/os-release'],
    ['/etc/os-release', 'etc/os-release'],
    ['etc//apk///db/installed', 'etc/apk/db/installed'],
    ['usr/./lib/../lib/os-release', 'usr/lib/os-release'],
    ['../../etc/passwd', 'etc/passwd'],
    ['/../../../etc/passwd', 'etc/passwd'],
    ['a/../../b', 'b'],
    ['usr/lib/', 'usr/lib'],
    ['./', ''],
    ['..', ''],
    ['dir\\with\\backslashes', 'dir\\with\\backslashes'],
  ])('%s → %s', (raw, normal) => {
    expect(normalisePath(raw)).toBe(normal);
  });

  it('joins and compares normalised paths', () => {
    expect(joinPath('', 'etc')).toBe('etc');
    expect(joinPath('usr/lib', '../etc')).toBe('usr/etc');
    expect(isAtOrBelow('usr/lib/x', 'usr/lib')).toBe(true);
    expect(isAtOrBelow('usr/lib', 'usr/lib')).toBe(true);
    expect(isAtOrBelow('usr/libexec', 'usr/lib')).toBe(false);
    expect(isAtOrBelow('anything', '')).toBe(true);
  });
});

describe('os-release', () => {
  it('reads bare, double-quoted and single-quoted values with escapes, skipping comments and junk', () => {
    const text = [
      '# a comment',
      'NAME="Ubuntu"',
      'ID=ubuntu',
      "ID_LIKE='debian'",
      'VERSION_ID="22.04"',
      'PRETTY_NAME="Ubuntu 22.04.3 LTS \\"Jammy\\" \\$HOME \\\\ done"',
      'VARIANT=server\\ edition',
      'BROKEN="unterminated',
      'not a field',
      '=novalue',
      '  SPACED = ignored',
      'HOME_URL="https://www.ubuntu.com/" # trailing comment',
      '',
    ].join('\n');
    expect({ ...parseOsRelease(text) }).toEqual({
      NAME: 'Ubuntu',
      ID: 'ubuntu',
      ID_LIKE: 'debian',
      VERSION_ID: '22.04',
      PRETTY_NAME: 'Ubuntu 22.04.3 LTS "Jammy" $HOME \\ done',
      VARIANT: 'server edition',
      HOME_URL: 'https://www.ubuntu.com/',
    });
  });

  it('reads CRLF files', () => {
    expect(parseOsRelease('ID=rocky\r\nVERSION_ID="9.3"\r\n').VERSION_ID).toBe('9.3');
  });
});

describe('apk installed database', () => {
  it('lists name, version and origin of each record', () => {
    const db = [
      'C:Q1abc=',
      'P:musl',
      'V:1.2.4-r2',
      'A:x86_64',
      'o:musl',
      'F:lib',
      'R:ld-musl-x86_64.so.1',
      '',
      'P:libcrypto3',
      'V:3.1.4-r1',
      'o:openssl',
      '',
      'P:no-version',
      '',
      'P:no-origin',
      'V:1.0-r0',
    ].join('\n');
    expect(parseApkInstalled(db)).toEqual([
      { kind: 'apk', name: 'musl', version: '1.2.4-r2', sourceName: 'musl' },
      { kind: 'apk', name: 'libcrypto3', version: '3.1.4-r1', sourceName: 'openssl' },
      { kind: 'apk', name: 'no-origin', version: '1.0-r0', sourceName: 'no-origin' },
    ]);
  });

  it('wants lib/apk/db/installed only', () => {
    expect(apkParser.wants({ path: 'lib/apk/db/installed', mode: 0o644, size: 10 })).toBe(true);
    expect(apkParser.wants({ path: 'lib/apk/db/installed.old', mode: 0o644, size: 10 })).toBe(false);
  });
});
