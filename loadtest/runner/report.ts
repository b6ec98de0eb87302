// A run's readable report: the figures from Artillery's own aggregate (counters and summaries),
// rates over the run's span from the per-request log, ensure's verdicts, and a per-request plot of
// latency and RTF (vega-lite rendered to SVG, as bench/plot.ts does).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { peakRatePerS, totalArrivals, type Plan } from '../plan.js';
import type { Answer } from './processor/answer.js';

export interface RequestRecord extends Answer {
  startMs: number;
  file: string;
}

export interface Check {
  expression: string;
  ok: boolean;
}

/** the parts of Artillery's `--output` JSON the report reads */
export interface ArtilleryAggregate {
  counters: Record<string, number>;
  summaries: Record<string, Record<string, number>>;
}

export interface RunSummary {
  scenario: string;
  tool: string;
  target: string;
  offered: { requests: number; perS: number };
  sent: number;
  ok: number;
  /** sent without a good answer (an error, a wrong answer) */
  failed: number;
  /** arrivals Artillery skipped for want of a virtual user (k6: dropped iterations) */
  skipped: number;
  /** planned requests without a good answer, the share the threshold bounds */
  failedRate: number;
  /** answers per second between the first request's start and the last answer */
  completedPerS: number;
  audioSeconds: number;
  audioPerS: number;
  latencyS: { p50: number; p95: number; max: number };
  rtf: { metric: string; pool: string; median: number; p95: number }[];
  checks: Check[];
  passed: boolean;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export function summarize(plan: Plan, target: string, tool: string, agg: ArtilleryAggregate, records: RequestRecord[], checks: Check[], exitCode: number): RunSummary {
  const c = agg.counters;
  const sent = c['vusers.created'] ?? 0;
  const ok = c['transcriptions.ok'] ?? 0;
  const failed = sent - ok;
  const planned = totalArrivals(plan);
  const first = Math.min(...records.map((r) => r.startMs));
  const last = Math.max(...records.map((r) => r.startMs + r.latencyMs));
  const spanS = records.length ? (last - first) / 1000 : 0;
  const audioSeconds = c['audio_seconds'] ?? 0;
  const lat = agg.summaries['latency_ms'] ?? {};
  const rtf = Object.entries(agg.summaries)
    .filter(([k]) => k.startsWith('rtf_'))
    .map(([k, s]) => ({ metric: k.split('.')[0], pool: k.split('.')[1] ?? 'all', median: round(s.median, 1), p95: round(s.p95, 1) }))
    .sort((a, b) => (a.metric + a.pool).localeCompare(b.metric + b.pool));
  return {
    scenario: plan.name,
    tool,
    target,
    offered: { requests: planned, perS: round(peakRatePerS(plan), 3) },
    sent,
    ok,
    failed,
    skipped: c['vusers.skipped'] ?? 0,
    failedRate: planned ? (planned - ok) / planned : 0,
    completedPerS: spanS ? round(ok / spanS, 3) : 0,
    audioSeconds: round(audioSeconds, 1),
    audioPerS: spanS ? round(audioSeconds / spanS, 1) : 0,
    latencyS: { p50: round((lat.median ?? 0) / 1000), p95: round((lat.p95 ?? 0) / 1000), max: round((lat.max ?? 0) / 1000) },
    rtf,
    checks,
    // the tool's exit code decides; the parsed checks must agree and must not be empty
    passed: exitCode === 0 && checks.length > 0 && checks.every((k) => k.ok),
  };
}

export function reportMarkdown(plan: Plan, s: RunSummary, svgName: string | undefined): string {
  const a = plan.arrival;
  const load =
    a.kind === 'constant'
      ? `${s.offered.requests} arrivals over ${a.durationS} s (${s.offered.perS}/s)`
      : `${s.offered.requests} arrivals, ramping to ${s.offered.perS}/s`;
  const routing = plan.routing === 'alternate' ? `pool header alternating ${plan.pools.join(', ')}` : plan.routing === 'router' ? 'the router choosing the pool' : `every request asking for ${plan.routing}`;
  const lines = [
    `# Load test: ${s.scenario}`,
    '',
    `${s.tool} against ${s.target}; scenario \`${s.scenario}\` of loadtest/scenarios.json: ${load}, ${routing}.`,
    '',
    '| sent | answered | failed | skipped | completed/s | audio s | audio s/s | p50 s | p95 s | max s |',
    '|---|---|---|---|---|---|---|---|---|---|',
    `| ${s.sent} | ${s.ok} | ${s.failed} | ${s.skipped} | ${s.completedPerS} | ${s.audioSeconds} | ${s.audioPerS} | ${s.latencyS.p50} | ${s.latencyS.p95} | ${s.latencyS.max} |`,
    '',
    `Without a good answer: ${(s.failedRate * 100).toFixed(1)}% of the ${s.offered.requests} planned requests.`,
    '',
    '| metric | pool | median | p95 |',
    '|---|---|---|---|',
    ...s.rtf.map((r) => `| ${r.metric} | ${r.pool} | ${r.median} | ${r.p95} |`),
    '',
    'Thresholds (Artillery `ensure`):',
    '',
    ...s.checks.map((k) => `- ${k.ok ? 'ok' : 'FAILED'}: \`${k.expression}\``),
    '',
    s.passed ? 'Result: all thresholds passed.' : 'Result: FAILED.',
    '',
  ];
  if (svgName) lines.push(`![latency and RTF per request](${svgName})`, '');
  return lines.join('\n');
}

/** Latency and RTF of each answered request against its start time, coloured by pool. */
export async function requestsChartSvg(title: string, records: RequestRecord[]): Promise<string> {
  const t0 = Math.min(...records.map((r) => r.startMs));
  const values = records
    .filter((r) => r.ok)
    .flatMap((r) => {
      const t = (r.startMs - t0) / 1000;
      return [
        { t, pool: r.pool, panel: 'latency s', value: r.latencyMs / 1000, series: 'latency' },
        { t, pool: r.pool, panel: 'RTF', value: r.rtfServer, series: 'server' },
        { t, pool: r.pool, panel: 'RTF', value: r.rtfE2e, series: 'end to end' },
      ];
    });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    mark: { type: 'point', filled: true },
    encoding: {
      row: { field: 'panel', type: 'nominal', title: null, sort: ['latency s', 'RTF'] },
      x: { field: 't', type: 'quantitative', title: 'request start, s' },
      y: { field: 'value', type: 'quantitative', title: null },
      color: { field: 'pool', type: 'nominal' },
      shape: { field: 'series', type: 'nominal' },
    },
    resolve: { scale: { y: 'independent' } },
    width: 520,
    height: 160,
  };
  return new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG();
}

/** The ensure plugin's verdicts, from the lines it logs after "Checks:" ("ok: EXPR" / "fail: EXPR"). */
export function parseChecks(output: string): Check[] {
  const at = output.lastIndexOf('\nChecks:');
  if (at < 0) return [];
  return output
    .slice(at)
    .split('\n')
    .map((l) => /^(ok|fail): (.*?)( \(optional\))?$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ expression: m[2], ok: m[1] === 'ok' }));
}
