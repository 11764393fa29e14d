import { defineConfig } from 'vitest/config';

// The whole suite runs twice: on the embedded default (PGlite) and on the PostgreSQL server.
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'pglite', env: { TEST_DATABASE: 'pglite' } } },
      { extends: true, test: { name: 'postgres', env: { TEST_DATABASE: 'postgres' } } },
    ],
  },
});
