// Fuzzing the application package files the scanner reads (origin/scan/apps/): npm's
// package.json, Python's METADATA, Go build info in executables, jar metadata (properties and
// manifests; the archives themselves are in zip.test.ts). Any bytes give packages or a warning,
// never an exception; files written from a package read back as it.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { goBinaryParser, parseModuleInfo, stdlibVersion } from '../../origin/scan/apps/go-binary.ts';
import { fromManifest, parseManifest, parseProperties } from '../../origin/scan/apps/java.ts';
import { npmParser } from '../../origin/scan/apps/npm.ts';
import { normalizePythonName, pythonParser } from '../../origin/scan/apps/python.ts';
import type { ParseOutcome } from '../../origin/scan/layer/file-parser.ts';
import { anyText, fuzz, mutated, mutatedBytes } from './fuzz-settings.ts';

const encoder = new TextEncoder();
const nameText = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const versionText = fc.stringMatching(/^[0-9][0-9a-z.+-]{0,12}$/);
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  anyText.map((t) => encoder.encode(t)),
);

function expectOutcome(outcome: ParseOutcome, path: string): void {
  if (outcome.ok) for (const p of outcome.packages) expect(p.name !== '' && p.version !== '').toBe(true);
  else expect(outcome.warning.startsWith(`${path}:`)).toBe(true);
}

describe('npm package.json', () => {
  const path = 'app/node_modules/@scope/pkg/package.json';
  const entry = { path, mode: 0o644, size: 0 };
  const packageJson = fc
    .record({ name: nameText, version: versionText, description: fc.string({ maxLength: 20 }) })
    .map((p) => JSON.stringify(p, null, 2));

  test('a package.json names its package', () => {
    fc.assert(
      fc.property(nameText, versionText, (name, version) => {
        const outcome = npmParser.parse(entry, encoder.encode(JSON.stringify({ name, version })));
        expect(outcome).toEqual({ ok: true, packages: [{ kind: 'npm', name, version }] });
      }),
      fuzz(),
    );
  });

  test('any bytes: packages or a warning naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(packageJson).map((t) => encoder.encode(t)),
          fc.jsonValue().map((v) => encoder.encode(JSON.stringify(v))),
          anyBytes,
        ),
        (b) => expectOutcome(npmParser.parse(entry, b) as ParseOutcome, path),
      ),
      fuzz(),
    );
  });
});

describe('Python METADATA', () => {
  const path = 'usr/lib/python3/site-packages/pkg-1.0.dist-info/METADATA';
  const entry = { path, mode: 0o644, size: 0 };
  const metadata = fc
    .tuple(nameText, versionText)
    .map(
      ([name, version]) =>
        `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\nSummary: x\n\nLong text\nName: other\n`,
    );

  test('METADATA names its distribution, the name normalised', () => {
    fc.assert(
      fc.property(nameText, versionText, (name, version) => {
        const text = `Metadata-Version: 2.1\r\nName: ${name}\r\nVersion: ${version}\r\n\r\nName: not this\r\n`;
        expect(pythonParser.parse(entry, encoder.encode(text))).toEqual({
          ok: true,
          packages: [{ kind: 'pypi', name: normalizePythonName(name), version }],
        });
      }),
      fuzz(),
    );
  });

  test('any bytes: packages or a warning naming the file', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(metadata).map((t) => encoder.encode(t)),
          anyBytes,
        ),
        (b) => expectOutcome(pythonParser.parse(entry, b) as ParseOutcome, path),
      ),
      fuzz(),
    );
  });
});

describe('Go build info', () => {
  const path = 'usr/local/bin/app';
  const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
  const uvarint = (n: number): Buffer => {
    const bytes: number[] = [];
    for (; n >= 0x80; n = Math.floor(n / 0x80)) bytes.push((n % 0x80) | 0x80);
    bytes.push(n);
    return Buffer.from(bytes);
  };
  /** An ELF-looking file with a Go ≥ 1.18 build info blob (inline strings) at an aligned offset. */
  const binary = (goVersion: string, modinfo: string, at: number): Uint8Array => {
    const frame = Buffer.alloc(16, 0x5a);
    const framed = Buffer.concat([frame, Buffer.from(modinfo), frame]);
    const blob = Buffer.concat([
      MAGIC,
      Buffer.from([8, 2]),
      Buffer.alloc(16),
      uvarint(goVersion.length),
      Buffer.from(goVersion),
      uvarint(framed.length),
      framed,
    ]);
    const file = Buffer.alloc(at + blob.length + 64);
    file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    file.set(blob, at);
    return new Uint8Array(file);
  };
  const modulePath = fc.stringMatching(/^[a-z0-9.-]{1,12}(\/[a-z0-9._-]{1,10}){0,2}$/);
  const moduleVersion = fc.stringMatching(/^[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}$/);
  const build = fc.record({
    go: fc
      .tuple(fc.integer({ min: 18, max: 30 }), fc.integer({ min: 0, max: 9 }))
      .map(([minor, patch]) => `go1.${minor}.${patch}`),
    deps: fc.uniqueArray(fc.tuple(modulePath, moduleVersion), { selector: ([p]) => p, maxLength: 4 }),
    at: fc.integer({ min: 1, max: 300 }).map((n) => n * 16),
  });
  const fileOf = (b: { go: string; deps: [string, string][]; at: number }) =>
    binary(
      b.go,
      `path\texample.com/app\nmod\texample.com/app\t(devel)\t\n${b.deps.map(([p, v]) => `dep\t${p}\tv${v}\th1:x=\n`).join('')}`,
      b.at,
    );

  /** Pushes `bytes` in chunks of the given sizes, as the layer walker does, until the parser is done. */
  function stream(bytes: Uint8Array, sizes: number[]): ParseOutcome {
    const file = goBinaryParser.open({ path, mode: 0o755, size: bytes.length });
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const size = Math.max(1, sizes[i % Math.max(1, sizes.length)] ?? bytes.length);
      const more = file.push(bytes.slice(at, at + size));
      at += size;
      if (!more) break;
    }
    return file.finish();
  }
  const sizes = fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 6 });

  test('an executable with build info names the toolchain and its dependencies, however it is chunked', () => {
    fc.assert(
      fc.property(build, sizes, (b, s) => {
        expect(stream(fileOf(b), s)).toEqual({
          ok: true,
          packages: [
            { kind: 'go', name: 'stdlib', version: b.go.slice(2) },
            ...b.deps.map(([p, v]) => ({ kind: 'go', name: p, version: v })),
          ],
        });
      }),
      fuzz(),
    );
  });

  test('any executable bytes, mutated build info too: packages or a warning, never an exception', () => {
    const elf = fc.uint8Array({ maxLength: 400 }).map((b) => new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...b]));
    fc.assert(
      fc.property(
        fc.oneof(mutatedBytes(build.map(fileOf)), elf, fc.uint8Array({ maxLength: 100 })),
        sizes,
        (b, s) => expectOutcome(stream(b, s), path),
      ),
      fuzz(),
    );
  });

  test('any module info text and toolchain version: modules and a version or none', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutated(fc.constant('mod\ta\tv1.0.0\ndep\tb\tv2.0.0\n=>\tc\tv3.0.0\n')), anyText),
        anyText,
        (text, go) => {
          const info = parseModuleInfo(text);
          expect(Array.isArray(info.deps)).toBe(true);
          const v = stdlibVersion(go);
          if (v !== undefined) expect(v).toMatch(/^\d+\.\d+\.\d+/);
        },
      ),
      fuzz(),
    );
  });
});

describe('jar metadata', () => {
  test('pom.properties written as Maven writes it reads back', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9.]{0,10}$/);
    const value = fc
      .string({ maxLength: 20 })
      .filter((v) => !/[\r\n]/.test(v))
      .map((v) => v.trim());
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 5 }), (props) => {
        const text = `#Generated by Maven\n${Object.entries(props)
          .map(([k, v]) => `${k}=${v}\n`)
          .join('')}`;
        expect(Object.fromEntries(parseProperties(text))).toEqual(props);
      }),
      fuzz(),
    );
  });

  test('any properties or manifest text, any file name: attributes, and a package or none', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(
            fc.constant(
              'Manifest-Version: 1.0\nImplementation-Version: 1.2\nImplementation-Vendor-Id: org.x\n long\n',
            ),
          ),
          anyText,
        ),
        fc.oneof(mutated(fc.constant('lib-1.2.jar')), anyText),
        (text, file) => {
          parseProperties(text);
          const found = fromManifest(parseManifest(text), file);
          if (found) expect(found.name).toContain(':');
        },
      ),
      fuzz(),
    );
  });
});
