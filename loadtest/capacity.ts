// npm run loadtest:capacity: the sustainable rate of the local stack (router + two pools, as the
// smoke run) for one model, AUDIODECODE_MODEL (default tiny.en). Runs scenarios.json's `capacity`
// scenario with Artillery at each of its `steps` rates (RATES=0.2,0.4 to choose others), lowest
// first, until a step misses a threshold (an error, p95 latency, or an RTF floor); then REFINE
// (default 2) steps, each halving the gap between the last pass and the first miss. The
// sustainable rate is the highest step that passed. Writes loadtest/results/capacity-MODEL.md (+ .svg); per-step reports in results/steps/.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { thresholdList } from './plan.js';
import { defaultResultsDir, planFor, runScenario } from './runner/run.js';
import type { RunSummary } from './runner/report.js';
import { startLocalStack } from './runner/stack.js';

const model = process.env.AUDIODECODE_MODEL ?? 'tiny.en';
const cpuFloor = process.env.RTF_MIN_CPU ?? '3';
// both pools here are this CPU: the stand-in GPU pool is held to the CPU floor, as in the smoke run
const env = { ...process.env, RTF_MIN_CPU: cpuFloor, RTF_MIN_GPU: process.env.RTF_MIN_GPU ?? cpuFloor };
const plan = planFor('capacity', env);
const steps = process.env.RATES ? process.env.RATES.split(',').map(Number) : plan.steps;
const refine = Number(process.env.REFINE ?? 2);

interface Step {
  rate: number;
  summary: RunSummary;
}
const done: Step[] = [];
const stack = await startLocalStack({ AUDIODECODE_MODEL: model });
try {
  const step = async (rate: number) => {
    const label = `capacity-${model}-${rate}`;
    process.stderr.write(`capacity: ${model} at ${rate} requests/s ... `);
    const { summary } = await runScenario('capacity', { baseUrl: stack.url, env: { ...env, RATE: String(rate) }, resultsDir: join(defaultResultsDir, 'steps'), label });
    process.stderr.write(`${summary.passed ? 'passed' : 'missed'}: ${summary.completedPerS}/s, p95 ${summary.latencyS.p95} s, failed ${summary.failed}, skipped ${summary.skipped}\n`);
    done.push({ rate, summary });
    return summary.passed;
  };
  let pass: number | undefined;
  let miss: number | undefined;
  for (const rate of steps) {
    if (await step(rate)) pass = rate;
    else {
      miss = rate;
      break;
    }
  }
  for (let i = 0; i < refine && miss !== undefined; i++) {
    const mid = Number((((pass ?? 0) + miss) / 2).toFixed(3));
    if (mid === pass || mid === miss || mid <= 0) break;
    if (await step(mid)) pass = mid;
    else miss = mid;
  }
} finally {
  await stack.stop();
}

const sorted = [...done].sort((a, b) => a.rate - b.rate);
const best = sorted.filter((s) => s.summary.passed).pop();
const missed = sorted.some((s) => !s.summary.passed);
const rtf = (s: RunSummary, metric: string) => s.rtf.filter((r) => r.metric === metric && r.pool !== 'all').map((r) => `${r.pool} ${r.median}`).join(', ');
const md = [
  `# Sustainable rate: ${model}`,
  '',
  `\`AUDIODECODE_MODEL=${model} npm run loadtest:capacity\`: the local stack (router + a "gpu" stand-in and a "cpu" instance on this CPU, one thread each), ` +
    `scenario \`capacity\` of loadtest/scenarios.json (jfk.wav, jfk.mp3, gettysburg.ogg in turn, pools alternating, ${plan.arrival.kind === 'constant' ? plan.arrival.durationS : '?'} s per step) run by ${done[0]?.summary.tool ?? 'Artillery'}. ` +
    `A step passes when every threshold holds: ${thresholdList(plan)
      .map((t) => (t.kind === 'failed' ? `failed < ${t.max * 100}%` : t.kind === 'p95_ms' ? `p95 latency < ${t.max / 1000} s` : `median ${t.kind}${t.pool ? ` (${t.pool})` : ''} >= ${t.min}`))
      .join(', ')}.`,
  '',
  '| offered req/s | completed req/s | audio s/s | failed + skipped | p50 s | p95 s | median rtf_server | median rtf_e2e | result |',
  '|---|---|---|---|---|---|---|---|---|',
  ...sorted.map(({ rate, summary: s }) => `| ${rate} | ${s.completedPerS} | ${s.audioPerS} | ${s.failed + s.skipped} | ${s.latencyS.p50} | ${s.latencyS.p95} | ${rtf(s, 'rtf_server')} | ${rtf(s, 'rtf_e2e')} | ${s.passed ? 'passed' : 'missed: ' + s.checks.filter((k) => !k.ok).map((k) => `\`${k.expression}\``).join(', ')} |`),
  '',
  best
    ? `**Sustainable: ${best.rate} requests/s offered, ${best.summary.completedPerS} completed/s, ${best.summary.audioPerS} audio seconds per second** (the highest step with no error and no threshold missed${missed ? '' : '; every step passed, so the limit lies higher: raise RATES'}).`
    : '**No step passed**: the lowest rate tried already misses a threshold.',
  '',
  `![p95 latency and median RTF per offered rate](capacity-${model}.svg)`,
  '',
].join('\n');

const values = sorted.flatMap(({ rate, summary: s }) => [
  { rate, panel: 'p95 latency s', value: s.latencyS.p95, series: 'p95 latency', result: s.passed ? 'passed' : 'missed' },
  ...s.rtf.filter((r) => r.pool !== 'all').map((r) => ({ rate, panel: 'median RTF', value: r.median, series: `${r.metric} ${r.pool}`, result: s.passed ? 'passed' : 'missed' })),
]);
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `${model}: p95 latency and median RTF per offered rate`,
  data: { values },
  mark: { type: 'line', point: { filled: true, size: 60 } },
  encoding: {
    row: { field: 'panel', type: 'nominal', title: null },
    x: { field: 'rate', type: 'quantitative', title: 'offered requests/s' },
    y: { field: 'value', type: 'quantitative', title: null },
    color: { field: 'series', type: 'nominal' },
    shape: { field: 'result', type: 'nominal' },
  },
  resolve: { scale: { y: 'independent' } },
  width: 520,
  height: 160,
};
writeFileSync(join(defaultResultsDir, `capacity-${model}.svg`), await new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG());
writeFileSync(join(defaultResultsDir, `capacity-${model}.md`), md);
process.stdout.write(md);
