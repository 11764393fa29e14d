// origin/scan/apps/java.ts: jars, wars and ears name the Maven artifacts in their
// pom.properties, nested archives included within a depth and byte budget; manifests are used
// only when they leave no doubt; hostile archives give warnings, not crashes or unbounded work.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJavaParser, javaParser } from '../../../origin/scan/apps/java.ts';
import type { FoundPackage } from '../../../origin/scan/inventory.ts';
import type { ParseOutcome, WholeFileParser } from '../../../origin/scan/layer/file-parser.ts';
import { writeZip, type ZipInput } from './zip-writer.ts';

const MiB = 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'java-parser-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function pomProperties(groupId: string, artifactId: string, version: string): string {
  return `#Created by Apache Maven 3.6.3\n#Fri Mar 05 23:26:23 UTC 2021\nversion=${version}\ngroupId=${groupId}\nartifactId=${artifactId}\n`;
}

function manifest(attributes: Record<string, string>): string {
  const lines = Object.entries({ 'Manifest-Version': '1.0', ...attributes }).map(([k, v]) => `${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A jar as Maven builds it: manifest, pom.xml and pom.properties, some classes. */
function mavenJar(groupId: string, artifactId: string, version: string, extra: ZipInput[] = []): ZipInput[] {
  const meta = `META-INF/maven/${groupId}/${artifactId}`;
  return [
    { name: 'META-INF/', method: 0 },
    {
      name: 'META-INF/MANIFEST.MF',
      data: manifest({
        'Created-By': 'Apache Maven 3.6.3',
        'Build-Jdk': '1.8.0_282',
        'Implementation-Title': artifactId,
      }),
    },
    {
      name: `${meta}/pom.xml`,
      data: `<project><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId></project>`,
    },
    { name: `${meta}/pom.properties`, data: pomProperties(groupId, artifactId, version) },
    { name: `${artifactId.replace(/-/g, '/')}/Main.class`, data: Buffer.alloc(3000, 0xca) },
    ...extra,
  ];
}

const maven = (name: string, version: string): FoundPackage => ({ kind: 'maven', name, version });

async function parse(
  path: string,
  bytes: Uint8Array,
  parser: WholeFileParser = javaParser,
): Promise<ParseOutcome> {
  const entry = { path, mode: 0o644, size: bytes.length };
  expect(parser.wants(entry)).toBe(true);
  return parser.parse(entry, bytes);
}

const log4jCore = () => writeZip(mavenJar('org.apache.logging.log4j', 'log4j-core', '2.14.1'));

describe('Maven artifacts in Java archives', () => {
  it('a jar names its artifact from META-INF/maven/<group>/<artifact>/pom.properties', async () => {
    expect(await parse('app/lib/log4j-core-2.14.1.jar', log4jCore())).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });
  });

  it.runIf(existsSync('/usr/bin/zip'))('a jar built by the zip tool reads the same', async () => {
    const root = join(dir, 'log4j');
    for (const input of mavenJar('org.apache.logging.log4j', 'log4j-core', '2.14.1')) {
      if (input.name.endsWith('/')) continue;
      mkdirSync(dirname(join(root, input.name)), { recursive: true });
      writeFileSync(join(root, input.name), input.data ?? '');
    }
    const jar = join(dir, 'log4j-core-2.14.1.jar');
    execFileSync('/usr/bin/zip', ['-q', '-r', '-9', jar, 'META-INF', 'log4j'], { cwd: root });
    expect(await parse('opt/app/log4j-core-2.14.1.jar', readFileSync(jar))).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });
  });

  it('a Spring Boot executable jar names itself and its BOOT-INF/lib jars, stored or deflated', async () => {
    const jacksonDatabind = writeZip(mavenJar('com.fasterxml.jackson.core', 'jackson-databind', '2.13.0'));
    const commonsText = writeZip([
      {
        name: 'META-INF/MANIFEST.MF',
        data: manifest({
          'Bundle-SymbolicName': 'org.apache.commons.text',
          'Implementation-Vendor-Id': 'org.apache.commons',
          'Implementation-Version': '1.9',
          'Implementation-Title': 'Apache Commons Text',
        }),
      },
      { name: 'org/apache/commons/text/StringSubstitutor.class', data: Buffer.alloc(2000, 1) },
    ]);
    const fat = writeZip(
      mavenJar('com.example', 'demo', '0.0.1-SNAPSHOT', [
        { name: 'BOOT-INF/classes/application.properties', data: 'server.port=8080\n' },
        // Spring Boot stores nested jars uncompressed; other tools deflate them.
        { name: 'BOOT-INF/lib/log4j-core-2.14.1.jar', data: log4jCore(), method: 0 },
        { name: 'BOOT-INF/lib/jackson-databind-2.13.0.jar', data: jacksonDatabind },
        { name: 'BOOT-INF/lib/commons-text-1.9.jar', data: commonsText, method: 0 },
      ]),
      // The launch script of a "fully executable" jar, its offsets not adjusted.
      { prefix: Buffer.from('#!/bin/bash\n# Spring Boot launch script\nexec java -jar "$0" "$@"\n') },
    );
    expect(await parse('app/demo-0.0.1-SNAPSHOT.jar', fat)).toEqual({
      ok: true,
      packages: [
        maven('com.example:demo', '0.0.1-SNAPSHOT'),
        maven('org.apache.logging.log4j:log4j-core', '2.14.1'),
        maven('com.fasterxml.jackson.core:jackson-databind', '2.13.0'),
        maven('org.apache.commons:commons-text', '1.9'),
      ],
    });
  });

  it("an EAR's WAR's WEB-INF/lib jar is found, and nesting deeper than the limit is not read", async () => {
    const war = writeZip([
      { name: 'WEB-INF/web.xml', data: '<web-app/>' },
      { name: 'WEB-INF/lib/log4j-core-2.14.1.jar', data: log4jCore() },
    ]);
    const ear = writeZip([
      { name: 'META-INF/application.xml', data: '<application/>' },
      { name: 'shop.war', data: war },
    ]);
    expect(await parse('opt/jboss/deployments/shop.ear', ear)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });

    // Four levels below the file: one more than the default depth of three.
    let nested = log4jCore();
    for (let level = 0; level < 4; level++)
      nested = writeZip([{ name: `lib/level${level}.jar`, data: nested }]);
    expect(await parse('opt/deep.jar', nested)).toEqual({
      ok: false,
      warning:
        'opt/deep.jar!/lib/level3.jar!/lib/level2.jar!/lib/level1.jar: archives nested deeper than 3 levels not read',
    });
    const deeper = createJavaParser({ maxDepth: 4 });
    expect(await parse('opt/deep.jar', nested, deeper)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });
  });

  it('a shaded jar names every artifact shaded into it', async () => {
    const shaded = writeZip(
      mavenJar('com.example', 'tool', '1.0.0', [
        {
          name: 'META-INF/maven/com.google.guava/guava/pom.properties',
          data: pomProperties('com.google.guava', 'guava', '31.1-jre'),
        },
      ]),
    );
    expect(await parse('usr/share/tool/tool.jar', shaded)).toEqual({
      ok: true,
      packages: [maven('com.example:tool', '1.0.0'), maven('com.google.guava:guava', '31.1-jre')],
    });
  });

  it('a ZIP64 jar reads', async () => {
    const jar = writeZip(mavenJar('org.apache.logging.log4j', 'log4j-core', '2.14.1'), { zip64: true });
    expect(await parse('x/log4j-core.jar', jar)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });
  });

  it('jar, war and ear files are wanted, whatever the case; checksums and sources are not', () => {
    const wants = (path: string) => javaParser.wants({ path, mode: 0o644, size: 1000 });
    expect(['a.jar', 'b/c.WAR', 'd.ear'].map(wants)).toEqual([true, true, true]);
    expect(['a.jar.sha1', 'a.java', 'a.jarx', 'jar'].map(wants)).toEqual([false, false, false, false]);
  });
});

describe('manifests, when there is no pom.properties', () => {
  const jarWithManifest = (attributes: Record<string, string>) =>
    writeZip([
      { name: 'META-INF/MANIFEST.MF', data: manifest(attributes) },
      { name: 'x/Y.class', data: 'cafebabe' },
    ]);

  it('Implementation-Vendor-Id and a file named artifactId-version.jar give the artifact', async () => {
    const jar = jarWithManifest({
      'Implementation-Title': 'Apache Log4j Core',
      'Implementation-Version': '2.14.1',
      'Implementation-Vendor-Id': 'org.apache.logging.log4j',
    });
    expect(await parse('lib/log4j-core-2.14.1.jar', jar)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
    });
  });

  it('an OSGi symbolic name "groupId.artifactId" gives the group', async () => {
    const jar = jarWithManifest({
      'Bundle-SymbolicName': 'com.fasterxml.jackson.core.jackson-core;singleton:=true',
      'Bundle-Version': '2.15.2',
    });
    expect(await parse('lib/jackson-core-2.15.2.jar', jar)).toEqual({
      ok: true,
      packages: [maven('com.fasterxml.jackson.core:jackson-core', '2.15.2')],
    });
  });

  it('a display title, a renamed file or a symbolic name that is not groupId.artifactId name nothing', async () => {
    const app = jarWithManifest({ 'Implementation-Title': 'My App', 'Implementation-Version': '1.0' });
    expect(await parse('srv/app.jar', app)).toEqual({ ok: true, packages: [] });
    const guava = jarWithManifest({
      'Bundle-SymbolicName': 'com.google.guava',
      'Bundle-Version': '31.1.0.jre',
    });
    expect(await parse('lib/guava-31.1-jre.jar', guava)).toEqual({ ok: true, packages: [] });
    const renamed = jarWithManifest({
      'Implementation-Vendor-Id': 'org.example',
      'Implementation-Version': '2.0',
    });
    expect(await parse('lib/library.jar', renamed)).toEqual({ ok: true, packages: [] });
  });

  it('with pom.properties present, the manifest is not used', async () => {
    const jar = writeZip([
      {
        name: 'META-INF/MANIFEST.MF',
        data: manifest({ 'Implementation-Vendor-Id': 'wrong.group', 'Implementation-Version': '9.9' }),
      },
      {
        name: 'META-INF/maven/org.example/lib/pom.properties',
        data: pomProperties('org.example', 'lib', '1.0'),
      },
    ]);
    expect(await parse('lib/lib-9.9.jar', jar)).toEqual({
      ok: true,
      packages: [maven('org.example:lib', '1.0')],
    });
  });
});

describe('hostile and broken archives', () => {
  // 40 × 16 MiB of zeros from ~640 KiB of deflate data.
  const bomb = () => {
    const piece = deflateRawSync(new Uint8Array(16 * MiB), { finishFlush: constants.Z_SYNC_FLUSH });
    return Buffer.concat([...Array.from({ length: 40 }, () => piece), deflateRawSync(new Uint8Array(0))]);
  };

  it('a nested zip bomb is stopped and named in a warning, and the other jars are still named', async () => {
    const fat = writeZip([
      { name: 'BOOT-INF/lib/bomb.jar', raw: bomb(), declaredSize: 4096, crc: 0 },
      { name: 'BOOT-INF/lib/log4j-core-2.14.1.jar', data: log4jCore(), method: 0 },
    ]);
    const started = Date.now();
    expect(await parse('app.jar', fat)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
      warnings: [expect.stringMatching(/^app\.jar: BOOT-INF\/lib\/bomb\.jar: /)],
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a pom.properties that is a zip bomb gives a warning naming it', async () => {
    const jar = writeZip([
      { name: 'META-INF/maven/g/a/pom.properties', raw: bomb(), declaredSize: 100, crc: 0 },
    ]);
    expect(await parse('x.jar', jar)).toEqual({
      ok: false,
      warning: 'x.jar: META-INF/maven/g/a/pom.properties: inflates past its declared 100 bytes',
    });
  });

  it('a jar with a corrupt central directory gives a warning', async () => {
    const jar = log4jCore();
    const directory = Buffer.from(jar).indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    jar[directory + 3] = 0;
    expect(await parse('lib/log4j-core-2.14.1.jar', jar)).toEqual({
      ok: false,
      warning: 'lib/log4j-core-2.14.1.jar: corrupt central directory at entry 0 (offset 0)',
    });
    expect(await parse('lib/not-a-zip.jar', Buffer.from('just text'))).toEqual({
      ok: false,
      warning: 'lib/not-a-zip.jar: not a ZIP archive (no end of central directory record)',
    });
  });

  it('nested archives past the byte budget are not read, and a warning says so beside what was found', async () => {
    const small = createJavaParser({ maxNestedBytes: 10_000 });
    const big = writeZip(
      mavenJar('org.example', 'big', '1.0', [{ name: 'pad.bin', data: Buffer.alloc(20_000, 7), method: 0 }]),
    );
    const fat = writeZip([
      { name: 'lib/log4j-core-2.14.1.jar', data: log4jCore(), method: 0 },
      { name: 'lib/big-1.0.jar', data: big, method: 0 },
    ]);
    expect(await parse('app.jar', fat, small)).toEqual({
      ok: true,
      packages: [maven('org.apache.logging.log4j:log4j-core', '2.14.1')],
      warnings: ['app.jar: nested archives past the budget not read (from lib/big-1.0.jar)'],
    });
    expect(
      await parse('app.jar', writeZip([{ name: 'lib/big-1.0.jar', data: big, method: 0 }]), small),
    ).toEqual({
      ok: false,
      warning: 'app.jar: nested archives past the budget not read (from lib/big-1.0.jar)',
    });
  });
});
