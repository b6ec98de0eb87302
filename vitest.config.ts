import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const stub = (name: string) => fileURLToPath(new URL(`./test/k6-stub/${name}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // the k6 scripts import k6's own modules, which exist only inside k6: test/k6-stub stands in
    alias: [
      { find: /^k6$/, replacement: stub('k6') },
      { find: /^k6\/http$/, replacement: stub('http') },
      { find: /^k6\/metrics$/, replacement: stub('metrics') },
      { find: /^k6\/execution$/, replacement: stub('execution') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/cluster/**', 'node_modules/**'], // npm run test:cluster (vitest.cluster.config.ts)
    // real models on 2 cores: one file at a time keeps onnxruntime's threads from fighting
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
