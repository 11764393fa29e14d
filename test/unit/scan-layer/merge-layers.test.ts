// origin/scan/layer/merge-layers.ts: layers apply in order as an overlay filesystem applies
// them; each package is attributed to the layer that brought it at its version; the OS and its
// OSV ecosystem come from the identification files that survive.
import { describe, expect, it } from 'vitest';
import { appPackageParsers } from '../../../origin/scan/apps/index.ts';
import type {
  FoundPackage,
  ImageInventory,
  LayerInventory,
  PackageKind,
} from '../../../origin/scan/inventory.ts';
import {
  detectOs,
  type LayerInput,
  mergeLayers,
  osEcosystem,
} from '../../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../../origin/scan/layer/readers.ts';
import { osPackageParsers } from '../../../origin/scan/os/index.ts';
import { scanImage } from './image-layers.ts';
import type { TestEntry } from './tar-helpers.ts';

const READERS = linkReaders([...osPackageParsers, ...appPackageParsers]);

/** The image's inventory, for layers that need no second read. */
function merge(layers: LayerInput[]): ImageInventory {
  const merged = mergeLayers(layers, READERS);
  expect(merged.reads).toEqual([]);
  return merged.inventory;
}

const pkg = (name: string, version: string, kind: PackageKind = 'dpkg'): FoundPackage => ({
  kind,
  name,
  version,
});

function layer(parts: Partial<LayerInventory> & { pkgs?: Record<string, FoundPackage[]> }): LayerInventory {
  return {
    files: Object.entries(parts.pkgs ?? {}).map(([path, packages]) => ({ path, packages })),
    links: parts.links ?? [],
    osFiles: parts.osFiles ?? {},
    whiteouts: parts.whiteouts ?? [],
    opaqueDirs: parts.opaqueDirs ?? [],
    warnings: parts.warnings ?? [],
  };
}

const DEBIAN = {
  'etc/os-release': 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
};

/** name@version → layer, for a merge. */
function attribution(layers: LayerInventory[]): Record<string, string> {
  const image = merge(layers.map((inventory, i) => ({ digest: `L${i + 1}`, inventory })));
  return Object.fromEntries(image.packages.map((p) => [`${p.path}:${p.name}@${p.version}`, p.layer]));
}

describe('applying layers', () => {
  it('a package file replaces the one at the same path from earlier layers', () => {
    expect(
      attribution([
        layer({ pkgs: { 'a.json': [pkg('x', '1', 'npm')], 'b.json': [pkg('y', '1', 'npm')] } }),
        layer({ pkgs: { 'a.json': [pkg('x', '2', 'npm')] } }),
      ]),
    ).toEqual({ 'a.json:x@2': 'L2', 'b.json:y@1': 'L1' });
  });

  it('a whiteout removes the path and everything below it, in earlier layers only', () => {
    expect(
      attribution([
        layer({
          pkgs: {
            'app/node_modules/x/package.json': [pkg('x', '1', 'npm')],
            'app/node_modules/xy/package.json': [pkg('xy', '1', 'npm')],
            'app/keep.json': [pkg('k', '1', 'npm')],
          },
        }),
        layer({
          whiteouts: ['app/node_modules/x', 'app/new.json'],
          pkgs: { 'app/new.json': [pkg('n', '1', 'npm')] },
        }),
      ]),
    ).toEqual({
      'app/keep.json:k@1': 'L1',
      'app/new.json:n@1': 'L2',
      'app/node_modules/xy/package.json:xy@1': 'L1',
    });
  });

  it('an opaque directory hides earlier layers’ content below it, not its own layer’s', () => {
    expect(
      attribution([
        layer({
          pkgs: { 'opt/app/old.json': [pkg('old', '1', 'npm')], 'opt/other.json': [pkg('o', '1', 'npm')] },
        }),
        layer({ opaqueDirs: ['opt/app'], pkgs: { 'opt/app/new.json': [pkg('new', '1', 'npm')] } }),
      ]),
    ).toEqual({ 'opt/app/new.json:new@1': 'L2', 'opt/other.json:o@1': 'L1' });
  });

  it('an opaque root hides everything from earlier layers', () => {
    expect(
      attribution([
        layer({ pkgs: { 'a.json': [pkg('a', '1', 'npm')] }, osFiles: DEBIAN }),
        layer({ opaqueDirs: [''], pkgs: { 'b.json': [pkg('b', '1', 'npm')] } }),
      ]),
    ).toEqual({ 'b.json:b@1': 'L2' });
  });

  it('keeps packages of a rewritten dpkg status attributed to the layer that installed them', () => {
    const status = 'var/lib/dpkg/status';
    expect(
      attribution([
        layer({ osFiles: DEBIAN, pkgs: { [status]: [pkg('libc6', '2.36-9'), pkg('bash', '5.2-1')] } }),
        layer({ pkgs: { [status]: [pkg('libc6', '2.36-9'), pkg('bash', '5.2-2'), pkg('curl', '7.88')] } }),
        layer({ pkgs: { [status]: [pkg('libc6', '2.36-9'), pkg('bash', '5.2-2'), pkg('curl', '7.88')] } }),
      ]),
    ).toEqual({
      [`${status}:libc6@2.36-9`]: 'L1',
      [`${status}:bash@5.2-2`]: 'L2',
      [`${status}:curl@7.88`]: 'L2',
    });
  });

  it('starts the attribution again when a whiteout broke the chain', () => {
    const status = 'var/lib/dpkg/status';
    expect(
      attribution([
        layer({ pkgs: { [status]: [pkg('libc6', '1')] } }),
        layer({ whiteouts: ['var/lib/dpkg'] }),
        layer({ pkgs: { [status]: [pkg('libc6', '1')] } }),
      ]),
    ).toEqual({ [`${status}:libc6@1`]: 'L3' });
  });

  it('keeps each distroless status.d file as its own package file', () => {
    const image = merge([
      {
        digest: 'L1',
        inventory: layer({
          osFiles: DEBIAN,
          pkgs: {
            'var/lib/dpkg/status.d/libc6': [{ ...pkg('libc6', '2.36-9'), sourceName: 'glibc' }],
            'var/lib/dpkg/status.d/libssl3': [{ ...pkg('libssl3', '3.0.11-1'), sourceName: 'openssl' }],
          },
        }),
      },
      {
        digest: 'L2',
        inventory: layer({
          pkgs: {
            'var/lib/dpkg/status.d/libssl3': [{ ...pkg('libssl3', '3.0.13-1'), sourceName: 'openssl' }],
          },
        }),
      },
    ]);
    expect(image.packages).toEqual([
      {
        kind: 'dpkg',
        name: 'libc6',
        version: '2.36-9',
        sourceName: 'glibc',
        ecosystem: 'Debian:12',
        path: 'var/lib/dpkg/status.d/libc6',
        layer: 'L1',
      },
      {
        kind: 'dpkg',
        name: 'libssl3',
        version: '3.0.13-1',
        sourceName: 'openssl',
        ecosystem: 'Debian:12',
        path: 'var/lib/dpkg/status.d/libssl3',
        layer: 'L2',
      },
    ]);
  });

  it('an image whose OS is known but that lists no OS package says so; one with OS packages, or no OS, does not', () => {
    const bare = merge([
      {
        digest: 'L1',
        inventory: layer({ osFiles: DEBIAN, pkgs: { 'app/package.json': [pkg('a', '1', 'npm')] } }),
      },
    ]);
    expect(bare.warnings).toEqual([
      'the OS is Debian GNU/Linux 12 (bookworm) but no OS package was found (no package database, or an empty one): its OS packages are not scanned',
    ]);
    const emptied = merge([
      {
        digest: 'L1',
        inventory: layer({ osFiles: DEBIAN, pkgs: { 'var/lib/dpkg/status': [pkg('bash', '5.2')] } }),
      },
      { digest: 'L2', inventory: layer({ whiteouts: ['var/lib/dpkg/status'] }) },
    ]);
    expect(emptied.warnings).toHaveLength(1);
    const debian = merge([
      {
        digest: 'L1',
        inventory: layer({ osFiles: DEBIAN, pkgs: { 'var/lib/dpkg/status': [pkg('bash', '5.2')] } }),
      },
    ]);
    expect(debian.warnings).toEqual([]);
    expect(
      merge([{ digest: 'L1', inventory: layer({ pkgs: { 'a.json': [pkg('a', '1', 'npm')] } }) }]).warnings,
    ).toEqual([]);
  });

  it('prefixes each warning with its layer', () => {
    const image = merge([{ digest: 'sha256:aa', inventory: layer({ warnings: ['x: too big'] }) }]);
    expect(image.warnings).toEqual(['layer sha256:aa: x: too big']);
  });
});

describe('layers read from tar archives', () => {
  it('applies whiteouts and opaque directories of real layers, attributing each package to its layer', async () => {
    const apk = (...pkgs: string[]) =>
      pkgs.map((p) => `P:${p.split('@')[0]}\nV:${p.split('@')[1]}\no:${p.split('@')[0]}\n`).join('\n');
    const layers: TestEntry[][] = [
      [
        { path: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.18.4\n' },
        { path: 'lib/apk/db/installed', content: apk('musl@1.2.4-r1', 'zlib@1.2.13-r1') },
        { path: 'var/lib/dpkg/status.d/old', content: 'Package: old\nVersion: 1\n' },
      ],
      [
        { path: 'lib/apk/db/installed', content: apk('musl@1.2.4-r1', 'zlib@1.3-r0', 'curl@8.5.0-r0') },
        { path: 'var/lib/dpkg/status.d/new', content: 'Package: new\nVersion: 2\n' },
        { path: 'var/lib/dpkg/status.d/.wh..wh..opq', content: '' },
        { path: 'etc/.wh.os-release', content: '' },
        { path: 'etc/alpine-release', content: '3.19.1\n' },
      ],
    ];
    const { inventory: image } = await scanImage(layers, osPackageParsers);
    expect(image.os).toEqual({ id: 'alpine', versionId: '3.19.1', ecosystem: 'Alpine:v3.19' });
    expect(image.packages.map((p) => `${p.name}@${p.version} ${p.ecosystem} ${p.layer}`)).toEqual([
      'musl@1.2.4-r1 Alpine:v3.19 L1',
      'zlib@1.3-r0 Alpine:v3.19 L2',
      'curl@8.5.0-r0 Alpine:v3.19 L2',
      // Opaque status.d hides layer 1's "old" but not its own layer's "new"; dpkg in Alpine has no ecosystem.
      'new@2 undefined L2',
    ]);
  });
});

describe('OS detection', () => {
  const os = (files: Record<string, string>) => detectOs(new Map(Object.entries(files)));

  it('reads etc/os-release first', () => {
    expect(
      os({
        ...DEBIAN,
        'usr/lib/os-release': 'ID=alpine\nVERSION_ID=3.18.4\n',
        'etc/debian_version': '11.9\n',
      }),
    ).toEqual({
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      ecosystem: 'Debian:12',
    });
  });

  it('falls back to usr/lib/os-release (etc/os-release is often a symlink to it)', () => {
    expect(
      os({ 'usr/lib/os-release': 'ID=ubuntu\nVERSION_ID="22.04"\n', 'etc/debian_version': 'bookworm/sid\n' }),
    ).toEqual({
      id: 'ubuntu',
      versionId: '22.04',
      ecosystem: 'Ubuntu:22.04',
    });
  });

  it('then to etc/alpine-release', () => {
    expect(os({ 'etc/alpine-release': '3.18.4\n', 'etc/debian_version': '12.4\n' })).toEqual({
      id: 'alpine',
      versionId: '3.18.4',
      ecosystem: 'Alpine:v3.18',
    });
  });

  it('then to etc/debian_version: "12.4" is Debian 12, "bookworm/sid" no release', () => {
    expect(os({ 'etc/debian_version': '12.4\n' })).toEqual({
      id: 'debian',
      versionId: '12.4',
      ecosystem: 'Debian:12',
    });
    expect(os({ 'etc/debian_version': 'bookworm/sid\n' })).toEqual({
      id: 'debian',
      versionId: 'bookworm/sid',
    });
  });

  it('takes the Debian version from debian_version when os-release has none (testing, sid)', () => {
    expect(
      os({
        'etc/os-release': 'ID=debian\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\n',
        'etc/debian_version': 'trixie/sid\n',
      }),
    ).toEqual({
      id: 'debian',
      versionId: 'trixie/sid',
      prettyName: 'Debian GNU/Linux trixie/sid',
    });
  });

  it('finds no OS without identification files', () => {
    expect(os({})).toBeUndefined();
    expect(merge([{ digest: 'L1', inventory: layer({}) }]).os).toBeUndefined();
  });

  it('uses the files that survive the layers', () => {
    const image = merge([
      { digest: 'L1', inventory: layer({ osFiles: { 'etc/os-release': 'ID=alpine\nVERSION_ID=3.17.1\n' } }) },
      {
        digest: 'L2',
        inventory: layer({ whiteouts: ['etc/os-release'], osFiles: { 'etc/alpine-release': '3.19.0\n' } }),
      },
    ]);
    expect(image.os?.ecosystem).toBe('Alpine:v3.19');
  });

  it('names the OSV ecosystem of each distribution', () => {
    expect(osEcosystem('debian', '12')).toBe('Debian:12');
    expect(osEcosystem('debian', '9.13')).toBe('Debian:9');
    expect(osEcosystem('ubuntu', '22.04')).toBe('Ubuntu:22.04');
    expect(osEcosystem('alpine', '3.18.4')).toBe('Alpine:v3.18');
    expect(osEcosystem('alpine', '3.20')).toBe('Alpine:v3.20');
    expect(osEcosystem('alpine', '3.19_alpha20230901')).toBeUndefined();
    expect(osEcosystem('rhel', '9.3')).toBe('Red Hat');
    expect(osEcosystem('rocky', '9.3')).toBe('Rocky Linux:9');
    expect(osEcosystem('almalinux', '8.9')).toBe('AlmaLinux:8');
    expect(osEcosystem('fedora', '39')).toBeUndefined();
  });
});

describe('package ecosystems', () => {
  it('gives OS packages the OS ecosystem, language packages theirs', () => {
    const image = merge([
      {
        digest: 'L1',
        inventory: layer({
          osFiles: DEBIAN,
          pkgs: {
            'var/lib/dpkg/status': [pkg('bash', '5.2')],
            'lib/apk/db/installed': [pkg('musl', '1.2', 'apk')],
            'app/package.json': [pkg('left-pad', '1.3.0', 'npm')],
            'app/METADATA': [pkg('requests', '2.31.0', 'pypi')],
            'app/bin': [pkg('stdlib', '1.22.1', 'go')],
            'app/x.jar': [pkg('org.example:x', '1.0', 'maven')],
          },
        }),
      },
    ]);
    expect(Object.fromEntries(image.packages.map((p) => [p.name, p.ecosystem]))).toEqual({
      bash: 'Debian:12',
      // An apk database in a Debian image is not Debian's: left unmatched rather than mismatched.
      musl: undefined,
      'left-pad': 'npm',
      requests: 'PyPI',
      stdlib: 'Go',
      'org.example:x': 'Maven',
    });
  });

  it('leaves OS packages without an ecosystem when the OS is unknown', () => {
    const image = merge([
      { digest: 'L1', inventory: layer({ pkgs: { 'var/lib/dpkg/status': [pkg('bash', '5.2')] } }) },
    ]);
    expect(image.packages[0]).not.toHaveProperty('ecosystem');
  });
});
