// Test projects: `unit` (next to the code, no services), `integration` (test/integration, real Kafka and ClickHouse,
// one file at a time so a 2-core machine is not oversubscribed) and `faults` (test/faults: what each failure does —
// poison records, killed processes, outages — on the same real services; `npm run test:faults`).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          // The external bench's NAB scorer is checked too (a hand-computed case): its figures are only as good as it.
          include: ['{pipelines,models,services}/*/src/**/*.test.ts', 'test/bench/external/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 240_000,
          hookTimeout: 240_000,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
