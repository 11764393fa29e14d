// The benchmarks' PostgreSQL: an admin connection that creates a fresh database for a run and
// drops it at the end.
import pg from 'pg';

/** The admin connection used to create and drop the benchmarks' databases. */
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/postgres';

/** A connected admin client; throws "PostgreSQL is not reachable at …" when it cannot connect. */
async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL}: ${(error as Error).message}`);
  }
  return client;
}

/** Throws "PostgreSQL is not reachable at …" when the admin connection cannot be made. */
export async function checkPostgres(): Promise<void> {
  const client = await connectAdmin();
  await client.end();
}

/** Creates database `name`; returns its URL (the admin URL with the database's name as path). */
export async function createDatabase(name: string): Promise<string> {
  const client = await connectAdmin();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
