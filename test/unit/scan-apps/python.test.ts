// origin/scan/apps/python.ts: wheel METADATA and setuptools PKG-INFO name installed distributions,
// with PEP 503 names; checked on real files copied from this machine and, where Python is
// installed, against Python's own importlib.metadata over a whole site-packages.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normalizePythonName, pythonParser } from '../../../origin/scan/apps/python.ts';
import type { FoundPackage } from '../../../origin/scan/inventory.ts';
import type { EntryInfo, ParseOutcome } from '../../../origin/scan/layer/file-parser.ts';

const FIXTURES = 'test/fixtures/scan-apps/python';
const SYSTEM_PYTHON = '/usr/bin/python3';
const DIST_PACKAGES = '/usr/lib/python3/dist-packages';

const entry = (path: string, size = 1000): EntryInfo => ({ path, mode: 0o644, size });

async function parse(path: string, content: Uint8Array): Promise<ParseOutcome> {
  return pythonParser.parse(entry(path), content);
}

/** Every file under `root`, at most two levels down, that the parser wants, as image paths. */
function wantedFiles(root: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root)) {
    const candidates = statSync(join(root, name)).isDirectory()
      ? readdirSync(join(root, name)).map((child) => `${name}/${child}`)
      : [name];
    for (const relative of candidates) {
      if (pythonParser.wants(entry(`usr/lib/python3/dist-packages/${relative}`))) found.push(relative);
    }
  }
  return found.sort();
}

describe('Python distribution metadata', () => {
  it('real METADATA and PKG-INFO files name their distribution, normalised per PEP 503', async () => {
    const files = wantedFiles(FIXTURES);
    expect(files).toEqual([
      'PyYAML-6.0.dist-info/METADATA',
      'lazr.restfulclient-0.14.5.egg-info/PKG-INFO',
      'markupsafe-3.0.3.dist-info/METADATA',
      'packaging-23.0.dist-info/METADATA',
      'typing_extensions-4.15.0.dist-info/METADATA',
      'wsgiref.egg-info',
    ]);
    const packages: FoundPackage[] = [];
    for (const file of files) {
      const outcome = await parse(
        `usr/lib/python3/dist-packages/${file}`,
        readFileSync(join(FIXTURES, file)),
      );
      if (!outcome.ok) throw new Error(outcome.warning);
      packages.push(...outcome.packages);
    }
    expect(packages).toEqual([
      { kind: 'pypi', name: 'pyyaml', version: '6.0' },
      { kind: 'pypi', name: 'lazr-restfulclient', version: '0.14.5' },
      { kind: 'pypi', name: 'markupsafe', version: '3.0.3' },
      { kind: 'pypi', name: 'packaging', version: '23.0' },
      { kind: 'pypi', name: 'typing-extensions', version: '4.15.0' },
      { kind: 'pypi', name: 'wsgiref', version: '0.1.2' },
    ]);
  });

  it('the parser wants metadata files only, not the other files of a dist-info or egg-info', () => {
    const wants = (path: string) => pythonParser.wants(entry(path));
    expect(wants('usr/local/lib/python3.12/site-packages/Flask-3.0.0.dist-info/METADATA')).toBe(true);
    expect(wants('opt/venv/lib/python3.11/site-packages/foo.egg-info/PKG-INFO')).toBe(true);
    expect(wants('usr/lib/python3/dist-packages/foo-1.0.egg-info')).toBe(true);
    expect(wants('usr/lib/python3.11/site-packages/foo-1.0-py3.11.egg/EGG-INFO/PKG-INFO')).toBe(true);
    expect(wants('usr/local/lib/python3.12/site-packages/Flask-3.0.0.dist-info/RECORD')).toBe(false);
    expect(wants('usr/lib/python3/dist-packages/foo.egg-info/requires.txt')).toBe(false);
    expect(wants('srv/app/METADATA')).toBe(false);
    expect(wants('srv/app/PKG-INFO')).toBe(false);
  });

  it('names are normalised as PEP 503 says: lower case, runs of "-", "_" and "." become one "-"', () => {
    expect(normalizePythonName('Friendly-Bard')).toBe('friendly-bard');
    expect(normalizePythonName('FRIENDLY-BARD')).toBe('friendly-bard');
    expect(normalizePythonName('friendly.bard')).toBe('friendly-bard');
    expect(normalizePythonName('friendly_bard')).toBe('friendly-bard');
    expect(normalizePythonName('friendly--bard')).toBe('friendly-bard');
    expect(normalizePythonName('FrIeNdLy-._.-bArD')).toBe('friendly-bard');
  });

  it('the version is kept exactly as written, and a folded header does not end the headers', async () => {
    const text =
      'Metadata-Version: 1.1\nName: Foo_Bar\nSummary: a\n  folded summary\nVersion: 1.0.post1+local.7\n\nName: not-this\n';
    expect(await parse('x/Foo_Bar-1.0.dist-info/METADATA', Buffer.from(text))).toEqual({
      ok: true,
      packages: [{ kind: 'pypi', name: 'foo-bar', version: '1.0.post1+local.7' }],
    });
  });

  it('a file without Name or Version gives a warning naming it', async () => {
    expect(await parse('x/a.dist-info/METADATA', Buffer.from('Metadata-Version: 2.1\nName: a\n'))).toEqual({
      ok: false,
      warning: 'x/a.dist-info/METADATA: no Name or Version header',
    });
  });

  it.runIf(existsSync(SYSTEM_PYTHON) && existsSync(DIST_PACKAGES))(
    "every distribution in the system's dist-packages is found as Python's importlib.metadata sees it",
    async () => {
      // Python lists what is installed and canonicalises the names itself (packaging.utils).
      const script = `import importlib.metadata as m, json, sys
try:
    from packaging.utils import canonicalize_name
except ImportError:
    import re
    canonicalize_name = lambda n: re.sub(r"[-_.]+", "-", n).lower()
print(json.dumps(sorted([canonicalize_name(d.metadata["Name"]), d.version] for d in m.distributions(path=[sys.argv[1]]))))`;
      const expected = JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', script, DIST_PACKAGES]).toString());
      const found: [string, string][] = [];
      for (const file of wantedFiles(DIST_PACKAGES)) {
        const outcome = await parse(
          `usr/lib/python3/dist-packages/${file}`,
          readFileSync(join(DIST_PACKAGES, file)),
        );
        if (!outcome.ok) throw new Error(outcome.warning);
        for (const p of outcome.packages) found.push([p.name, p.version]);
      }
      expect(found.length).toBeGreaterThan(5);
      expect(found.sort()).toEqual(expected);
    },
  );
});
