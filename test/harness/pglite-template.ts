// The embedded database of a fresh registry, made once per run. PGlite's initdb and the migrations
// take seconds (7 s on a busy two-core machine), a copy of their result a fraction of one, and the
// embedded project starts dozens of registries. The global setup of the projects that run on PGlite
// makes the template (that is itself a first start, and fails the run if first starts fail); each
// registry the harness starts on a data directory without a database gets a copy. First starts on
// an empty directory stay tested where they are the point: `registry serve` in its own process
// (operations.test.ts), `registry user add` on a new data directory (auth.test.ts).
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../origin/metadata/database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A data directory whose PGlite database is initialised and migrated (see pglite-template.ts). */
    pgliteTemplate?: string;
  }
}

/** Where PGlite keeps its files under a data directory (origin/metadata/pglite-worker.ts). */
const pgliteDir = (dataDir: string) => path.join(dataDir, 'pglite');

/** Global setup: makes the template and provides its path to the project's test files. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'registry-pglite-template-'));
  try {
    const db = await openDatabase({ dataDir, poolSize: 1, holder: 'the PGlite template' });
    await db.close();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`cannot make the PGlite template database: ${(error as Error).message}`);
  }
  project.provide('pgliteTemplate', dataDir);
  return () => rm(dataDir, { recursive: true, force: true });
}

/**
 * Gives `dataDir` a copy of the template database unless it has a database already (a registry
 * restarted over the same state); without a template (a project that made none) PGlite makes one.
 */
export async function seedPgliteDatabase(dataDir: string): Promise<void> {
  const template = inject('pgliteTemplate');
  if (template === undefined) return;
  const target = pgliteDir(dataDir);
  if (!existsSync(target)) await cp(pgliteDir(template), target, { recursive: true });
}
