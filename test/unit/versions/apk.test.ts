// Alpine versions order as apk-tools orders them. No oracle runs here: apk-tools is not packaged
// for Debian. The expected orders below are facts stated by apk-tools' own test data
// (test/version.data: its orderings, its validity list) and by Alpine's package history.

import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';

const apk = (a: string, b: string): number => compareVersions('apk', a, b);

/** "a < b", "a > b" or "a = b", one per line. */
function relations(text: string): [string, '<' | '>' | '=', string][] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [a, op, b] = line.trim().split(/\s+/);
      return [a!, op as '<' | '>' | '=', b!];
    });
}

// From apk-tools' test/version.data.
const APK_TOOLS = relations(`
  2.34 > 0.1.0_alpha
  23_foo > 4_beta
  1.0 < 1.0bc
  0.1.0_alpha = 0.1.0_alpha
  0.1.0_alpha < 0.1.3_alpha
  0.1.0_alpha2 > 0.1.0_alpha
  2.2.39-r1 > 1.0.4-r3
  1.0.4-r3 < 1.0.4-r4
  1.0.4-r4 < 1.6
  1.1 > 1.1_alpha1
  1.2.1 > 1.2
  1.2 < 1.3_alpha
  1.3_alpha < 1.3_alpha2
  0.7.0 < 0.8_beta1
  0.8_beta1 < 0.8_beta2
  3.10.18-r1 > 2.3.0b-r1
  2.3.0b-r1 < 2.3.0b-r2
  0.12.3 > 0.12
  0.12 < 0.13_beta1
  1.2.11 < 1.2.12.1
  1.2.12.1 < 1.2.13
  0.2.0-r1 = 0.2.0-r1
  0.2.0-r1 < 3.1_p16
  3.1_p16 < 3.1_p17
  3.1_p17 > 1.06-r6
  1.06-r6 < 006
  006 > 1.0.0
  1.2.2-r1 > 1.2.2
  9.3.4-r2 > 9.3.4
  2.59 < 20050718-r1
  20050718-r1 < 20050718-r2
  3.9.8-r5 > 2.01.01_alpha10
  2.01.01_alpha10 > 0.94
  1.0 > 0.99.3.20040818
  1.39 > 1.00_beta2
  7.15.1-r1 > 1.02
  1.02 < 1.03-r1
  0.5.2.7 < 4.2.52_p2-r1
  4.2.52_p2-r1 < 4.2.52_p4-r2
  4.2.52_p4-r2 > 1.02.07
  1.02.07 < 1.02.10-r1
  2.18.3-r10 > 1.05-r18
  1.05-r18 < 1.05-r19
  2.20.3 < 2.31
  2.38 < 20050405
  20060720 > 3.0.20060720
  2.5.1-r8 < 2.5.1a-r1
  1.3.5-r10 > 1.3.5-r8
  20040401 > 2.0.0_rc3-r1
  2.6.15.20060110 < 2.6.16.20060323
  3.0.0-r2 < 021109-r3
  021109-r3 < 20060512
  0.9.16-r1 < 3.9_pre20060124
  3.9_pre20060124 > 0.01
  0.01 < 0.06
  1.1.7 < 6b-r7
  0.10.0-r1 > 0.10.0
  0.10.0 < 0.10.1_rc1
  1.1a < 1.3a
  1.0-r1 > 0.15.1b
  0.15.1b-r2 > 0.15.1b
  0.0.31 < 0.0.50
  1.1.3 < 1.1.20
  22.7-r1 < 22.7.3-r1
  22.7.3-r1 > 22.7
  2.1_pre20 < 2.1_pre26
  2.10.1 > 02.08.01b
  1.6d > 1.2.07.8
  1.2.07.8 < 1.2.12.04
  1.2.12.04 < 1.2.12.05
  1.07-r1 < 1.07.5
  1.07.5 > 1.07
  0.1_pre20060810 < 0.1_pre20060817
  0.59s-r11 < 0.65
  4.01 < 4.20
  4.20 > 0.20070118
  0.20070118 < 0.20070207_rc1
  0.20070207_rc1 < 1.0
  4.3_p2-r1 < 4.3_p2-r5
  4.5_p1-r1 > 4.5_p1
  0.9.8c-r1 < 0.9.8d
  2.2.3-r2 < 013
  013 < 014-r1
  1.7 < 1.7b
  1.8.5 < 1.8.5_p2
  2.9.11_pre20051101-r3 > 2.9.11_pre20051101
  1.6.8_p12-r1 > 1.6.8_p9-r2
  0.9.28-r2 < 0.9.28.1
  0.9.28.1 < 087-r1
  104-r11 > 104-r9
  2.12r-r4 < 2.12r-r5
  7.0.17 < 7.0.174
  1.3-r0 < 1.3.1-r0
  1.3_pre1-r1 < 1.3.2
  1.0_p10-r0 > 1.0_p9-r0
  0.1.0_alpha_pre2 < 0.1.0_alpha
  1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
  6.0_pre1 < 6.0
  6.0_p1 > 6.0
  8.2.0 < 8.2.001
  8.2.0015 < 8.2.002
  1.0~1234 < 1.0~2345
  1.0~1234-r1 < 1.0~2345-r0
  1.0~1234-r1 > 1.0~1234-r0
`);

// From Alpine's aports history: real successive versions of packages.
const ALPINE = relations(`
  1.1.1k-r0 < 1.1.1l-r0
  1.1.1t-r3 < 1.1.1u-r0
  3.1.4-r5 < 3.1.4-r6
  3.1.4-r6 < 3.1.5-r0
  3.0.12-r4 < 3.1.4-r0
  1.36.1-r5 < 1.36.1-r15
  1.36.1-r15 < 1.36.1-r20
  1.2.4-r2 < 1.2.4_git20230717-r4
  1.2.4_git20230717-r4 < 1.2.5-r0
  2.40.1-r0 < 2.40.1-r1
  8.5.0-r0 < 8.6.0-r0
  2.38.1-r0 < 2.38.5-r0
  9.4_p1-r0 < 9.6_p1-r0
  9.6_p1-r0 < 9.7_p1-r0
  9.3_p2-r1 > 9.3_p2-r0
  3.12.3-r1 < 3.12.10-r0
  2.4.58-r0 < 2.4.59-r0
  1.24.0-r15 < 1.26.0-r0
  5.2.21-r0 < 5.2.26-r0
  2023c-r0 < 2024a-r0
`);

// The suffix order and the revision: a suffix ranks by its word, then its number, and the revision
// is the last thing compared (so 1.0-r1, a rebuild of 1.0, is older than 1.0_p1, a newer upstream).
const SUFFIXES = [
  '1.0_alpha',
  '1.0_alpha1',
  '1.0_alpha2',
  '1.0_beta',
  '1.0_beta1',
  '1.0_pre1',
  '1.0_rc1',
  '1.0_rc2',
  '1.0',
  '1.0-r1',
  '1.0-r2',
  '1.0_cvs1',
  '1.0_svn1',
  '1.0_git20240101',
  '1.0_hg1',
  '1.0_p1',
  '1.0_p1-r1',
  '1.0_p2',
  '1.0a',
  '1.0b',
  '1.0.1_alpha',
  '1.0.1',
];

describe('apk ordering follows apk-tools', () => {
  it.each([...APK_TOOLS, ...ALPINE])('%s %s %s', (a, op, b) => {
    const want = op === '<' ? -1 : op === '>' ? 1 : 0;
    expect(apk(a, b)).toBe(want);
    expect(apk(b, a)).toBe(want === 0 ? 0 : -want);
  });

  it('orders suffixes _alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg < _p, then letters, then more numbers', () => {
    for (let i = 0; i < SUFFIXES.length; i++) {
      for (let j = i + 1; j < SUFFIXES.length; j++) {
        expect(apk(SUFFIXES[i]!, SUFFIXES[j]!), `${SUFFIXES[i]} < ${SUFFIXES[j]}`).toBeLessThan(0);
        expect(apk(SUFFIXES[j]!, SUFFIXES[i]!), `${SUFFIXES[j]} > ${SUFFIXES[i]}`).toBeGreaterThan(0);
      }
    }
  });
});

describe('apk validity follows apk-tools', () => {
  it.each([
    '1.2',
    '0.1_pre2',
    '0.1_pre2~1234abcd',
    '0.1_p1_pre2',
    '0.1_alpha1_pre2',
    '0.1_git20240101_pre1',
    '1.2.4_git20230717-r4',
    '2.12r-r4',
    '1.0~1234-r1',
  ])('accepts %s', (v) => expect(isValidVersion('apk', v)).toBe(true));

  it.each([
    '',
    '0.1bc',
    '0.1bc1',
    '0.1a1',
    '0.1a.1',
    '0.1_pre2~',
    '0.1_pre2~1234xbcd',
    '0.1_pre2~1234abcd_pre1',
    '0.1_pre2-r1~1234xbcd',
    '0.1_foobar',
    '0.1_foobar1',
    '0.1-pre1.1',
    '0.1-r',
    '0.1-r2_pre1',
    '0.1-r2_p3_pre1',
    '0.1-r2-r3',
    '0.1-r2.1',
    '.1',
    'a',
    '_pre1',
    '-r1',
    '0.1_',
    '0.1_-r0',
    '0.1__alpha',
    '0.1_1_alpha',
    '1.0-1',
    '1.0A',
  ])('refuses %j', (v) => expect(isValidVersion('apk', v)).toBe(false));
});
