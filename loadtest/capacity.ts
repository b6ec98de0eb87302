// npm run loadtest:capacity: the sustainable rate of the local stack (router + two pools, as the
// smoke run) for one model, AUDIODECODE_MODEL (default tiny.en). Runs scenarios.json's `capacity`
// scenario with Artillery at each of its `steps` rates (RATES=0.2,0.4 to choose others), lowest
// first, until a step misses a threshold (an error, p95 latency, or an RTF floor) or the stack falls
// behind (answers per second over the run, drain included, under KEEP_UP (0.9) of the offered rate:
// a backlog that a longer run would grow past any threshold); then REFINE (default 2) steps, each
// halving the gap between the last pass and the first miss. The sustainable rate is the highest
// step that passed. Writes loadtest/results/capacity-MODEL.md (+ .svg); per-step reports in results/steps/.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { thresholdList } from './plan.js';
import { defaultResultsDir, planFor, runScenario } from './runner/run.js';
import type { RunSummary } from './runner/report.js';
import { startLocalStack } from './runner/stack.js';
import { TEST_MODEL } from '../tools/local-stack.js';

const model = process.env.AUDIODECODE_MODEL ?? TEST_MODEL;
const cpuFloor = process.env.RTF_MIN_CPU ?? '3';
// both pools here are this CPU: the stand-in GPU pool is held to the CPU floor, as in the smoke run
const env = { ...process.env, RTF_MIN_CPU: cpuFloor, RTF_MIN_GPU: process.env.RTF_MIN_GPU ?? cpuFloor };
const plan = planFor('capacity', env);
const steps = process.env.RATES ? process.env.RATES.split(',').map(Number) : plan.steps;
const refine = Number(process.env.REFINE ?? 2);
const keepUp = Number(process.env.KEEP_UP ?? 0.9);

interface Step {
  rate: number;
  summary: RunSummary;
  keptUp: boolean;
  passed: boolean;
}
const done: Step[] = [];
const stack = await startLocalStack({ AUDIODECODE_MODEL: model });
try {
  const step = async (rate: number) => {
    const label = `capacity-${model}-${rate}`;
    process.stderr.write(`capacity: ${model} at ${rate} requests/s ... `);
    const { summary } = await runScenario('capacity', { baseUrl: stack.url, env: { ...env, RATE: String(rate) }, resultsDir: join(defaultResultsDir, 'steps'), label });
    const keptUp = summary.completedPerS >= keepUp * rate;
    const passed = summary.passed && keptUp;
    process.stderr.write(`${passed ? 'passed' : 'missed'}: ${summary.completedPerS}/s, p95 ${summary.latencyS.p95} s, failed ${summary.failed}, skipped ${summary.skipped}\n`);
    done.push({ rate, summary, keptUp, passed });
    return passed;
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
const best = sorted.filter((s) => s.passed).pop();
const missed = sorted.some((s) => !s.passed);
const rtf = (s: RunSummary, metric: string) => s.rtf.filter((r) => r.metric === metric && r.pool !== 'all').map((r) => `${r.pool} ${r.median}`).join(', ');
const md = [
  `# Sustainable rate: ${model}`,
  '',
  `\`AUDIODECODE_MODEL=${model} npm run loadtest:capacity\`: the local stack (router + a "gpu" stand-in and a "cpu" instance on this CPU, one thread each), ` +
    `scenario \`capacity\` of loadtest/scenarios.json (jfk.wav, jfk.mp3, gettysburg.ogg in turn, pools alternating, ${plan.arrival.kind === 'constant' ? plan.arrival.durationS : '?'} s per step) run by ${done[0]?.summary.tool ?? 'Artillery'}. ` +
    `A step passes when every threshold holds: ${thresholdList(plan)
      .map((t) => (t.kind === 'failed' ? `failed < ${t.max * 100}%` : t.kind === 'p95_ms' ? `p95 latency < ${t.max / 1000} s` : `median ${t.kind}${t.pool ? ` (${t.pool})` : ''} >= ${t.min}`))
      .join(', ')}; and the stack keeps up: answers per second over the run, its drain included, at least ${keepUp} of the offered rate.`,
  '',
  '| offered req/s | completed req/s | audio s/s | failed + skipped | p50 s | p95 s | median rtf_server | median rtf_e2e | result |',
  '|---|---|---|---|---|---|---|---|---|',
  ...sorted.map(({ rate, summary: s, keptUp, passed }) => {
    const misses = [...s.checks.filter((k) => !k.ok).map((k) => `\`${k.expression}\``), ...(keptUp ? [] : ['fell behind'])];
    return `| ${rate} | ${s.completedPerS} | ${s.audioPerS} | ${s.failed + s.skipped} | ${s.latencyS.p50} | ${s.latencyS.p95} | ${rtf(s, 'rtf_server')} | ${rtf(s, 'rtf_e2e')} | ${passed ? 'passed' : 'missed: ' + misses.join(', ')} |`;
  }),
  '',
  best
    ? `**Sustainable: ${best.rate} requests/s offered, ${best.summary.completedPerS} completed/s, ${best.summary.audioPerS} audio seconds per second** (the highest step with no error, no threshold missed and no backlog${missed ? '' : '; every step passed, so the limit lies higher: raise RATES'}).`
    : '**No step passed**: the lowest rate tried already misses a threshold.',
  '',
  `![p95 latency and median RTF per offered rate](capacity-${model}.svg)`,
  '',
].join('\n');

const values = sorted.flatMap(({ rate, summary: s, passed }) => [
  { rate, panel: 'p95 latency s', value: s.latencyS.p95, series: 'p95 latency', result: passed ? 'passed' : 'missed' },
  ...s.rtf.filter((r) => r.pool !== 'all').map((r) => ({ rate, panel: 'median RTF', value: r.median, series: `${r.metric} ${r.pool}`, result: passed ? 'passed' : 'missed' })),
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
