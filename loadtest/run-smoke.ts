// npm run loadtest:smoke: the local stack (router + a "gpu" and a "cpu" pool, all on this CPU) on
// 127.0.0.1 and the bounded smoke scenario against it, run by Artillery; exits 1 on a missed
// threshold. Report: loadtest/results/smoke-report.md (+ .svg).
import { readFileSync } from 'node:fs';
import { runScenario } from './runner/run.js';
import { startLocalStack } from './runner/stack.js';

const stack = await startLocalStack();
let passed = false;
try {
  const cpuFloor = process.env.RTF_MIN_CPU ?? '3';
  // the stand-in GPU pool is a CPU: it is held to the CPU floor
  const env = { ...process.env, RTF_MIN_CPU: cpuFloor, RTF_MIN_GPU: process.env.RTF_MIN_GPU ?? cpuFloor };
  const { summary, reportPath } = await runScenario('smoke', { baseUrl: stack.url, env });
  process.stdout.write(readFileSync(reportPath, 'utf8'));
  passed = summary.passed;
} finally {
  await stack.stop();
}
process.stderr.write(`loadtest:smoke: ${passed ? 'passed' : 'FAILED (a missed threshold, above)'}\n`);
process.exit(passed ? 0 : 1);
