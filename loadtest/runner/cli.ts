// npm run loadtest -- SCENARIO: one scenario of loadtest/scenarios.json against BASE_URL (default
// http://127.0.0.1:8080) with Artillery, for those who run it without k6. Exit 1 on a missed threshold.
import { runScenario } from './run.js';

const name = process.argv[2];
if (!name) {
  process.stderr.write('usage: npm run loadtest -- SCENARIO   (BASE_URL, RATE, DURATION, POOL, ... as in loadtest/README.md)\n');
  process.exit(2);
}
const { summary, reportPath } = await runScenario(name, { baseUrl: process.env.BASE_URL ?? 'http://127.0.0.1:8080', echo: true });
process.stderr.write(`loadtest: ${summary.passed ? 'passed' : 'FAILED'}; report ${reportPath}\n`);
process.exit(summary.passed ? 0 : 1);
