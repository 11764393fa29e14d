import { configDefaults, defineConfig } from 'vitest/config';

// Tests of the S3 backend itself and the fault suite (its own PostgreSQL, S3 and Redis, the
// production setup) run once, in the s3 project; unit tests (no database, store or cache) run
// once, in the unit project.
const UNIT = 'test/unit/**';
const S3_ONLY = [...configDefaults.exclude, 'test/s3/**', 'test/faults/**', UNIT];

// The whole suite runs three times: on the embedded default (PGlite, filesystem, in-process
// cache), on the PostgreSQL server, and on the production setup (PostgreSQL, S3 via s3rver, Redis).
export default defineConfig({
  test: {
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // The JSON report feeds the closing tally that .ci/run prints.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
    projects: [
      { extends: true, test: { name: 'unit', include: [`${UNIT}/*.test.ts`] } },
      { extends: true, test: { name: 'pglite', env: { TEST_DATABASE: 'pglite' }, exclude: S3_ONLY } },
      { extends: true, test: { name: 'postgres', env: { TEST_DATABASE: 'postgres' }, exclude: S3_ONLY } },
      {
        extends: true,
        test: {
          name: 's3',
          env: { TEST_DATABASE: 'postgres', TEST_STORAGE: 's3', TEST_CACHE: 'redis' },
          exclude: [...configDefaults.exclude, UNIT],
        },
      },
    ],
  },
});
