// POST /admin/vulndb/import on a running registry: a path is read only under scan.vulndb_dir
// (symlinks resolved before the check; no directory configured, no path is read), an all.zip can
// be sent in the body instead (bounded by scan.vulndb_upload_max), and no answer quotes a file.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { call, errorCode } from '../harness/client.ts';
import { startTestRegistry, type TestRegistry } from '../harness/registry.ts';
import { FIXTURES, zipDirectory } from './db.ts';

const RECORDS = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).length;
// Lines of a file no import may ever echo.
const SECRET_TEXT = 'root:x:0:0:SECRET-LINE-0123456789\nbin:x:1:1:SECRET-LINE-2\n';

const importPath = (registry: TestRegistry, location: string) =>
  call(registry, 'POST', '/admin/vulndb/import', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ path: location }),
  });

const importBody = (registry: TestRegistry, body: Uint8Array | string) =>
  call(registry, 'POST', '/admin/vulndb/import', { headers: { 'Content-Type': 'application/zip' }, body });

let work: string;
/** Outside every registry's vulndb_dir: a file and a directory no import may read. */
let outside: string;
let outsideFile: string;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'vulndb-admin-'));
  outside = path.join(work, 'outside');
  mkdirSync(outside);
  outsideFile = path.join(outside, 'shadow.json');
  writeFileSync(outsideFile, SECRET_TEXT);
  cpSync(FIXTURES, path.join(outside, 'osv'), { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('without scan.vulndb_dir', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startTestRegistry();
  });
  afterAll(async () => registry?.close());

  test('a path import is refused, and reads nothing', async () => {
    for (const location of [outsideFile, '/etc/passwd', path.join(outside, 'osv')]) {
      const response = await importPath(registry, location);
      expect(response.status, location).toBe(403);
      const text = await response.text();
      expect(JSON.parse(text).errors[0].code).toBe('DENIED');
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain('root:');
    }
  });
});

describe('with scan.vulndb_dir', () => {
  let registry: TestRegistry;
  let dir: string;

  beforeAll(async () => {
    dir = path.join(work, 'vulndb');
    mkdirSync(dir);
    cpSync(FIXTURES, path.join(dir, 'osv'), { recursive: true });
    writeFileSync(path.join(dir, 'not-osv.json'), SECRET_TEXT);
    symlinkSync(outsideFile, path.join(dir, 'link-to-file.json'));
    symlinkSync(outside, path.join(dir, 'link-to-dir'));
    symlinkSync('/etc', path.join(dir, 'etc'));
    registry = await startTestRegistry({ config: { scan: { vulndb_dir: dir } } });
  });
  afterAll(async () => registry?.close());

  test('a path under it, relative or absolute, is imported', async () => {
    const relative = await importPath(registry, 'osv');
    expect(relative.status, await relative.clone().text()).toBe(200);
    expect(await relative.json()).toMatchObject({ total: RECORDS, skipped_invalid: 0 });
    const absolute = await importPath(registry, path.join(dir, 'osv', 'CVE-2021-3711.json'));
    expect(absolute.status).toBe(200);
    expect(await absolute.json()).toMatchObject({ total: 1, skipped_invalid: 0 });
  });

  test('paths outside it are refused, through .. or through a symlink, without a word of what is there', async () => {
    for (const location of [
      outsideFile,
      '/etc/passwd',
      '../outside',
      '../../../../../../etc',
      'osv/../../outside/shadow.json',
      'link-to-file.json',
      'link-to-dir',
      'link-to-dir/osv',
      'etc/passwd',
    ]) {
      const response = await importPath(registry, location);
      expect(response.status, location).toBe(403);
      const text = await response.text();
      expect(JSON.parse(text).errors[0].code, location).toBe('DENIED');
      expect(text, location).not.toContain('SECRET');
      expect(text, location).not.toContain('root:');
      expect(text, location).not.toContain('GHSA');
    }
  });

  test('a path under it that does not exist is 404, and names only what was asked', async () => {
    const response = await importPath(registry, 'missing/all.zip');
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('NAME_UNKNOWN');
  });

  test('the directory itself is imported without following the symlinks in it', async () => {
    const response = await importPath(registry, '.');
    expect(response.status).toBe(200);
    const text = await response.text();
    // The fixtures and not-osv.json; neither link-to-file.json nor anything under link-to-dir or etc.
    expect(JSON.parse(text)).toMatchObject({ total: RECORDS + 1, skipped_invalid: 1 });
    expect(text).not.toContain('SECRET');
  });

  test('a file that is not JSON is reported invalid without quoting it', async () => {
    const response = await importPath(registry, 'not-osv.json');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ total: 1, skipped_invalid: 1 });
    expect(JSON.parse(text).invalid[0].reason).toMatch(/^not JSON/);
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('root:');
  });
});

describe('an all.zip in the request body', () => {
  let registry: TestRegistry;
  let archive: Uint8Array;

  beforeAll(async () => {
    const zip = path.join(work, 'all.zip');
    zipDirectory(FIXTURES, zip);
    archive = readFileSync(zip);
    registry = await startTestRegistry({ config: { scan: { vulndb_upload_max: archive.byteLength + 10 } } });
  });
  afterAll(async () => registry?.close());

  const staged = () => readdirSync(path.join(registry.dataDir, 'tmp')).length;

  test('is imported, and nothing of it is left behind', async () => {
    const response = await importBody(registry, archive);
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toMatchObject({ source: 'upload', total: RECORDS, skipped_invalid: 0 });
    expect(staged()).toBe(0);
  });

  test('one over scan.vulndb_upload_max is refused with 413, declared or not', async () => {
    const large = new Uint8Array(archive.byteLength + 11);
    const declared = await importBody(registry, large);
    expect(declared.status).toBe(413);
    expect(await errorCode(declared)).toBe('SIZE_INVALID');
    // Sent without a length: refused once the bytes pass the limit.
    const streamed = await fetch(`${registry.url}/admin/vulndb/import`, {
      method: 'POST',
      headers: { Authorization: registry.adminAuth, 'Content-Type': 'application/zip' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(large);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(staged()).toBe(0);
  });

  test('a body that is no ZIP archive is refused without quoting it', async () => {
    const response = await importBody(registry, SECRET_TEXT);
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('root:');
    expect(staged()).toBe(0);
  });
});
