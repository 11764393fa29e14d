// origin/scan/os/dpkg.ts: dpkg's status database and distroless status.d name the installed
// Debian packages with their source packages, as dpkg-query itself reports them.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { analyzeLayer } from '../../../origin/scan/layer/analyze-layer.ts';
import { mergeLayers } from '../../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../../origin/scan/layer/readers.ts';
import { dpkgParser, parseDpkgStatus } from '../../../origin/scan/os/dpkg.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { chunked, gnuTar, run } from './tar-helpers.ts';

const readers = linkReaders(osPackageParsers);

/** dpkg-query's answer: the named fields of each package, space-separated, a line each. */
const query = (fields: string[], ...packages: string[]) =>
  run('dpkg-query', ['-W', `-f=${fields.map((f) => `\${${f}}`).join(' ')}\n`, ...packages]).toString('utf8');

describe("this machine's dpkg database", () => {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  const packages = parseDpkgStatus(status);

  it('lists as many packages as dpkg-query says are "install ok installed"', () => {
    const installed = query(['Status'])
      .split('\n')
      .filter((s) => s === 'install ok installed').length;
    expect(installed).toBeGreaterThan(50);
    expect(packages.length).toBe(installed);
  });

  it('lists the same names and versions as dpkg-query', () => {
    const expected = query(['db:Status-Status', 'Package', 'Version'])
      .split('\n')
      .filter((l) => l.startsWith('installed '))
      .map((l) => l.slice('installed '.length))
      .sort();
    expect(packages.map((p) => `${p.name} ${p.version}`).sort()).toEqual(expected);
  });

  it('names glibc as the source of libc6, with the version dpkg-query gives', () => {
    const libc6 = packages.find((p) => p.name === 'libc6');
    // One line per architecture installed; they agree.
    const [sourceName, sourceVersion] = query(['source:Package', 'source:Version'], 'libc6')
      .split('\n')[0]!
      .split(' ');
    expect(libc6?.sourceName).toBe('glibc');
    expect(libc6?.sourceName).toBe(sourceName);
    expect(libc6?.sourceVersion ?? libc6?.version).toBe(sourceVersion);
  });

  it('scans a layer of this machine’s own files (GNU tar, gzip) as Debian 12', async () => {
    // /etc/os-release is a symlink here, to usr/lib/os-release in the same layer.
    const tar = run('tar', [
      '-c',
      '-f',
      '-',
      '-C',
      '/',
      'etc/os-release',
      'usr/lib/os-release',
      'etc/debian_version',
      'var/lib/dpkg/status',
    ]);
    const layer = await analyzeLayer(chunked(gzipSync(tar), 65536), osPackageParsers);
    if (!layer.ok) throw new Error(layer.reason);
    const merged = mergeLayers([{ digest: 'sha256:local', inventory: layer.inventory }], readers);
    expect(merged.reads).toEqual([]);
    const image = merged.inventory;
    expect(image.warnings).toEqual([]);
    const osRelease = readFileSync('/usr/lib/os-release', 'utf8');
    const versionId = /^VERSION_ID="?(\d+)/m.exec(osRelease)?.[1];
    expect(image.os?.ecosystem).toBe(`Debian:${versionId}`);
    expect(image.packages.length).toBe(packages.length);
    expect(image.packages.find((p) => p.name === 'libc6')).toMatchObject({
      kind: 'dpkg',
      sourceName: 'glibc',
      ecosystem: `Debian:${versionId}`,
      path: 'var/lib/dpkg/status',
      layer: 'sha256:local',
    });
  });
});

describe('distroless status.d', () => {
  /** This machine's stanza for a package, without its Status line, as distroless writes them. */
  function stanzaOf(name: string): string {
    const status = readFileSync('/var/lib/dpkg/status', 'utf8');
    const stanza = status.split('\n\n').find((s) => s.startsWith(`Package: ${name}\n`));
    if (!stanza) throw new Error(`no ${name} on this machine`);
    return `${stanza.replace(/^Status: .*\n/m, '')}\n`;
  }

  it('makes each status.d file its own package file, ignoring md5sums', async () => {
    const dir = 'var/lib/dpkg/status.d';
    const tar = gnuTar([
      { path: `${dir}/libc6`, content: stanzaOf('libc6') },
      { path: `${dir}/libc6.md5sums`, content: readFileSync('/var/lib/dpkg/info/libc6:amd64.md5sums') },
      { path: `${dir}/base-files`, content: stanzaOf('base-files') },
      { path: `${dir}/base-files.md5sums`, content: 'd41d8cd98f00b204e9800998ecf8427e  etc/issue\n' },
      { path: 'etc/os-release', content: readFileSync('/usr/lib/os-release') },
    ]);
    const layer = await analyzeLayer(chunked(tar), osPackageParsers);
    if (!layer.ok) throw new Error(layer.reason);
    const files = layer.inventory.files.map((f) => [f.path, f.packages.map((p) => p.name)]).sort();
    expect(files).toEqual([
      [`${dir}/base-files`, ['base-files']],
      [`${dir}/libc6`, ['libc6']],
    ]);
    const image = mergeLayers(
      [{ digest: 'sha256:distroless', inventory: layer.inventory }],
      readers,
    ).inventory;
    expect(image.packages.find((p) => p.name === 'libc6')).toMatchObject({
      sourceName: 'glibc',
      ecosystem: 'Debian:12',
    });
  });

  it('wants status and status.d files, not their md5sums or deeper files', () => {
    const wants = (path: string) => dpkgParser.wants({ path, mode: 0o644, size: 1 });
    expect(wants('var/lib/dpkg/status')).toBe(true);
    expect(wants('var/lib/dpkg/status.d/libssl3')).toBe(true);
    expect(wants('var/lib/dpkg/status.d/libssl3.md5sums')).toBe(false);
    expect(wants('var/lib/dpkg/status.d/sub/x')).toBe(false);
    expect(wants('var/lib/dpkg/status-old')).toBe(false);
  });
});

describe('status database parsing', () => {
  const db = [
    'Package: plain',
    'Status: install ok installed',
    'Version: 1:2.3-4',
    'Description: a thing',
    ' with a long',
    ' .',
    ' description',
    '',
    'Package: with-source',
    'Status: install ok installed',
    'Version: 5.0-1+b1',
    'Source: upstream (5.0-1)',
    '',
    'Package: same-source-version',
    'status: install ok installed',
    'Version: 1.0',
    'Source: src (1.0)',
    '',
    'Package: removed',
    'Status: deinstall ok config-files',
    'Version: 1.0',
    '',
    'Package: half',
    'Status: install reinstreq half-installed',
    'Version: 1.0',
    '',
    'Package: held',
    'Status: hold ok installed',
    'Version: 2.0',
    '',
    'Package: no-version',
    'Status: install ok installed',
    '',
    'this line is not a field',
    'Package: malformed',
    'Status: install ok installed',
    'Version: 1.0',
    '',
    'Package: twice',
    'Package: twice',
    'Status: install ok installed',
    'Version: 1.0',
    '',
    '',
    'Package: crlf\r',
    'Status: install ok installed\r',
    'Version: 3.0\r',
  ].join('\n');

  it('keeps installed packages only, skipping malformed stanzas', () => {
    expect(parseDpkgStatus(db)).toEqual([
      { kind: 'dpkg', name: 'plain', version: '1:2.3-4', sourceName: 'plain' },
      {
        kind: 'dpkg',
        name: 'with-source',
        version: '5.0-1+b1',
        sourceName: 'upstream',
        sourceVersion: '5.0-1',
      },
      { kind: 'dpkg', name: 'same-source-version', version: '1.0', sourceName: 'src' },
      { kind: 'dpkg', name: 'held', version: '2.0', sourceName: 'held' },
      { kind: 'dpkg', name: 'crlf', version: '3.0', sourceName: 'crlf' },
    ]);
  });

  it('requires a Status in the status file but not in status.d', () => {
    const stanza = 'Package: x\nVersion: 1\n';
    expect(parseDpkgStatus(stanza)).toEqual([]);
    expect(parseDpkgStatus(stanza, true)).toEqual([
      { kind: 'dpkg', name: 'x', version: '1', sourceName: 'x' },
    ]);
  });

  it('reads a large database within its 64 MiB limit quickly', () => {
    const stanza = (i: number) =>
      `Package: p${i}\nStatus: install ok installed\nVersion: 1.${i}\nSource: s${i % 100}\nDescription: d\n ${'x'.repeat(200)}\n\n`;
    const parts: string[] = [];
    for (let i = 0; i < 100_000; i++) parts.push(stanza(i));
    const text = parts.join('');
    expect(text.length).toBeLessThan(dpkgParser.maxBytes);
    const started = performance.now();
    expect(parseDpkgStatus(text).length).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
