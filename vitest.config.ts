import { defineConfig } from 'vitest/config';

// The whole suite runs twice: on the embedded default (PGlite) and on the PostgreSQL server.
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // The JSON report feeds the closing tally that .ci/run prints.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'pglite', env: { TEST_DATABASE: 'pglite' } } },
      { extends: true, test: { name: 'postgres', env: { TEST_DATABASE: 'postgres' } } },
    ],
  },
});
