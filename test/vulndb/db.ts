// Support for the vulndb tests: a fresh database for a test file, on the engine the project runs (TEST_DATABASE):
// PGlite under a temporary directory (a copy of the run's template, see pglite-template.ts), or a new
// database on the PostgreSQL server.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Database, openDatabase } from '../../origin/metadata/database.ts';
import { seedPgliteDatabase } from '../harness/pglite-template.ts';
import { createPostgresDatabase, dropPostgresDatabase, testDatabase } from '../harness/registry.ts';

export interface TestDb {
  db: Database;
  close(): Promise<void>;
}

export async function openTestDatabase(): Promise<TestDb> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vulndb-test-'));
  const url = testDatabase() === 'postgres' ? await createPostgresDatabase() : undefined;
  if (!url) await seedPgliteDatabase(dataDir);
  const db = await openDatabase({ url, dataDir, poolSize: 4, holder: 'vulndb test' });
  return {
    db,
    async close() {
      await db.close();
      if (url) await dropPostgresDatabase(url);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Empties the vulnerability tables between tests that need a clean slate. */
export async function resetVulnData(db: Database): Promise<void> {
  await db.query(
    'TRUNCATE vuln_affected, vuln_cves, vuln_advisories, vuln_imports, vuln_inventory_packages, vuln_sources, vuln_ecosystems',
  );
  await db.query('UPDATE vuln_generation SET generation = 0, pending = false WHERE id = 1');
}

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/osv');

/** Zips a directory's files at the archive's top level, as osv.dev's all.zip holds them. */
export function zipDirectory(dir: string, zipPath: string): void {
  execFileSync('/usr/bin/python3', [
    '-c',
    `import os, sys, zipfile
with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:
    for name in sorted(os.listdir(sys.argv[1])):
        z.write(os.path.join(sys.argv[1], name), name)`,
    dir,
    zipPath,
  ]);
}
