import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// Test tiers are visible in file names and run separately:
//   *.unit.spec.ts  pure, fast, no I/O
//   *.int.spec.ts   against real databases (PGlite, and the PostgreSQL server when DATABASE_URL is set)
//   *.e2e.spec.ts   the built product in a real browser
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [vue()],
        test: {
          name: 'unit',
          include: ['{apps,libs,bench}/**/*.unit.spec.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'int',
          include: ['{apps,libs,bench}/**/*.int.spec.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['{apps,libs}/**/*.e2e.spec.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
