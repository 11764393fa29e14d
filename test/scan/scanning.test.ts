// Scanning over the registry API: images built here with real package databases are pushed, the
// push queues a scan, and the result API reports exactly the packages and vulnerabilities the
// fixture advisories (real ones, test/fixtures/osv) say they have. Also: work is not repeated,
// a data import re-matches stored inventories and fires the webhook, policies block pulls.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { call, errorCode, metric, OCI_MANIFEST, sha256 } from '../harness/client.ts';
import { ShiftedClock } from '../harness/clock.ts';
import {
  buildImage,
  buildIndex,
  type Image,
  type LayerFiles,
  pushImage,
  putManifest,
} from '../harness/oci-image.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { fileSetup, runOk } from '../harness/tools.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../harness/webhook-receiver.ts';

const FIXTURES = path.resolve('test/fixtures');
const OSV = path.join(FIXTURES, 'osv');

interface Detail {
  id: string;
  cve: string | null;
  advisory: string;
  severity: string;
  package: string;
  installed_version: string;
  source_package: string | null;
  source_version: string | null;
  fixed_version: string | null;
  cvss_score: number | null;
  layer: string;
  path: string;
}
interface Report {
  status: string;
  scanned_at: string | null;
  error?: string;
  warnings: string[];
  vulnerability_data?: { ecosystem: string; packages: number; records: number; imported_at: string | null }[];
  vulnerabilities: Record<string, number>;
  details: Detail[];
  packages?: {
    kind: string;
    name: string;
    version: string;
    ecosystem?: string;
    layer: string;
    path: string;
  }[];
  platforms?: (Report & { platform: string; digest: string })[];
}

/** This machine's real dpkg database, with libc6 at the version bookworm had before DSA-5514 (CVE-2023-4911). */
function debianStatus(): string {
  const status = readFileSync('/var/lib/dpkg/status', 'utf8');
  return status.replace(/(Package: libc6\n(?:[^\n]+\n)*?Version: )[^\n]+/, '$12.36-9+deb12u1');
}

function installedDebianPackages(): number {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  return execFileSync('dpkg-query', ['-W', '-f=${Status}\n'], { encoding: 'utf8' })
    .split('\n')
    .filter((s) => s === 'install ok installed').length;
}

/** A small Go program built here: its binary records the toolchain (go1.19.x on Debian 12). */
async function goBinary(dir: string): Promise<Uint8Array> {
  const src = path.join(dir, 'go-src');
  cpSync(path.join(FIXTURES, 'images/debian-app'), src, { recursive: true });
  const cache = path.join(tmpdir(), 'registry-test-gocache');
  await runOk('go', ['build', '-o', path.join(dir, 'app'), '.'], {
    cwd: src,
    env: { ...process.env, CGO_ENABLED: '0', GOCACHE: cache, GOFLAGS: '-mod=mod', GOPROXY: 'off', HOME: dir },
    timeoutMs: 300_000,
  });
  return readFileSync(path.join(dir, 'app'));
}

function goVersion(): string {
  return /go(\d+\.\d+(?:\.\d+)?)/.exec(execFileSync('go', ['version'], { encoding: 'utf8' }))?.[1] as string;
}

/** A jar as Maven builds it: the artifact's pom.properties under META-INF/maven. */
function log4jJar(dir: string): Uint8Array {
  const jar = path.join(dir, 'log4j-core-2.14.1.jar');
  execFileSync('/usr/bin/python3', [
    '-c',
    `import zipfile,sys
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\r\\nImplementation-Title: Apache Log4j Core\\r\\nImplementation-Version: 2.14.1\\r\\n')
    z.writestr('META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties', 'version=2.14.1\\ngroupId=org.apache.logging.log4j\\nartifactId=log4j-core\\n')
    z.writestr('org/apache/logging/log4j/core/Logger.class', b'\\xca\\xfe\\xba\\xbe' + bytes(64))`,
    jar,
  ]);
  return readFileSync(jar);
}

function alpineLayers(): LayerFiles[] {
  const dir = path.join(FIXTURES, 'images/alpine-3.14');
  return [
    {
      'etc/os-release': readFileSync(path.join(dir, 'os-release'), 'utf8'),
      'etc/alpine-release': '3.14.0\n',
      'lib/apk/db/installed': readFileSync(path.join(dir, 'installed'), 'utf8'),
    },
  ];
}

/** A gzip layer whose tar holds one file of `size` zero bytes: a few MiB that expand to `size`. */
async function gzipBomb(size: number): Promise<Uint8Array> {
  const header = Buffer.alloc(512);
  header.write('bomb.bin', 0, 'utf8');
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  header.write('14000000000\0', 136, 'ascii');
  header.write('        ', 148, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const zeros = Buffer.alloc(1024 * 1024);
  async function* content() {
    yield header;
    for (let left = size; left > 0; left -= zeros.byteLength)
      yield left >= zeros.byteLength ? zeros : zeros.subarray(0, left);
    yield Buffer.alloc(1024);
  }
  const parts: Buffer[] = [];
  const gzip = createGzip({ level: 9 });
  gzip.on('data', (chunk: Buffer) => parts.push(chunk));
  await pipeline(Readable.from(content()), gzip);
  return new Uint8Array(Buffer.concat(parts));
}

/** An image whose one layer is `bytes` as they are (not a tar this harness made). */
function imageWithRawLayer(bytes: Uint8Array): Image {
  const image = buildImage({ layers: [{}] });
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes), bytes };
  const manifestBytes = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: image.config.mediaType,
        digest: image.config.digest,
        size: image.config.bytes.byteLength,
      },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: bytes.byteLength }],
    }),
  );
  return {
    ...image,
    layers: [layer],
    blobs: [image.config, layer],
    manifest: { mediaType: OCI_MANIFEST, digest: sha256(manifestBytes), bytes: manifestBytes },
  };
}

const SECRET = 'a-webhook-secret-of-some-length';
/** Longer than the test could wait: the retry comes only because the test moves the clock past it. */
const WEBHOOK_BACKOFF_MS = 60_000;

const env = fileSetup(async (defer) => {
  const work = mkdtempSync(path.join(tmpdir(), 'scan-test-'));
  defer(() => rmSync(work, { recursive: true, force: true }));
  // Moved past the webhook backoff instead of waiting it out.
  const clock = new ShiftedClock();
  const registry = await startTestRegistry({
    config: {
      // Imports read under the work directory only.
      scan: { concurrency: 1, poll_interval: '200ms', vulndb_dir: work },
      policy: { refresh_interval: '200ms' },
      webhooks: { initial_backoff: `${WEBHOOK_BACKOFF_MS}ms`, max_attempts: 3, poll_interval: '50ms' },
    },
    clock,
  });
  defer(() => registry.close());
  const hook = await startWebhookReceiver();
  defer(() => hook.close());
  // All fixture advisories but log4j's: that one arrives in a later import.
  const partial = path.join(work, 'osv-partial');
  cpSync(OSV, partial, { recursive: true });
  rmSync(path.join(partial, 'GHSA-jfh8-c2jp-5v3q.json'));
  cpSync(OSV, path.join(work, 'osv'), { recursive: true });
  const imported = await call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: 'osv-partial' }),
  });
  if (imported.status !== 200) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
  const hookAdded = await call(registry, 'POST', '/admin/webhooks', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      prefix: 'scan/',
      url: hook.url,
      secret: SECRET,
      events: ['vulnerabilities', 'push', 'delete'],
    }),
  });
  if (hookAdded.status !== 201) throw new Error(`webhook: ${hookAdded.status} ${await hookAdded.text()}`);
  const debianLayers: LayerFiles[] = [
    { 'etc/os-release': readFileSync('/etc/os-release', 'utf8'), 'var/lib/dpkg/status': debianStatus() },
    {
      'usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA': readFileSync(
        path.join(FIXTURES, 'images/debian-app/requests-METADATA'),
        'utf8',
      ),
    },
    {
      'srv/app/node_modules/minimist/package.json': readFileSync(
        path.join(FIXTURES, 'images/debian-app/minimist-package.json'),
        'utf8',
      ),
      'srv/app/node_modules/semver/package.json': readFileSync('node_modules/semver/package.json', 'utf8'),
      'srv/app/lib/log4j-core-2.14.1.jar': log4jJar(work),
    },
    { 'usr/local/bin/app': { data: await goBinary(work), mode: 0o755 } },
  ];
  const debian = buildImage({ format: 'docker', layers: debianLayers });
  return { registry, clock, hook, debian, debianLayers, work };
});

beforeAll(() => env.settle(280_000), 300_000);
afterAll(() => env.teardown());

async function scanOf(registry: TestRegistry, name: string, ref: string, query = ''): Promise<Report> {
  const response = await call(registry, 'GET', `/v2/${name}/manifests/${ref}/scan${query}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

async function waitForScan(
  registry: TestRegistry,
  name: string,
  ref: string,
  query = '',
  since?: string,
): Promise<Report> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const report = await scanOf(registry, name, ref, query);
    const done = report.status === 'completed' || report.status === 'failed';
    if (
      done &&
      (!since || (report.scanned_at !== null && report.scanned_at > since) || report.status === 'failed')
    )
      return report;
    if (Date.now() > deadline) throw new Error(`scan of ${name}:${ref} still ${report.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const admin = (registry: TestRegistry, method: string, url: string, body?: unknown) =>
  call(registry, method, url, {
    headers: { 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('scan on push', () => {
  test('an Alpine image: the apk database is read and openssl 1.1.1k is found vulnerable to CVE-2021-3711', async () => {
    const { registry } = await env.get();
    const image = buildImage({ layers: alpineLayers() });
    await pushImage(registry, 'scan/alpine', image, '3.14');
    const report = await waitForScan(registry, 'scan/alpine', '3.14', '?packages=true');
    expect(report.status).toBe('completed');
    expect(report.packages?.map((p) => `${p.name}@${p.version}`).sort()).toEqual(
      readFileSync(path.join(FIXTURES, 'images/alpine-3.14/installed'), 'utf8')
        .split('\n\n')
        .filter((s) => s.trim())
        .map((s) => `${/^P:(.*)$/m.exec(s)?.[1]}@${/^V:(.*)$/m.exec(s)?.[1]}`)
        .sort(),
    );
    expect(new Set(report.packages?.map((p) => p.ecosystem))).toEqual(new Set(['Alpine:v3.14']));
    const found = report.details
      .map((d) => `${d.id} ${d.package} ${d.installed_version} -> ${d.fixed_version} ${d.severity}`)
      .sort();
    expect(found).toEqual([
      'CVE-2021-3711 libcrypto1.1 1.1.1k-r0 -> 1.1.1l-r0 critical',
      'CVE-2021-3711 libssl1.1 1.1.1k-r0 -> 1.1.1l-r0 critical',
    ]);
    expect(report.details[0]?.cvss_score).toBe(9.8);
    expect(report.details[0]?.layer).toBe(image.layers[0]?.digest);
    // Alpine records name the source package (origin): the finding says what it compared.
    expect(report.details[0]).toMatchObject({
      id: 'CVE-2021-3711',
      cve: 'CVE-2021-3711',
      advisory: 'ALPINE-CVE-2021-3711',
      source_package: 'openssl',
      source_version: '1.1.1k-r0',
    });
    expect(report.vulnerabilities).toEqual({ critical: 2, high: 0, medium: 0, low: 0, unknown: 0 });
    expect(report.warnings).toEqual([]);
  });

  test('a Debian image with Python, npm, Java and Go content: every package database is read and each vulnerable package found', async () => {
    const { registry, debian } = await env.get();
    await pushImage(registry, 'scan/app', debian, 'v1');
    const report = await waitForScan(registry, 'scan/app', 'v1', '?packages=true');
    expect(report.status).toBe('completed');
    const packages = report.packages ?? [];
    expect(packages.filter((p) => p.kind === 'dpkg')).toHaveLength(installedDebianPackages());
    expect(new Set(packages.filter((p) => p.kind === 'dpkg').map((p) => p.ecosystem))).toEqual(
      new Set(['Debian:12']),
    );
    const apps = packages
      .filter((p) => p.kind !== 'dpkg')
      .map((p) => `${p.kind} ${p.name} ${p.version} ${p.path}`);
    expect(apps.sort()).toEqual(
      [
        `go stdlib ${goVersion()} usr/local/bin/app`,
        'maven org.apache.logging.log4j:log4j-core 2.14.1 srv/app/lib/log4j-core-2.14.1.jar',
        'npm minimist 1.2.5 srv/app/node_modules/minimist/package.json',
        `npm semver ${JSON.parse(readFileSync('node_modules/semver/package.json', 'utf8')).version} srv/app/node_modules/semver/package.json`,
        'pypi requests 2.28.1 usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA',
      ].sort(),
    );
    const found = report.details
      .map((d) => `${d.id} ${d.package} ${d.installed_version} -> ${d.fixed_version} ${d.severity}`)
      .sort();
    expect(found).toEqual([
      'CVE-2021-44906 minimist 1.2.5 -> 1.2.6 critical',
      `CVE-2023-29409 stdlib ${goVersion()} -> 1.19.12 unknown`,
      'CVE-2023-32681 requests 2.28.1 -> 2.31.0 medium',
      'CVE-2023-4911 libc6 2.36-9+deb12u1 -> 2.36-9+deb12u3 high',
    ]);
    // Each finding names the layer its package came in.
    const byId = new Map(report.details.map((d) => [d.id, d]));
    expect(byId.get('CVE-2023-4911')?.layer).toBe(debian.layers[0]?.digest);
    expect(byId.get('CVE-2023-32681')?.layer).toBe(debian.layers[1]?.digest);
    expect(byId.get('CVE-2021-44906')?.layer).toBe(debian.layers[2]?.digest);
    expect(byId.get('CVE-2023-29409')?.layer).toBe(debian.layers[3]?.digest);
    // Debian findings are decided on the source package; the others have none.
    expect(byId.get('CVE-2023-4911')).toMatchObject({
      cve: 'CVE-2023-4911',
      package: 'libc6',
      installed_version: '2.36-9+deb12u1',
      source_package: 'glibc',
      source_version: '2.36-9+deb12u1',
    });
    expect(byId.get('CVE-2023-32681')).toMatchObject({ source_package: null, source_version: null });
    // The data it was matched against: log4j's record (Maven's only one) arrives in a later import,
    // so its Maven package was matched against nothing, and the result says so.
    expect(report.vulnerability_data?.map((d) => [d.ecosystem, d.records > 0])).toEqual([
      ['Debian', true],
      ['Go', true],
      ['Maven', false],
      ['npm', true],
      ['PyPI', true],
    ]);
    expect(report.warnings).toEqual([
      'no vulnerability data for Maven: its 1 package was matched against nothing (see scan.sources and `registry vulndb status`)',
    ]);
  });

  test('a package database behind a symlink into a lower layer is read; what cannot be read is a warning of the result', async () => {
    const { registry } = await env.get();
    const image = buildImage({
      layers: [
        { 'etc/os-release': readFileSync('/etc/os-release', 'utf8'), 'srv/dpkg/status': debianStatus() },
        // dpkg reads the lower layer's file through the link; the rpm database is one we cannot read.
        { 'var/lib/dpkg/status': { symlink: '/srv/dpkg/status' }, 'var/lib/rpm/Packages': 'BerkeleyDB' },
      ],
    });
    await pushImage(registry, 'scan/linked', image, 'v1');
    const report = await waitForScan(registry, 'scan/linked', 'v1', '?packages=true');
    expect(report.status).toBe('completed');
    expect(report.packages?.filter((p) => p.kind === 'dpkg')).toHaveLength(installedDebianPackages());
    expect(report.details.map((d) => [d.id, d.package, d.path, d.layer])).toEqual([
      ['CVE-2023-4911', 'libc6', 'var/lib/dpkg/status', image.layers[0]?.digest],
    ]);
    const berkeley = `layer ${image.layers[1]?.digest}: var/lib/rpm/Packages: rpm BerkeleyDB databases are not supported (only rpmdb.sqlite); its packages are not listed`;
    expect(report.warnings).toEqual([berkeley]);
    const summary = (await (await call(registry, 'GET', '/v2/scan/linked/scan/summary')).json()) as Record<
      string,
      unknown
    >;
    expect(summary).toMatchObject({ latest_tag: 'v1', high_count: 1, warnings: [berkeley] });
  });

  test('an image with an OS but no package database says so', async () => {
    const { registry } = await env.get();
    const image = buildImage({ layers: [{ 'etc/os-release': readFileSync('/etc/os-release', 'utf8') }] });
    await pushImage(registry, 'scan/bare', image, 'v1');
    const report = await waitForScan(registry, 'scan/bare', 'v1');
    expect(report.status).toBe('completed');
    expect(report.warnings).toEqual([
      'the OS is Debian GNU/Linux 12 (bookworm) but no OS package was found (no package database, or an empty one): its OS packages are not scanned',
    ]);
  });

  test('an image already scanned is not scanned again in another repository, and shared layers are analysed once', async () => {
    const { registry, debian } = await env.get();
    await waitForScan(registry, 'scan/app', 'v1');
    const layersBefore = await metric(registry, 'registry_scan_layers_analyzed_total');
    const skippedBefore = await metric(registry, 'registry_scans_total{outcome="skipped"}');
    await pushImage(registry, 'scan/copy', debian, 'v1');
    const deadline = Date.now() + 30_000;
    while ((await metric(registry, 'registry_scans_total{outcome="skipped"}')) === skippedBefore) {
      if (Date.now() > deadline) throw new Error('the second push was never picked up');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await scanOf(registry, 'scan/copy', 'v1')).details).toHaveLength(4);
    expect(await metric(registry, 'registry_scan_layers_analyzed_total')).toBe(layersBefore);
    // A new image on the same base: only its own new layer is read.
    const { debianLayers } = await env.get();
    const extended = buildImage({
      format: 'docker',
      layers: [debianLayers[0] as LayerFiles, { 'etc/motd': 'extended\n' }],
    });
    await pushImage(registry, 'scan/extended', extended, 'v1');
    const report = await waitForScan(registry, 'scan/extended', 'v1');
    expect(report.details.map((d) => d.id)).toEqual(['CVE-2023-4911']);
    expect(await metric(registry, 'registry_scan_layers_analyzed_total')).toBe(layersBefore + 1);
  });
});

describe('results', () => {
  test('an index reports each platform and the union of their findings', async () => {
    const { registry } = await env.get();
    const amd = buildImage({ layers: alpineLayers() });
    const arm = buildImage({
      layers: [{ 'etc/os-release': readFileSync('/etc/os-release', 'utf8') }],
      platform: { os: 'linux', architecture: 'arm64' },
    });
    await pushImage(registry, 'scan/multi', amd);
    await pushImage(registry, 'scan/multi', arm);
    const index = buildIndex([amd, arm]);
    await putManifest(registry, 'scan/multi', 'v1', index);
    await waitForScan(registry, 'scan/multi', amd.manifest.digest);
    await waitForScan(registry, 'scan/multi', arm.manifest.digest);
    const report = await scanOf(registry, 'scan/multi', 'v1');
    expect(report.status).toBe('completed');
    expect(report.platforms?.map((p) => [p.platform, p.status, p.details.length])).toEqual([
      ['linux/amd64', 'completed', 2],
      ['linux/arm64', 'completed', 0],
    ]);
    expect(report.vulnerabilities.critical).toBe(2);
    // The arm64 image is an OS without packages: its warning, and the index's, naming the platform.
    expect(report.platforms?.map((p) => p.warnings.length)).toEqual([0, 1]);
    expect(report.warnings).toEqual([`linux/arm64: ${report.platforms?.[1]?.warnings[0]}`]);
  });

  test('a layer that is not a tar fails the scan, recorded with its reason; the registry keeps serving', async () => {
    const { registry } = await env.get();
    const corrupt = new Uint8Array([
      0x1f,
      0x8b,
      0x08,
      0x00,
      ...Buffer.from('this is not a gzip stream at all, nor a tar'),
    ]);
    await pushImage(registry, 'scan/broken', imageWithRawLayer(corrupt), 'v1');
    const report = await waitForScan(registry, 'scan/broken', 'v1');
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/layer sha256:[0-9a-f]{64}: .*(gzip|header|incorrect|invalid)/i);
    expect((await call(registry, 'GET', '/v2/scan/broken/manifests/v1')).status).toBe(200);
  });

  test('a decompression bomb fails its scan quickly with the reason, while the registry keeps answering', async () => {
    const { registry } = await env.get();
    const bomb = await gzipBomb(2 * 1024 ** 3);
    expect(bomb.byteLength).toBeLessThan(4 * 1024 ** 2);
    const started = Date.now();
    await pushImage(registry, 'scan/bomb', imageWithRawLayer(bomb), 'v1');
    // While the scan reads the bomb, pulls are answered.
    const ping = performance.now();
    expect((await call(registry, 'GET', '/v2/scan/alpine/manifests/3.14')).status).toBe(200);
    expect(performance.now() - ping).toBeLessThan(2_000);
    const report = await waitForScan(registry, 'scan/bomb', 'v1');
    expect(report.status).toBe('failed');
    expect(report.error).toMatch(/expands more than 250:1 .* likely decompression bomb/);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  test('a manual scan answers 202 and completes; reading needs pull permission and scanning needs push', async () => {
    const { registry } = await env.get();
    const before = await scanOf(registry, 'scan/alpine', '3.14');
    const started = await call(registry, 'POST', '/v2/scan/alpine/manifests/3.14/scan');
    expect(started.status).toBe(202);
    expect(((await started.json()) as { status: string }).status).toBe('pending');
    const after = await waitForScan(registry, 'scan/alpine', '3.14', '', before.scanned_at ?? undefined);
    expect(after.details).toHaveLength(2);
    const anonymousRead = await call(registry, 'GET', '/v2/scan/alpine/manifests/3.14/scan', { auth: null });
    expect(anonymousRead.status).toBe(401);
    const anonymousScan = await call(registry, 'POST', '/v2/scan/alpine/manifests/3.14/scan', { auth: null });
    expect(anonymousScan.status).toBe(401);
    expect((await call(registry, 'GET', '/v2/scan/alpine/manifests/nope/scan')).status).toBe(404);
  });

  test("the repository summary counts the latest tag's vulnerabilities", async () => {
    const { registry } = await env.get();
    const response = await call(registry, 'GET', '/v2/scan/alpine/scan/summary');
    expect(response.status).toBe(200);
    const summary = (await response.json()) as Record<string, unknown>;
    expect(summary).toMatchObject({
      latest_tag: '3.14',
      total_vulnerabilities: 2,
      critical_count: 2,
      high_count: 0,
    });
    expect(typeof summary.last_scanned).toBe('string');
    expect((await call(registry, 'GET', '/v2/scan/nothing-here/scan/summary')).status).toBe(404);
  });
});

describe('new vulnerability data', () => {
  test('an import re-matches stored inventories without reading layers, and the webhook announces the new finding, signed and retried', async () => {
    const { registry, clock, hook } = await env.get();
    await waitForScan(registry, 'scan/app', 'v1');
    const layersBefore = await metric(registry, 'registry_scan_layers_analyzed_total');
    hook.received.length = 0;
    hook.failFirstFor = 'scan/app';
    const response = await admin(registry, 'POST', '/admin/vulndb/import', { path: 'osv' });
    expect(response.status).toBe(200);
    const result = (await response.json()) as Record<string, number>;
    expect(result).toMatchObject({ added: 1, updated: 0 });
    expect(result.rematched).toBeGreaterThanOrEqual(1);
    const report = await scanOf(registry, 'scan/app', 'v1');
    const log4j = report.details.find((d) => d.id === 'CVE-2021-44228');
    expect(log4j).toMatchObject({
      package: 'org.apache.logging.log4j:log4j-core',
      installed_version: '2.14.1',
      fixed_version: '2.15.0',
      severity: 'critical',
      cvss_score: 10,
    });
    expect(report.vulnerability_data?.find((d) => d.ecosystem === 'Maven')?.records).toBe(1);
    expect(report.warnings).toEqual([]);
    expect(await metric(registry, 'registry_scan_layers_analyzed_total')).toBe(layersBefore);
    // Each image holding it is announced (scan/app and scan/copy). The first attempt got a 500;
    // once the backoff has passed, the retry is delivered, with the same body and a valid signature.
    const hooks = (await (await admin(registry, 'GET', '/admin/webhooks')).json()) as {
      webhooks: { id: number }[];
    };
    const deliveriesOf = async () =>
      (
        (await (
          await admin(registry, 'GET', `/admin/webhooks/${hooks.webhooks[0]?.id}/deliveries`)
        ).json()) as {
          deliveries: { event: string; state: string; attempts: number; lastStatus: number }[];
        }
      ).deliveries;
    await vi.waitFor(
      async () =>
        expect(await deliveriesOf()).toContainEqual(
          expect.objectContaining({ event: 'vulnerabilities', state: 'pending', lastStatus: 500 }),
        ),
      { timeout: 30_000, interval: 50 },
    );
    clock.advance(WEBHOOK_BACKOFF_MS);
    const deadline = Date.now() + 30_000;
    const toApp = () =>
      hook.received.filter(
        (r) => r.event === 'vulnerabilities' && JSON.parse(r.body).repository === 'scan/app',
      );
    while (toApp().length < 2) {
      if (Date.now() > deadline)
        throw new Error(`webhook not retried: ${JSON.stringify(hook.received.map((r) => r.event))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const [first, retry] = toApp() as [
      WebhookReceiver['received'][number],
      WebhookReceiver['received'][number],
    ];
    expect(retry.body).toBe(first.body);
    expect(retry.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(retry.body).digest('hex')}`);
    const payload = JSON.parse(retry.body) as Record<string, unknown> & { new_findings: Detail[] };
    expect(payload).toMatchObject({
      event: 'vulnerabilities',
      repository: 'scan/app',
      tag: 'v1',
      digest: (await env.get()).debian.manifest.digest,
    });
    expect(payload.new_findings.map((f) => f.id)).toEqual(['CVE-2021-44228']);
    const deliveries = await deliveriesOf();
    expect(
      deliveries.filter((d) => d.event === 'vulnerabilities').map((d) => [d.state, d.attempts]),
      JSON.stringify(deliveries),
    ).toContainEqual(['delivered', 2]);
  });

  test('importing the same data again changes nothing and re-matches nothing', async () => {
    const { registry } = await env.get();
    const response = await admin(registry, 'POST', '/admin/vulndb/import', { path: 'osv' });
    expect(await response.json()).toMatchObject({ added: 0, updated: 0, rematched: 0 });
  });

  test('push and delete are announced too', async () => {
    const { registry, hook } = await env.get();
    hook.received.length = 0;
    const image = buildImage({ layers: [{ 'etc/hostname': 'hooked\n' }] });
    await pushImage(registry, 'scan/hooked', image, 'v1');
    expect((await call(registry, 'DELETE', '/v2/scan/hooked/manifests/v1')).status).toBe(202);
    const deadline = Date.now() + 20_000;
    while (!hook.received.some((r) => r.event === 'delete')) {
      if (Date.now() > deadline) throw new Error('no delete event');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const push = JSON.parse(hook.received.find((r) => r.event === 'push')?.body ?? '{}');
    expect(push).toMatchObject({
      event: 'push',
      repository: 'scan/hooked',
      tag: 'v1',
      digest: image.manifest.digest,
    });
    const del = JSON.parse(hook.received.find((r) => r.event === 'delete')?.body ?? '{}');
    expect(del).toMatchObject({ event: 'delete', repository: 'scan/hooked', tag: 'v1' });
  });
});

describe('pull policy', () => {
  test('an image with a critical vulnerability is refused by tag and by digest, GET and HEAD, with the CVEs named', async () => {
    const { registry, debian } = await env.get();
    expect(
      (await admin(registry, 'PUT', '/admin/policies', { prefix: 'scan/app', threshold: 'critical' })).status,
    ).toBe(200);
    for (const ref of ['v1', debian.manifest.digest]) {
      const get = await call(registry, 'GET', `/v2/scan/app/manifests/${ref}`);
      expect(get.status).toBe(403);
      const body = (await get.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('DENIED');
      expect(body.errors[0]?.message).toBe(
        'image blocked due to critical vulnerabilities (CVE-2021-44228, CVE-2021-44906)',
      );
      expect((await call(registry, 'HEAD', `/v2/scan/app/manifests/${ref}`)).status).toBe(403);
    }
    // Other repositories are not under this policy.
    expect((await call(registry, 'GET', '/v2/scan/copy/manifests/v1')).status).toBe(200);
  });

  test('the allowlist lifts the block at once; an expired entry does not', async () => {
    const { registry } = await env.get();
    await admin(registry, 'PUT', '/admin/allowlist', { prefix: 'scan/', vulnerability: 'CVE-2021-44228' });
    await admin(registry, 'PUT', '/admin/allowlist', {
      prefix: '',
      vulnerability: 'CVE-2021-44906',
      expires_at: '2020-01-01T00:00:00Z',
    });
    const still = await call(registry, 'GET', '/v2/scan/app/manifests/v1');
    expect(still.status).toBe(403);
    expect(((await still.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      'image blocked due to critical vulnerabilities (CVE-2021-44906)',
    );
    await admin(registry, 'PUT', '/admin/allowlist', {
      prefix: '',
      vulnerability: 'CVE-2021-44906',
      expires_at: '2099-01-01T00:00:00Z',
    });
    expect((await call(registry, 'GET', '/v2/scan/app/manifests/v1')).status).toBe(200);
  });

  test('a lower threshold blocks on high, then on medium; removing the policy lifts it', async () => {
    const { registry } = await env.get();
    await admin(registry, 'PUT', '/admin/policies', { prefix: 'scan/app', threshold: 'high' });
    const high = await call(registry, 'GET', '/v2/scan/app/manifests/v1');
    expect(((await high.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      'image blocked due to high vulnerabilities (CVE-2023-4911)',
    );
    await admin(registry, 'PUT', '/admin/policies', { prefix: 'scan/app', threshold: 'low' });
    const low = await call(registry, 'GET', '/v2/scan/app/manifests/v1');
    expect(((await low.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      'image blocked due to high and medium vulnerabilities (CVE-2023-4911, CVE-2023-32681)',
    );
    expect((await admin(registry, 'DELETE', '/admin/policies?prefix=scan/app')).status).toBe(204);
    expect((await call(registry, 'GET', '/v2/scan/app/manifests/v1')).status).toBe(200);
  });

  test('bad policy input is refused with a clear message; only admins may change policies', async () => {
    const { registry } = await env.get();
    const bad = await admin(registry, 'PUT', '/admin/policies', { prefix: 'x/', threshold: 'severe' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(/threshold/);
    const notJson = await call(registry, 'PUT', '/admin/policies', { body: '{"prefix":' });
    expect(notJson.status).toBe(400);
    const huge = await call(registry, 'PUT', '/admin/allowlist', {
      body: `{"reason":"${'x'.repeat(100_000)}"}`,
    });
    expect(huge.status).toBe(413);
    const anonymous = await call(registry, 'PUT', '/admin/policies', { auth: null, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(await errorCode(await call(registry, 'DELETE', '/admin/policies?prefix=never-set'))).toBe(
      'NAME_UNKNOWN',
    );
  });
});
