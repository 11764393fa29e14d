// Checks, once per run, that what the tests need is there; a missing part fails the run loudly.
// Also holds a lease on the end-to-end tests' Docker engine for the whole run (it starts only if
// a test needs it), so it stays up between test files and is stopped when the run ends.
import pg from 'pg';
import { holdDockerdForRun } from './dockerd.ts';
import { POSTGRES_URL } from './registry.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `the tests need PostgreSQL at ${POSTGRES_URL} (start it, or run npm run test:all, which does): ${(error as Error).message}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  const dockerd = await holdDockerdForRun();
  return () => dockerd.release();
}
