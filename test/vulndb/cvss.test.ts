// CVSS base scores against the scores NVD published for real CVEs, and the severity an OSV
// record is given (CVSS v3 first, then the database's word, Ubuntu's priority, CVSS v2).
import { describe, expect, test } from 'vitest';
import {
  cvss2BaseScore,
  cvss3BaseScore,
  cvssBand,
  recordSeverity,
  roundUp31,
} from '../../origin/vulndb/cvss.ts';
import { type OsvRecord, parseOsv } from '../../origin/vulndb/osv.ts';

// [CVE, vector, NVD base score]
const V3: [string, string, number][] = [
  ['CVE-2021-44228 (Log4Shell)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0],
  ['CVE-2021-3711 (OpenSSL SM2)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVE-2021-44906 (minimist)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8],
  ['CVE-2021-45046 (Log4j, scope changed)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H', 9.0],
  ['CVE-2019-10744 (lodash)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H', 9.1],
  ['CVE-2024-6387 (regreSSHion)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.1],
  ['CVE-2023-4911 (Looney Tunables)', 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.8],
  ['CVE-2014-0160 (Heartbleed)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5],
  ['CVE-2022-0778 (OpenSSL BN_mod_sqrt)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5],
  ['CVE-2020-8203 (lodash zipObjectDeep)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', 7.4],
  ['CVE-2021-3712 (OpenSSL ASN.1 strings)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H', 7.4],
  ['CVE-2021-23337 (lodash template)', 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', 7.2],
  ['CVE-2016-5195 (Dirty COW)', 'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H', 7.0],
  ['CVE-2021-44832 (Log4j JDBC appender)', 'CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:H', 6.6],
  ['CVE-2023-26136 (tough-cookie)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N', 6.5],
  ['CVE-2023-32681 (requests, scope changed)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N', 6.1],
  ['CVE-2020-11022 (jQuery XSS, scope changed)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1],
  ['CVE-2021-45105 (Log4j recursion)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H', 5.9],
  ['CVE-2019-1547 (OpenSSL ECDSA)', 'CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N', 4.7],
  ['CVE-2019-1563 (OpenSSL Bleichenbacher)', 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N', 3.7],
];

// Scope-changed vectors in the low and medium bands, with the FIRST calculator's v3.1 scores
// (worked by hand from the specification's equations; no single CVE is claimed for them).
const V3_SCOPE_CHANGED: [string, number][] = [
  ['CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4],
  ['CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:N/A:N', 4.7],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:L/I:L/A:N', 4.7],
  ['CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:L/I:N/A:N', 3.4],
  ['CVSS:3.1/AV:N/AC:L/PR:H/UI:R/S:C/C:L/I:N/A:N', 3.4],
  ['CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N', 2.3],
];

describe('CVSS v3 base score', () => {
  test.each(V3)('%s: %s scores %d', (_cve, vector, score) => {
    expect(cvss3BaseScore(vector)).toMatchObject({ ok: true, score });
  });

  test.each(V3_SCOPE_CHANGED)('scope changed: %s scores %d', (vector, score) => {
    expect(cvss3BaseScore(vector)).toMatchObject({ ok: true, score });
  });

  test('a v3.0 vector scores by the v3.0 equations (CVE-2017-5638, Struts: 10.0)', () => {
    expect(cvss3BaseScore('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H')).toMatchObject({
      ok: true,
      version: '3.0',
      score: 10,
    });
  });

  test('no impact scores 0.0 whatever the exploitability', () => {
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N')).toMatchObject({
      ok: true,
      score: 0,
    });
  });

  test('temporal and environmental metrics do not change the base score', () => {
    expect(
      cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C/CR:H/MAV:L'),
    ).toMatchObject({
      ok: true,
      score: 9.8,
    });
  });

  test.each([
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', 'missing base metric A'],
    ['CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'bad metric "AV:X"'],
    ['CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'metric AV given twice'],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', 'not a CVSS v3 vector: CVSS:4.0'],
  ])('%s is refused (%s)', (vector, reason) => {
    expect(cvss3BaseScore(vector)).toEqual({ ok: false, reason });
  });

  test('Roundup (v3.1) is the smallest one-decimal number not below its input, free of float noise', () => {
    expect(roundUp31(4.02)).toBe(4.1);
    expect(roundUp31(4.0)).toBe(4.0);
    // 4.000000000000001 is 4.0 computed in binary; v3.0's plain ceiling would give 4.1.
    expect(roundUp31(4.000000000000001)).toBe(4.0);
    expect(Math.ceil(4.000000000000001 * 10) / 10).toBe(4.1);
  });
});

describe('CVSS v2 base score', () => {
  test.each([
    ['CVE-2014-6271 (Shellshock)', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10.0],
    ['CVE-2021-44228 (Log4Shell)', 'AV:N/AC:M/Au:N/C:C/I:C/A:C', 9.3],
    ['CVE-2021-3711 (OpenSSL SM2)', 'AV:N/AC:L/Au:N/C:P/I:P/A:P', 7.5],
    ['CVE-2016-5195 (Dirty COW)', 'AV:L/AC:L/Au:N/C:C/I:C/A:C', 7.2],
    ['CVE-2014-0160 (Heartbleed)', 'AV:N/AC:L/Au:N/C:P/I:N/A:N', 5.0],
    ['CVE-2021-3711, parenthesised as NVD once wrote it', '(AV:N/AC:L/Au:N/C:P/I:P/A:P)', 7.5],
  ])('%s: %s scores %d', (_cve, vector, score) => {
    expect(cvss2BaseScore(vector)).toMatchObject({ ok: true, score });
  });
});

describe('severity bands', () => {
  test.each([
    [10, 'critical'],
    [9.0, 'critical'],
    [8.9, 'high'],
    [7.0, 'high'],
    [6.9, 'medium'],
    [4.0, 'medium'],
    [3.9, 'low'],
    [0.1, 'low'],
    [0, 'none'],
  ])('%d is %s', (score, band) => {
    expect(cvssBand(score)).toBe(band);
  });
});

function record(fields: Record<string, unknown>): OsvRecord {
  const parsed = parseOsv({ id: 'TEST-1', modified: '2024-01-01T00:00:00Z', ...fields });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.record;
}

describe("a record's severity", () => {
  test('a CVSS v3 vector is scored and banded', () => {
    expect(
      recordSeverity(
        record({ severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N' }] }),
      ),
    ).toEqual({
      severity: 'medium',
      cvssScore: 6.1,
      cvssVector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N',
    });
  });

  test('CVSS v3 wins over the database word', () => {
    const r = record({
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
      database_specific: { severity: 'LOW' },
    });
    expect(recordSeverity(r).severity).toBe('critical');
  });

  test('a v4-only GHSA takes its database_specific severity and keeps the v4 vector, unscored', () => {
    const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
    const r = record({
      severity: [{ type: 'CVSS_V4', score: v4 }],
      database_specific: { severity: 'MODERATE' },
    });
    expect(recordSeverity(r)).toEqual({ severity: 'medium', cvssVector: v4 });
  });

  test('an Ubuntu priority is used when there is no v3 vector', () => {
    expect(recordSeverity(record({ severity: [{ type: 'Ubuntu', score: 'high' }] }))).toEqual({
      severity: 'high',
    });
    expect(recordSeverity(record({ severity: [{ type: 'Ubuntu', score: 'negligible' }] }))).toEqual({
      severity: 'low',
    });
    expect(recordSeverity(record({ severity: [{ type: 'Ubuntu', score: 'untriaged' }] }))).toEqual({
      severity: 'unknown',
    });
  });

  test('a CVSS v2 vector is the last resort, banded as v2 was (no critical)', () => {
    expect(
      recordSeverity(record({ severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:C/I:C/A:C' }] })),
    ).toEqual({
      severity: 'high',
      cvssScore: 10,
      cvssVector: 'AV:N/AC:L/Au:N/C:C/I:C/A:C',
    });
  });

  test('a malformed v3 vector is passed over, not trusted', () => {
    const r = record({
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N' }],
      database_specific: { severity: 'HIGH' },
    });
    expect(recordSeverity(r)).toEqual({ severity: 'high' });
  });

  test('nothing to go on is unknown', () => {
    expect(recordSeverity(record({}))).toEqual({ severity: 'unknown' });
  });
});
