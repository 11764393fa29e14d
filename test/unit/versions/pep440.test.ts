// PyPI versions order exactly as PEP 440 orders them. The oracle is the `packaging` library's
// Version (Debian's python3-packaging, run by /usr/bin/python3), given every pair of real PyPI
// versions (test/fixtures/versions/pypi.txt) in one process; it also says which strings are versions.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from '../../../origin/scan/versions/index.ts';
import { allPairs, disagreements, type Pair, readFixture, requireTool } from './oracle.ts';

const PYPI = readFixture('pypi.txt');
const pep440 = (a: string, b: string): number => compareVersions('pep440', a, b);

const PYTHON = '/usr/bin/python3';
const ORACLE = `
import json, sys
from packaging.version import InvalidVersion, Version
request = json.load(sys.stdin)
def valid(v):
    try:
        Version(v)
        return True
    except InvalidVersion:
        return False
def cmp(a, b):
    x, y = Version(a), Version(b)
    return (x > y) - (x < y)
json.dump({"cmp": [cmp(a, b) for a, b in request["pairs"]],
           "valid": [valid(v) for v in request["versions"]]}, sys.stdout)
`;

function packaging(pairs: readonly Pair[], versions: readonly string[]): { cmp: number[]; valid: boolean[] } {
  requireTool(
    "Python's packaging library",
    PYTHON,
    ['-c', 'import packaging.version'],
    'apt-get install python3-packaging (the test runs /usr/bin/python3, not a python3 on PATH)',
  );
  const run = spawnSync(PYTHON, ['-c', ORACLE], {
    input: JSON.stringify({ pairs, versions }),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (run.status !== 0) throw new Error(`the packaging oracle failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

describe('PEP 440 ordering agrees with packaging.version.Version', () => {
  it('on every pair of real PyPI versions and the spellings PEP 440 normalises', () => {
    const pairs = allPairs(PYPI);
    expect(pairs.length).toBeGreaterThanOrEqual(2000);
    const oracle = packaging(pairs, PYPI);
    expect(PYPI.filter((_, i) => !oracle.valid[i])).toEqual([]);
    expect(disagreements(pairs, oracle.cmp, pep440, 'packaging')).toEqual([]);
  });

  it('normalises spellings to the same version', () => {
    expect(pep440('1.0-RC1', '1.0rc1')).toBe(0);
    expect(pep440('1.0-1', '1.0.post1')).toBe(0);
    expect(pep440('v1.0', '1.0.0')).toBe(0);
    expect(pep440(' 1.0.1 \n', '1.0.1')).toBe(0);
    expect(pep440('1.0.dev', '1.0.dev0')).toBe(0);
    expect(pep440('1.0+Ubuntu-1', '1.0+ubuntu.1')).toBe(0);
  });
});

describe('PEP 440 validity agrees with packaging.version.Version', () => {
  it('on versions and near-misses', () => {
    const strings = [
      ...PYPI,
      '',
      ' ',
      '1.0 1',
      'v',
      'vv1.0',
      '1.0.',
      '.1.0',
      '1..0',
      '1.0-',
      '1.0+',
      '1.0+.a',
      '1.0+a..b',
      '1.0+a b',
      '1.0+ä',
      '1.0a1b2',
      '1.0.dev1.post1',
      '1.0.post1.post2',
      '1.0d1',
      '2013d',
      '1.0-rc-1-1',
      '1.0-1-1',
      '1.0_1',
      '1!',
      '!1.0',
      '1!2!3',
      '1.0rc',
      '1.0-r',
      '1.0-dev',
      '1.0.dev-1',
      '1.0.POST-1',
      '1.0-post_1',
      '1.0a.1',
      '1.0a-1.post.dev',
      'ß1.0',
      '1.0\t',
      'dev',
      'latest',
      '1.0.0-SNAPSHOT',
      '1.2.3-beta.1',
      '\u0661.0',
    ];
    const oracle = packaging([], strings);
    const wrong = strings.filter((v, i) => isValidVersion('pep440', v) !== oracle.valid[i]);
    expect(wrong).toEqual([]);
  });
});
