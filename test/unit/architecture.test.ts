// The shape the code is meant to keep, checked on the sources: no import cycles (types included),
// shared/ runs on Node and workerd alike (Web APIs only, nothing from the tiers), the edge does not
// reach into origin, and every SQL statement of the origin lives in origin/metadata/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOTS = ['origin', 'edge/src', 'shared'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

const files = ROOTS.flatMap(sources);
const text = new Map(files.map((file) => [file, readFileSync(file, 'utf8')]));

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm))
    found.push(m[1] as string);
  for (const m of source.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push(m[1] as string);
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push(m[1] as string);
  return found;
}

const graph = new Map(
  files.map((file) => [
    file,
    specifiers(text.get(file) as string)
      .filter((s) => s.startsWith('.'))
      .map((s) => path.join(path.dirname(file), s)),
  ]),
);

/** Strongly connected components of more than one module (Tarjan). */
function cycles(): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe('the module graph', () => {
  test('reads every source file (the check is not looking at nothing)', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(graph.get('origin/server.ts')).toContain('origin/application.ts');
  });

  test('has no import cycles, type-only imports included', () => {
    expect(cycles()).toEqual([]);
  });

  test('shared/ uses Web APIs only and imports nothing from origin/ or edge/', () => {
    for (const file of files.filter((f) => f.startsWith('shared/'))) {
      for (const spec of specifiers(text.get(file) as string)) {
        expect(spec.startsWith('node:'), `${file} imports ${spec}`).toBe(false);
        if (spec.startsWith('.'))
          expect(path.join(path.dirname(file), spec).startsWith('shared/'), `${file} imports ${spec}`).toBe(
            true,
          );
      }
    }
  });

  test('the edge imports nothing from origin/', () => {
    for (const file of files.filter((f) => f.startsWith('edge/'))) {
      for (const target of graph.get(file) ?? [])
        expect(target.startsWith('origin/'), `${file} imports ${target}`).toBe(false);
    }
  });
});

describe('SQL', () => {
  const SQL = /\b(SELECT\s|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|CREATE TABLE|pg_advisory)/;
  // An image's rpm database is SQLite: the scanner reads it, it is not the registry's database.
  const NOT_OURS = new Set(['origin/scan/os/rpm.ts']);

  test('every statement of the origin lives in origin/metadata/', () => {
    const outside = files.filter(
      (f) =>
        f.startsWith('origin/') &&
        !f.startsWith('origin/metadata/') &&
        !NOT_OURS.has(f) &&
        SQL.test(text.get(f) as string),
    );
    expect(outside).toEqual([]);
  });

  test('the check finds statements where they are', () => {
    expect(SQL.test(text.get('origin/metadata/manifests.ts') as string)).toBe(true);
    expect(SQL.test(text.get('origin/metadata/garbage.ts') as string)).toBe(true);
  });
});
