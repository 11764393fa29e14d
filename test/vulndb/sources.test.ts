// scan.sources on a running registry, against a local HTTP server serving all.zip files built
// here in osv.dev's format: the first fetch imports, the next is a conditional GET answered 304,
// a changed export is imported incrementally, server errors are retried with backoff and
// reported, corrupt or oversized downloads are refused with the stored data untouched, a local
// directory works as a source, and the schedule of `registry serve` follows the registry's clock.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { SourceOutcome, VulnDataStatus } from '../../origin/vulndb/sources.ts';
import { call } from '../harness/client.ts';
import { ManualClock } from '../harness/clock.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { FIXTURES, zipDirectory } from './db.ts';

const DEBIAN = [
  'DEBIAN-CVE-2021-3711',
  'DEBIAN-CVE-2021-3712',
  'DEBIAN-CVE-2023-4911',
  'DSA-4963-1',
  'DSA-5724-1',
];

/** One export as the server serves it now. */
interface Served {
  body: Buffer;
  etag: string;
  lastModified: string;
}

/** A stand-in for osv.dev's bucket: /Debian/all.zip, with failures the test asks for. */
class ExportServer {
  readonly requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  /** Statuses answered before the export, one per request. */
  failures: number[] = [];
  /** Send the export without Content-Length (chunked), as a server that does not know it would. */
  chunked = false;
  private served: Served | undefined;
  private server: Server | undefined;

  serve(body: Buffer, lastModified: Date): void {
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
    this.served = { body, etag, lastModified: lastModified.toUTCString() };
  }

  get etag(): string | undefined {
    return this.served?.etag;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests.push({ path: req.url ?? '', headers: req.headers });
      const failure = this.failures.shift();
      if (failure !== undefined) return void res.writeHead(failure).end('unavailable');
      const served = this.served;
      if (req.url !== '/Debian/all.zip' || !served) return void res.writeHead(404).end();
      const validators = { ETag: served.etag, 'Last-Modified': served.lastModified };
      if (req.headers['if-none-match'] === served.etag) return void res.writeHead(304, validators).end();
      res.writeHead(200, {
        ...validators,
        'Content-Type': 'application/zip',
        ...(this.chunked ? {} : { 'Content-Length': served.body.length }),
      });
      if (!this.chunked) return void res.end(served.body);
      for (let at = 0; at < served.body.length; at += 4096) res.write(served.body.subarray(at, at + 4096));
      res.end();
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/Debian/all.zip`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

let work: string;
let zips: { first: Buffer; changed: Buffer };

/** An all.zip of `records` (fixture ids), with `edit` applied to the directory first. */
function buildZip(name: string, records: readonly string[], edit?: (dir: string) => void): Buffer {
  const dir = path.join(work, name);
  mkdirSync(dir);
  for (const id of records) cpSync(path.join(FIXTURES, `${id}.json`), path.join(dir, `${id}.json`));
  edit?.(dir);
  const zip = path.join(work, `${name}.zip`);
  zipDirectory(dir, zip);
  return readFileSync(zip);
}

function editRecord(dir: string, id: string, change: (record: Record<string, unknown>) => void, as = id) {
  const record = JSON.parse(readFileSync(path.join(dir, `${id}.json`), 'utf8'));
  change(record);
  writeFileSync(path.join(dir, `${as}.json`), JSON.stringify(record));
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'vulndb-sources-'));
  zips = {
    first: buildZip('first', DEBIAN),
    // One record modified upstream, one new: the rest unchanged.
    changed: buildZip('changed', DEBIAN, (dir) => {
      editRecord(dir, 'DEBIAN-CVE-2023-4911', (r) => {
        r.modified = '2026-01-02T03:04:05Z';
        r.summary = 'revised';
      });
      editRecord(
        dir,
        'DEBIAN-CVE-2021-3712',
        (r) => {
          r.id = 'DEBIAN-CVE-2026-0001';
          r.modified = '2026-01-02T03:04:05Z';
        },
        'DEBIAN-CVE-2026-0001',
      );
    }),
  };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function status(registry: TestRegistry): Promise<VulnDataStatus> {
  const response = await call(registry, 'GET', '/admin/vulndb');
  expect(response.status).toBe(200);
  return (await response.json()) as VulnDataStatus;
}

async function update(registry: TestRegistry): Promise<SourceOutcome[]> {
  const response = await call(registry, 'POST', '/admin/vulndb/update');
  expect(response.status).toBe(200);
  return ((await response.json()) as { sources: SourceOutcome[] }).sources;
}

const debianRecords = (s: VulnDataStatus) => s.ecosystems.find((e) => e.ecosystem === 'Debian')?.records;

describe('an http source', () => {
  let server: ExportServer;
  let url: string;
  let registry: TestRegistry;

  beforeAll(async () => {
    server = new ExportServer();
    url = await server.start();
    registry = await startTestRegistry({
      config: {
        scan: {
          on_push: false,
          sources: [url],
          update_interval: 0,
          update_retries: 2,
          update_backoff: '20ms',
          vulndb_upload_max: '64KiB',
        },
      },
    });
  });
  afterAll(async () => {
    await registry?.close();
    await server?.stop();
  });
  afterEach(() => {
    server.failures = [];
  });

  test('GET /admin/vulndb and POST /admin/vulndb/update are for administrators', async () => {
    expect((await fetch(`${registry.url}/admin/vulndb`)).status).toBe(401);
    expect((await fetch(`${registry.url}/admin/vulndb/update`, { method: 'POST' })).status).toBe(401);
  });

  test('before any fetch: no records, the source never checked', async () => {
    const s = await status(registry);
    expect(s.records).toBe(0);
    expect(s.ecosystems).toEqual([]);
    expect(s.sources).toEqual([
      expect.objectContaining({ source: url, configured: true, last_success: null, last_error: null }),
    ]);
  });

  test('the first fetch imports the export and keeps its validators', async () => {
    server.serve(zips.first, new Date('2026-01-01T00:00:00Z'));
    const [outcome] = await update(registry);
    expect(outcome).toMatchObject({ source: url, status: 'imported', added: DEBIAN.length, updated: 0 });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBeUndefined();
    expect(server.requests.at(-1)?.headers['if-modified-since']).toBeUndefined();

    const s = await status(registry);
    expect(s.records).toBe(DEBIAN.length);
    expect(debianRecords(s)).toBe(DEBIAN.length);
    const source = s.sources[0];
    expect(source).toMatchObject({ etag: server.etag, last_modified: 'Thu, 01 Jan 2026 00:00:00 GMT' });
    expect(source?.last_success).not.toBeNull();
    expect(source?.last_change).toBe(source?.last_success);
  });

  test('the next fetch is a conditional GET: 304, nothing imported', async () => {
    const before = await status(registry);
    const requests = server.requests.length;
    const [outcome] = await update(registry);
    expect(outcome).toEqual({ source: url, status: 'unchanged' });
    expect(server.requests.length).toBe(requests + 1);
    const sent = server.requests.at(-1)?.headers;
    expect(sent?.['if-none-match']).toBe(server.etag);
    expect(sent?.['if-modified-since']).toBe('Thu, 01 Jan 2026 00:00:00 GMT');
    const after = await status(registry);
    expect(after.generation).toBe(before.generation);
    expect(after.sources[0]?.last_change).toBe(before.sources[0]?.last_change);
  });

  test('a changed export is imported incrementally', async () => {
    const before = await status(registry);
    server.serve(zips.changed, new Date('2026-01-02T00:00:00Z'));
    const [outcome] = await update(registry);
    expect(outcome).toMatchObject({ status: 'imported', added: 1, updated: 1 });
    const after = await status(registry);
    expect(after.records).toBe(DEBIAN.length + 1);
    expect(debianRecords(after)).toBe(DEBIAN.length + 1);
    expect(after.generation).toBe(before.generation + 1);
    expect(after.sources[0]?.etag).toBe(server.etag);
  });

  test('server errors are retried with backoff; recovered, nothing is reported', async () => {
    server.serve(zips.changed, new Date('2026-01-02T00:00:00Z'));
    const requests = server.requests.length;
    server.failures = [503, 502];
    const [outcome] = await update(registry);
    expect(outcome).toEqual({ source: url, status: 'unchanged' });
    expect(server.requests.length).toBe(requests + 3);
    expect((await status(registry)).sources[0]).toMatchObject({ failures: 0 });
  });

  test('a server that keeps failing is reported, and the data stays', async () => {
    const before = await status(registry);
    const requests = server.requests.length;
    server.failures = [503, 503, 503, 503];
    const [outcome] = await update(registry);
    // The first attempt and update_retries (2) more.
    expect(outcome).toEqual({ source: url, status: 'failed', error: 'HTTP 503', attempts: 3 });
    expect(server.requests.length).toBe(requests + 3);
    const after = await status(registry);
    expect(after.sources[0]).toMatchObject({ last_error: 'HTTP 503', failures: 1 });
    expect(after.sources[0]?.last_success).toBe(before.sources[0]?.last_success);
    expect(after.records).toBe(before.records);
    expect(after.generation).toBe(before.generation);
  });

  test('a corrupt zip is refused without touching the stored data, and fetched again next time', async () => {
    const before = await status(registry);
    const good = zips.changed;
    const corrupt = Buffer.concat([good.subarray(0, good.length - 200), Buffer.alloc(50)]);
    server.serve(corrupt, new Date('2026-01-03T00:00:00Z'));
    const [outcome] = await update(registry);
    expect(outcome).toMatchObject({ source: url, status: 'failed', attempts: 1 });
    const after = await status(registry);
    expect(after.records).toBe(before.records);
    expect(after.generation).toBe(before.generation);
    expect(after.sources[0]?.etag).toBe(before.sources[0]?.etag);
    expect(after.sources[0]?.last_error).toBe((outcome as { error: string }).error);

    // The corrupt copy's validators were not kept: the next request carries the last good ones.
    server.serve(good, new Date('2026-01-02T00:00:00Z'));
    const [again] = await update(registry);
    expect(server.requests.at(-1)?.headers['if-none-match']).toBe(before.sources[0]?.etag);
    expect(again).toEqual({ source: url, status: 'unchanged' });
    expect((await status(registry)).sources[0]).toMatchObject({ failures: 0 });
  });

  test('a download over scan.vulndb_upload_max is refused, not retried', async () => {
    const before = await status(registry);
    server.serve(Buffer.alloc(65 * 1024, 0x50), new Date('2026-01-04T00:00:00Z'));
    const requests = server.requests.length;
    const [outcome] = await update(registry);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1 });
    expect((outcome as { error: string }).error).toContain('scan.vulndb_upload_max');
    expect(server.requests.length).toBe(requests + 1);
    expect((await status(registry)).records).toBe(before.records);

    // Without Content-Length the download is cut off at the bound.
    server.chunked = true;
    const [streamed] = await update(registry);
    server.chunked = false;
    expect(streamed).toMatchObject({ status: 'failed', attempts: 1 });
    expect((streamed as { error: string }).error).toBe('over scan.vulndb_upload_max (65536 bytes)');
    expect((await status(registry)).records).toBe(before.records);
  });

  test('an unreachable source is reported as a failure', async () => {
    const closed = new ExportServer();
    const gone = await closed.start();
    await closed.stop();
    const other = await startTestRegistry({
      config: { scan: { sources: [gone], update_interval: 0, update_retries: 1, update_backoff: '10ms' } },
    });
    try {
      const [outcome] = await update(other);
      expect(outcome).toMatchObject({ source: gone, status: 'failed', attempts: 2 });
      expect((outcome as { error: string }).error).toMatch(/ECONNREFUSED|fetch failed/);
      expect((await status(other)).sources[0]?.last_error).toBe((outcome as { error: string }).error);
    } finally {
      await other.close();
    }
  });
});

test('a local directory is a source as a URL is (air-gapped sites)', async () => {
  const dir = path.join(work, 'mirror');
  mkdirSync(dir);
  for (const id of DEBIAN.slice(0, 2))
    cpSync(path.join(FIXTURES, `${id}.json`), path.join(dir, `${id}.json`));
  const registry = await startTestRegistry({ config: { scan: { sources: [dir], update_interval: 0 } } });
  try {
    expect(await update(registry)).toEqual([
      expect.objectContaining({ source: dir, status: 'imported', added: 2 }),
    ]);
    expect(await update(registry)).toEqual([{ source: dir, status: 'unchanged' }]);
    cpSync(path.join(FIXTURES, `${DEBIAN[2]}.json`), path.join(dir, `${DEBIAN[2]}.json`));
    expect(await update(registry)).toEqual([expect.objectContaining({ status: 'imported', added: 1 })]);
    expect(debianRecords(await status(registry))).toBe(3);
  } finally {
    await registry.close();
  }
});

test("`registry serve` fetches on start and then once per scan.update_interval, by the registry's clock", async () => {
  const server = new ExportServer();
  const url = await server.start();
  server.serve(zips.first, new Date('2026-01-01T00:00:00Z'));
  const clock = new ManualClock();
  const registry = await startTestRegistry({
    clock,
    config: { scan: { on_push: false, sources: [url], update_interval: '6h' } },
  });
  try {
    // The first check is due at once: the registry starts with no data.
    await expect
      .poll(async () => (await status(registry)).sources[0]?.last_success, { timeout: 30_000 })
      .not.toBeNull();
    expect(server.requests).toHaveLength(1);
    const vulnData = registry.running.services.vulnData;
    const s = await status(registry);
    expect(s.records).toBe(DEBIAN.length);
    expect(Date.parse(s.sources[0]?.next_check as string)).toBe(clock.now() + 6 * 3_600_000);

    // Not due before the interval has passed on the registry's clock.
    clock.advance(6 * 3_600_000 - 1000);
    expect(await vulnData.updateDue()).toEqual([]);
    expect(server.requests).toHaveLength(1);
    clock.advance(1000);
    expect(await vulnData.updateDue()).toEqual([{ source: url, status: 'unchanged' }]);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.headers['if-none-match']).toBe(server.etag);
  } finally {
    await registry.close();
    await server.stop();
  }
});

test('with no sources the schedule fetches nothing and status says so', async () => {
  const registry = await startTestRegistry({ config: { scan: { sources: [], update_interval: '1s' } } });
  try {
    const s = await status(registry);
    expect(s.sources).toEqual([]);
    expect(await registry.running.services.vulnData.updateDue()).toEqual([]);
  } finally {
    await registry.close();
  }
});
