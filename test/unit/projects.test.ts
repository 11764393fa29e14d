// The vitest projects (vitest.config.ts) against the test files on disk: a file in no project's
// include list would never run, silently; an include entry that matches nothing is a stale line.
import { globSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import config from '../../vitest.config.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Project {
  readonly name: string;
  readonly include: readonly string[];
  readonly globalSetup: readonly string[];
}

const projects: Project[] = (config.test?.projects ?? []).map((entry) => {
  if (typeof entry !== 'object' || !('test' in entry) || !entry.test)
    throw new Error('every project is an inline { test: { name, include } }');
  const { name, include, globalSetup } = entry.test;
  return {
    name: String(name),
    include: include ?? [],
    globalSetup: globalSetup === undefined ? [] : [globalSetup].flat(),
  };
});

const matching = (pattern: string) => globSync(pattern, { cwd: ROOT }).sort();
const testFiles = matching('test/**/*.test.ts');

describe('the vitest projects', () => {
  test('read the files on disk and the four projects (the check is not looking at nothing)', () => {
    expect(testFiles.length).toBeGreaterThan(50);
    expect(projects.map((p) => p.name)).toEqual(['unit', 'embedded', 'postgres', 'production']);
  });

  test('every test file is in at least one project', () => {
    const included = new Set(projects.flatMap((p) => p.include.flatMap(matching)));
    expect(testFiles.filter((file) => !included.has(file))).toEqual([]);
  });

  test('every include entry names at least one test file', () => {
    const stale = projects.flatMap((p) =>
      p.include.filter((pattern) => matching(pattern).length === 0).map((pattern) => `${p.name}: ${pattern}`),
    );
    expect(stale).toEqual([]);
  });

  test('the unit project needs no service: it has no global setup', () => {
    expect(projects.find((p) => p.name === 'unit')?.globalSetup).toEqual([]);
  });
});
