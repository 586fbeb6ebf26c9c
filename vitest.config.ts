import { defineConfig } from 'vitest/config';

// Two suites: `unit` (fast, parallel) and `long` (learning floors on real data, end-to-end service
// runs, fault tests). `npm test` runs both; `npx vitest run --project unit` runs only the fast one.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'scripts/test/**/*.test.ts'],
          exclude: ['**/*.long.test.ts', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'long',
          include: [
            'packages/*/test/**/*.long.test.ts',
            'apps/*/test/**/*.long.test.ts',
            'scripts/test/**/*.long.test.ts',
          ],
          testTimeout: 1_800_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
