import { defineConfig } from 'vitest/config';

// npm run test:cluster (tools/cluster/run.sh): one real control plane for all files, started by
// the global setup inside the run's own network namespace. Files run one at a time, in order:
// they share the cluster and its 2 cores.
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    globalSetup: ['test/cluster/setup.ts'],
    fileParallelism: false,
    sequence: { shuffle: false },
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
