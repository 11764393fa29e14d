// Global setup of the projects that talk to PostgreSQL: checks, once per run, that it answers; a
// missing server fails the run loudly instead of every test file on its own.
import pg from 'pg';
import { POSTGRES_URL } from './registry.ts';

export default async function setup(): Promise<void> {
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
}
