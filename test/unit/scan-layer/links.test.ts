// Package databases and OS files stored as links, in real tar layers: a hardlink names a file of
// its layer or a lower one, as it stood when the link was made; a symlink (relative or absolute)
// is resolved in the image as it finally stands; targets no parser reads are read by reading the
// layer again, once; loops, dangling links and whited-out targets end in a warning.
import { describe, expect, it } from 'vitest';
import { appPackageParsers } from '../../../origin/scan/apps/index.ts';
import { mergeLayers } from '../../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../../origin/scan/layer/readers.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { scanImage } from './image-layers.ts';
import type { TestEntry } from './tar-helpers.ts';

const PARSERS = [...osPackageParsers, ...appPackageParsers];
const STATUS = 'var/lib/dpkg/status';
const DEBIAN: TestEntry = { path: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' };

/** A dpkg status database listing these name@version packages as installed. */
function status(...packages: string[]): string {
  return packages
    .map((p) => {
      const [name, version] = p.split('@');
      return `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\n`;
    })
    .join('\n');
}

const file = (path: string, content: string): TestEntry => ({ path, content });
const symlink = (path: string, linkname: string): TestEntry => ({ path, type: '2', linkname });
const hardlink = (path: string, linkname: string): TestEntry => ({ path, type: '1', linkname });
const whiteout = (path: string): TestEntry => {
  const slash = path.lastIndexOf('/');
  return { path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, content: '' };
};

async function scan(...layers: TestEntry[][]) {
  const { inventory, rereads } = await scanImage(layers, PARSERS);
  return {
    packages: inventory.packages.map((p) => `${p.path} ${p.name}@${p.version} ${p.ecosystem} ${p.layer}`),
    warnings: inventory.warnings,
    os: inventory.os,
    rereads,
  };
}

describe('a package database stored as a link is read', () => {
  it('a hardlink to a file of its own layer that no parser reads', async () => {
    const result = await scan([
      DEBIAN,
      file('var/lib/dpkg/status-real', status('libc6@2.36-9')),
      hardlink(STATUS, 'var/lib/dpkg/status-real'),
    ]);
    expect(result.packages).toEqual([`${STATUS} libc6@2.36-9 Debian:12 L1`]);
    expect(result.warnings).toEqual([]);
    expect(result.rereads).toEqual({ L1: [['var/lib/dpkg/status-real']] });
  });

  it('a relative symlink in its own layer', async () => {
    const result = await scan([
      DEBIAN,
      symlink(STATUS, '../../../srv/db/status'),
      file('srv/db/status', status('bash@5.2.15-2')),
    ]);
    expect(result.packages).toEqual([`${STATUS} bash@5.2.15-2 Debian:12 L1`]);
    expect(result.warnings).toEqual([]);
  });

  it('an absolute symlink in its own layer, resolved against the image root', async () => {
    const result = await scan([
      DEBIAN,
      file('srv/db/status', status('bash@5.2.15-2')),
      symlink(STATUS, '/srv/db/../db/status'),
    ]);
    expect(result.packages).toEqual([`${STATUS} bash@5.2.15-2 Debian:12 L1`]);
  });

  it('a symlink and a hardlink to a file in a lower layer, attributed to the layer holding the file', async () => {
    const symlinked = await scan(
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9', 'bash@5.2.15-2'))],
      [symlink(STATUS, '/srv/db/status')],
    );
    expect(symlinked.packages).toEqual([
      `${STATUS} libc6@2.36-9 Debian:12 L1`,
      `${STATUS} bash@5.2.15-2 Debian:12 L1`,
    ]);
    expect(symlinked.warnings).toEqual([]);
    // Neither layer read that path: both are read again, once, in one round.
    expect(symlinked.rereads).toEqual({ L2: [['srv/db/status']], L1: [['srv/db/status']] });

    const hardlinked = await scan(
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9'))],
      [hardlink(STATUS, 'srv/db/status')],
    );
    expect(hardlinked.packages).toEqual([`${STATUS} libc6@2.36-9 Debian:12 L1`]);
  });

  it('a symlink reads the target as the image finally has it; a hardlink, as it was when linked', async () => {
    const layers = (link: TestEntry): TestEntry[][] => [
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9'))],
      [link],
      [file('srv/db/status', status('libc6@2.36-9+deb12u4'))],
    ];
    expect((await scan(...layers(symlink(STATUS, '/srv/db/status')))).packages).toEqual([
      `${STATUS} libc6@2.36-9+deb12u4 Debian:12 L3`,
    ]);
    expect((await scan(...layers(hardlink(STATUS, 'srv/db/status')))).packages).toEqual([
      `${STATUS} libc6@2.36-9 Debian:12 L1`,
    ]);
  });

  it('through a symlinked directory of a lower layer', async () => {
    const result = await scan(
      [DEBIAN, symlink('data', 'srv/data'), file('srv/data/db/status', status('libc6@2.36-9'))],
      [symlink(STATUS, '/data/db/status')],
    );
    expect(result.packages).toEqual([`${STATUS} libc6@2.36-9 Debian:12 L1`]);
    expect(result.warnings).toEqual([]);
  });

  it('an OS file linked to another OS file of a lower layer needs no second read', async () => {
    const result = await scan(
      [file('usr/lib/os-release', 'ID=alpine\nVERSION_ID=3.19.1\n')],
      [
        symlink('etc/os-release', '../usr/lib/os-release'),
        file('lib/apk/db/installed', 'P:musl\nV:1.2.4-r2\n'),
      ],
    );
    expect(result.os).toEqual({ id: 'alpine', versionId: '3.19.1', ecosystem: 'Alpine:v3.19' });
    expect(result.rereads).toEqual({});
  });

  it('a link to a file read at its own path adds nothing: its packages are listed once, there', async () => {
    const result = await scan([
      DEBIAN,
      file('var/lib/dpkg/status.d/base', status('base-files@12.4')),
      hardlink(STATUS, 'var/lib/dpkg/status.d/base'),
      symlink('app/node_modules/a/package.json', '../b/package.json'),
      file('app/node_modules/b/package.json', '{"name":"b","version":"1.0.0"}'),
    ]);
    expect(result.packages).toEqual([
      'app/node_modules/b/package.json b@1.0.0 npm L1',
      'var/lib/dpkg/status.d/base base-files@12.4 Debian:12 L1',
    ]);
    expect(result.rereads).toEqual({});
  });

  it('what a layer was read again for is kept with it: merged again, nothing is read', async () => {
    const { inventory, layers, rereads } = await scanImage(
      [[DEBIAN, file('srv/db/status', status('libc6@2.36-9'))], [symlink(STATUS, '/srv/db/status')]],
      PARSERS,
    );
    expect(Object.keys(rereads).sort()).toEqual(['L1', 'L2']);
    const again = mergeLayers(layers, linkReaders(PARSERS));
    expect(again.reads).toEqual([]);
    expect(again.inventory).toEqual(inventory);
  });
});

describe('links that lead nowhere end in a warning, not in an empty success', () => {
  it('a symlink to a file a later layer whited out; a hardlink made before keeps its content', async () => {
    const dangling = await scan(
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9'))],
      [symlink(STATUS, '/srv/db/status')],
      [whiteout('srv/db/status')],
    );
    expect(dangling.packages).toEqual([]);
    expect(dangling.warnings).toEqual([
      `layer L2: ${STATUS} → srv/db/status: no such file in the image; not read`,
      'the OS is debian 12 but no OS package was found (no package database, or an empty one): its OS packages are not scanned',
    ]);
    const kept = await scan(
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9'))],
      [hardlink(STATUS, 'srv/db/status')],
      [whiteout('srv/db/status')],
    );
    expect(kept.packages).toEqual([`${STATUS} libc6@2.36-9 Debian:12 L1`]);
  });

  it('a link to a target whited out below it, and a whited-out directory on the way', async () => {
    const result = await scan(
      [DEBIAN, file('srv/db/status', status('libc6@2.36-9'))],
      [{ path: 'srv/.wh.db', content: '' }],
      [symlink(STATUS, '/srv/db/status')],
    );
    expect(result.packages).toEqual([]);
    expect(result.warnings[0]).toBe(
      `layer L3: ${STATUS} → srv/db/status: no such file in the image; not read`,
    );
  });

  it('a loop of symlinks, and a chain longer than Linux follows, across layers', async () => {
    const loop = await scan(
      [DEBIAN, symlink('srv/a', 'b')],
      [symlink('srv/b', '/srv/a'), symlink(STATUS, '/srv/a')],
    );
    expect(loop.packages).toEqual([]);
    expect(loop.warnings[0]).toBe(
      `layer L2: ${STATUS} → srv/a → srv/b → srv/a: the links form a loop; not read`,
    );
    const self = await scan([symlink(STATUS, 'status')]);
    expect(self.warnings).toEqual([
      `layer L1: ${STATUS} → ${STATUS} → ${STATUS}: the links form a loop; not read`,
    ]);

    const chain: TestEntry[] = [symlink(STATUS, '/srv/l0')];
    for (let i = 0; i < 45; i++) chain.push(symlink(`srv/l${i}`, `l${i + 1}`));
    chain.push(file('srv/l45', status('libc6@2.36-9')));
    const long = await scan(chain);
    expect(long.packages).toEqual([]);
    expect(long.warnings[0]).toMatch(
      /^layer L1: var\/lib\/dpkg\/status → srv\/l0 → .* → srv\/l40: more than 40 links; not read$/,
    );
  });

  it('a chain that would take more than three rounds of reading the layers again', async () => {
    const result = await scan(
      [
        DEBIAN,
        symlink('a', 'b'),
        symlink('b', 'c'),
        symlink('c', 'd'),
        file('d/x/status', status('libc6@2.36-9')),
      ],
      [symlink(STATUS, '/a/x/status')],
    );
    expect(result.packages).toEqual([]);
    expect(result.warnings[0]).toBe(
      `layer L2: ${STATUS} → a/x/status: too many links through files nothing reads; not read`,
    );
    expect(result.rereads.L1).toHaveLength(3);
  });

  it('a link to a directory, and to a path no layer has', async () => {
    const result = await scan(
      [DEBIAN, { path: 'srv/db', type: '5' }, symlink(STATUS, '/srv/db')],
      [symlink('lib/apk/db/installed', '/nowhere/installed')],
    );
    expect(result.warnings.slice(0, 2)).toEqual([
      'layer L2: lib/apk/db/installed → nowhere/installed: no such file in the image; not read',
      `layer L1: ${STATUS} → srv/db: not a regular file; not read`,
    ]);
  });

  it('a target that cannot be read says why, naming the link', async () => {
    const result = await scan([
      file('opt/pkgs.sqlite', 'not sqlite'),
      symlink('var/lib/rpm/rpmdb.sqlite', '/opt/pkgs.sqlite'),
    ]);
    expect(result.warnings).toEqual([
      'layer L1: var/lib/rpm/rpmdb.sqlite: not an SQLite database (through the symlink to opt/pkgs.sqlite)',
    ]);
  });
});
