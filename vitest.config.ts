import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/cluster/**', 'node_modules/**'], // npm run test:cluster (vitest.cluster.config.ts)
    // real models on 2 cores: one file at a time keeps onnxruntime's threads from fighting
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
