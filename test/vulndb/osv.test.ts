// The OSV record schema (lenient where producers differ) and the keys records are stored under.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  ecosystemBase,
  ecosystemCovers,
  identityCves,
  packageKey,
  parseOsv,
  toMicros,
} from '../../origin/vulndb/osv.ts';
import { FIXTURES } from './db.ts';

describe('OSV records', () => {
  test.each(readdirSync(FIXTURES))('the fixture %s is a valid record', (file) => {
    const parsed = parseOsv(JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')));
    expect(parsed.ok).toBe(true);
  });

  test('unknown fields, null arrays and new severity or range types are accepted', () => {
    const parsed = parseOsv({
      id: 'X-1',
      modified: '2024-01-01T00:00:00.123456789Z',
      aliases: null,
      some_future_field: { anything: true },
      severity: [{ type: 'CVSS_V5', score: 'whatever' }],
      affected: [
        {
          package: { ecosystem: 'npm', name: 'a' },
          ranges: [{ type: 'NEWKIND', events: [{ introduced: '0' }] }],
        },
      ],
    });
    expect(parsed.ok).toBe(true);
  });

  test.each([
    [{ modified: '2024-01-01T00:00:00Z' }, 'id: '],
    [{ id: 'X-1' }, 'modified: '],
    [{ id: 'X-1', modified: 'yesterday' }, 'modified: not an RFC 3339 timestamp'],
    [
      {
        id: 'X-1',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ ranges: [{ type: 'SEMVER', events: [{}] }] }],
      },
      'affected.0.ranges.0.events.0',
    ],
    [{ id: 'X-1', modified: '2024-01-01T00:00:00Z', aliases: 'CVE-2021-1' }, 'aliases: '],
  ])('%j is refused, naming the field (%s)', (value, reason) => {
    const parsed = parseOsv(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  test('timestamps compare at microsecond precision, offsets included', () => {
    expect(toMicros('2021-08-24T00:00:00Z')).toBe(Date.UTC(2021, 7, 24) * 1000);
    expect(toMicros('2021-08-24T00:00:00.000001Z')).toBe(Date.UTC(2021, 7, 24) * 1000 + 1);
    expect(toMicros('2021-08-24T02:00:00+02:00')).toBe(Date.UTC(2021, 7, 24) * 1000);
    expect(toMicros('2021-08-24')).toBeUndefined();
  });

  // Found by test/fuzz/osv.test.ts: Date.parse rolled these over (2021-02-30 read as March 2),
  // and PostgreSQL refuses each, so one as the newest `modified` failed the import's ledger.
  test.each([
    '2021-02-30T00:00:00Z',
    '2021-02-29T00:00:00Z',
    '2021-04-31T00:00:00Z',
    '2021-01-01T24:00:00Z',
    '0000-01-01T00:00:00Z',
    '2021-01-01T00:00:00+16:00',
  ])('%s names no instant and is not a timestamp', (text) => {
    expect(toMicros(text)).toBeUndefined();
    expect(parseOsv({ id: 'X-1', modified: text })).toEqual({
      ok: false,
      reason: 'modified: not an RFC 3339 timestamp',
    });
  });

  test('the last day of February in a leap year, and offsets up to ±15:59, are timestamps', () => {
    expect(toMicros('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29) * 1000);
    expect(toMicros('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29) * 1000);
    expect(toMicros('1900-02-29T00:00:00Z')).toBeUndefined();
    expect(toMicros('2021-01-01T15:59:00+15:59')).toBe(Date.UTC(2021, 0, 1) * 1000);
    expect(toMicros('2021-12-31T23:59:59-15:59')).toBe(Date.UTC(2022, 0, 1, 15, 58, 59) * 1000);
  });
});

describe('keys', () => {
  test('the ecosystem base is the part before the release', () => {
    expect(ecosystemBase('Debian:12')).toBe('Debian');
    expect(ecosystemBase('Ubuntu:22.04:LTS')).toBe('Ubuntu');
    expect(ecosystemBase('Red Hat:enterprise_linux:9::appstream')).toBe('Red Hat');
    expect(ecosystemBase('npm')).toBe('npm');
  });

  test('PyPI names compare PEP 503-normalised, NuGet ids case-insensitively; others exactly', () => {
    expect(packageKey('NuGet', 'Newtonsoft.Json')).toBe(packageKey('NuGet', 'newtonsoft.json'));
    expect(packageKey('RubyGems', 'RedCloth')).toBe('RedCloth');
    expect(packageKey('PyPI', 'Flask_Cors')).toBe('flask-cors');
    expect(packageKey('PyPI', 'zope.interface')).toBe('zope-interface');
    expect(packageKey('npm', 'JSONStream')).toBe('JSONStream');
    expect(packageKey('Maven', 'org.apache.logging.log4j:log4j-core')).toBe(
      'org.apache.logging.log4j:log4j-core',
    );
  });

  test.each([
    ['Debian:12', 'Debian:12', true],
    ['Debian', 'Debian:12', true],
    ['Debian:11', 'Debian:12', false],
    ['Ubuntu:22.04:LTS', 'Ubuntu:22.04', true],
    ['Ubuntu:Pro:22.04:LTS', 'Ubuntu:22.04', false],
    ['Ubuntu:20.04:LTS', 'Ubuntu:22.04', false],
    ['Alpine:v3.18', 'Alpine:v3.18', true],
    ['Alpine:v3.18', 'Alpine:v3.1', false],
    ['Debian:12', 'Debian', false],
    ['npm', 'npm', true],
    ['npm', 'PyPI', false],
  ])('a %s record covers a %s package: %s', (record, pkg, covers) => {
    expect(ecosystemCovers(record, pkg)).toBe(covers);
  });

  test('a record is the CVE of its id, its aliases, or its single upstream CVE', () => {
    expect(identityCves({ id: 'GHSA-xvch-5gv4-984h', aliases: ['CVE-2021-44906'] })).toEqual([
      'CVE-2021-44906',
    ]);
    expect(identityCves({ id: 'DEBIAN-CVE-2023-4911', upstream: ['CVE-2023-4911'] })).toEqual([
      'CVE-2023-4911',
    ]);
    expect(identityCves({ id: 'DSA-4963-1', upstream: ['CVE-2021-3711', 'CVE-2021-3712'] })).toEqual([]);
    expect(identityCves({ id: 'CVE-2021-3711' })).toEqual(['CVE-2021-3711']);
  });
});
