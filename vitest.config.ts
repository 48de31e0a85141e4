import { defineConfig } from 'vitest/config';

const ignore = ['**/node_modules/**', '**/.cache/**', '**/.data/**'];

export default defineConfig({
  test: {
    reporters: ['default', './test/support/ci-guard-reporter.ts'],
    allowOnly: false,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.unit.spec.ts'],
          exclude: ignore,
        },
      },
      {
        test: {
          name: 'int',
          include: ['**/*.int.spec.ts', '**/*.e2e.spec.ts'],
          exclude: ignore,
          globalSetup: ['./test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Files share one PostgreSQL server and one Kafka broker on two cores.
          maxWorkers: 2,
        },
      },
      {
        // Long runs under load (minutes each), apart from `npm test`: `npm run test:load`.
        test: {
          name: 'load',
          include: ['**/*.load.spec.ts'],
          exclude: ignore,
          globalSetup: ['./test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
    ],
  },
});
