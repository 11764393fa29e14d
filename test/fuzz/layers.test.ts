// Fuzzing the scanner's whole reading of layers (origin/scan/layer/analyze-layer.ts and
// merge-layers.ts), where every parser above meets the others: layers holding package databases,
// package files, jars, OS files, links and whiteouts with random or mutated content, compressed or
// not, then mutated as blobs. Each layer is an inventory or a reason, never an exception, and the
// layers of an image merge into one inventory.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { appPackageParsers } from '../../origin/scan/apps/index.ts';
import { analyzeLayer } from '../../origin/scan/layer/analyze-layer.ts';
import { mergeLayers } from '../../origin/scan/layer/merge-layers.ts';
import { linkReaders } from '../../origin/scan/layer/readers.ts';
import { osPackageParsers } from '../../origin/scan/os/index.ts';
import { writeZip } from '../unit/scan-apps/zip-writer.ts';
import { type TestEntry, tarBuffer } from '../unit/scan-layer/tar-helpers.ts';
import { anyText, chunkSizes, fuzz, fuzzTimeout, inChunks, mutated, mutatedBytes } from './fuzz-settings.ts';

const parsers = [...osPackageParsers, ...appPackageParsers];
const encoder = new TextEncoder();

const PATHS = [
  'var/lib/dpkg/status',
  'var/lib/dpkg/status.d/base',
  'lib/apk/db/installed',
  'etc/os-release',
  'usr/lib/os-release',
  'etc/alpine-release',
  'etc/debian_version',
  'app/node_modules/left-pad/package.json',
  'usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA',
  'app/lib/app.jar',
  'usr/local/bin/tool',
  'etc/.wh.os-release',
  'var/lib/.wh..wh..opq',
  'var/lib/rpm/rpmdb.sqlite',
  'var/lib/rpm/Packages',
];
const CONTENT = [
  'Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2-1\n',
  'P:musl\nV:1.2.4-r2\no:musl\n\nP:busybox\nV:1.36.1-r5\n',
  'ID=debian\nVERSION_ID="12"\n',
  'ID=alpine\nVERSION_ID=3.19.1\n',
  '{"name":"left-pad","version":"1.3.0"}',
  'Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n',
  '12.5\n',
];
const content = fc.oneof(
  mutated(fc.constantFrom(...CONTENT)).map((t) => encoder.encode(t)),
  fc.constant(
    writeZip([
      {
        name: 'META-INF/maven/org.x/lib/pom.properties',
        data: 'groupId=org.x\nartifactId=lib\nversion=1.0\n',
      },
    ]),
  ),
  fc.uint8Array({ maxLength: 300 }),
  anyText.map((t) => encoder.encode(t)),
);
/** Files where their content belongs, so that most layers name packages. */
const FILES: [string, string | Uint8Array][] = [
  ['var/lib/dpkg/status', CONTENT[0]!],
  ['lib/apk/db/installed', CONTENT[1]!],
  ['etc/os-release', CONTENT[2]!],
  ['usr/lib/os-release', CONTENT[3]!],
  ['app/node_modules/left-pad/package.json', CONTENT[4]!],
  ['usr/lib/python3/site-packages/six-1.16.0.dist-info/METADATA', CONTENT[5]!],
  ['etc/debian_version', CONTENT[6]!],
  [
    'app/lib/app.jar',
    writeZip([
      {
        name: 'META-INF/maven/org.x/lib/pom.properties',
        data: 'groupId=org.x\nartifactId=lib\nversion=1.0\n',
      },
    ]),
  ],
];
const entry: fc.Arbitrary<TestEntry> = fc.oneof(
  fc.constantFrom(...FILES).map(([path, data]) => ({ path, content: data })),
  fc.constantFrom(...FILES).map(([path, data]) => ({ path, content: data })),
  fc.record({ path: fc.constantFrom(...PATHS), content, mode: fc.constantFrom(0o644, 0o755) }),
  fc.record({
    path: fc.constantFrom(...PATHS),
    type: fc.constantFrom('1', '2'),
    linkname: fc.oneof(
      fc.constantFrom(...PATHS),
      fc.constantFrom('../../etc/os-release', '/var/lib/dpkg/status', '', '.', 'loop'),
    ),
  }),
  fc.record({ path: fc.constantFrom('var/lib', 'etc', 'app/node_modules'), type: fc.constant('5') }),
);
const layerTar = fc.array(entry, { maxLength: 6 }).map((entries) => tarBuffer(entries));
const blob = fc.oneof(
  layerTar,
  layerTar.map((tar) => new Uint8Array(gzipSync(tar))),
  mutatedBytes(layerTar),
  mutatedBytes(layerTar.map((tar) => new Uint8Array(gzipSync(tar)))),
  fc.uint8Array({ maxLength: 600 }),
);

describe('layers', () => {
  test(
    "any layer blob: an inventory or a reason; an image's layers merge; never an exception",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(blob, { minLength: 1, maxLength: 3 }), chunkSizes, async (blobs, sizes) => {
          const inventories = [];
          for (const [i, b] of blobs.entries()) {
            const scan = await analyzeLayer(inChunks(b, sizes), parsers);
            if (!scan.ok) {
              expect(typeof scan.reason).toBe('string');
              continue;
            }
            inventories.push({ digest: `sha256:${String(i).padStart(64, '0')}`, inventory: scan.inventory });
          }
          const merged = mergeLayers(inventories, linkReaders(parsers));
          for (const p of merged.inventory.packages)
            expect(typeof p.name === 'string' && typeof p.version === 'string').toBe(true);
        }),
        fuzz(0.5),
      );
    },
    fuzzTimeout(30_000),
  );
});
