// @ts-check
// Shared by the k6 scenarios: the scenario's plan (from ../scenarios.json, through ../plan.js, as the
// Artillery runner reads it), one transcription request, and the metrics it reports. k6 runs this
// (not Node); it is type-checked against @types/k6 in `npm test` but never executed here.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Trend, Counter } from 'k6/metrics';
import { audioFiles, requestAt, resolvePlan, thresholdList } from '../plan.js';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
/** relative paths: from this folder, where k6 resolves open() for every script here */
export const AUDIO_DIR = __ENV.AUDIO_DIR || '../../../shared/audio';
const RESULTS_DIR = __ENV.RESULTS_DIR || '../results';
// read once, in the init context, by every scenario script; SCENARIOS_FILE: a deployment's own
const scenarios = JSON.parse(open(__ENV.SCENARIOS_FILE || '../scenarios.json'));

/** seconds of audio per request, as the server measured them */
const audioSeconds = new Counter('audio_seconds');
/** server RTF (verbose_json's rtf) and end-to-end RTF (audio s / request s), tagged by pool */
const rtfServer = new Trend('rtf_server');
const rtfEndToEnd = new Trend('rtf_e2e');
const byPool = new Counter('requests_by_pool');

/**
 * k6 options for a plan: its arrival executor and its thresholds.
 * @param {import('../plan.js').Plan} plan
 * @returns {import('k6/options').Options}
 */
export function k6Options(plan) {
  const a = plan.arrival;
  const common = { timeUnit: `${a.timeUnitS}s`, preAllocatedVUs: plan.vus.preAllocated, maxVUs: plan.vus.max, gracefulStop: `${plan.gracefulStopS}s` };
  /** @type {import('k6/options').Scenario} */
  const scenario =
    a.kind === 'constant'
      ? { executor: 'constant-arrival-rate', rate: a.rate, duration: `${a.durationS}s`, ...common }
      : { executor: 'ramping-arrival-rate', startRate: a.startRate, stages: a.stages.map((s) => ({ target: s.target, duration: `${s.durationS}s` })), ...common };
  /** @type {Record<string, string[]>} */
  const thresholds = {};
  const add = (/** @type {string} */ metric, /** @type {string} */ rule) => (thresholds[metric] = [...(thresholds[metric] ?? []), rule]);
  for (const t of thresholdList(plan)) {
    if (t.kind === 'failed') {
      add('http_req_failed', `rate<${t.max}`);
      add('checks', `rate>${1 - t.max}`);
      add('dropped_iterations', `count<${t.max * t.planned}`);
    } else if (t.kind === 'p95_ms') add('http_req_duration', `p(95)<${t.max}`);
    else add(t.pool ? `${t.kind}{pool:${t.pool}}` : t.kind, `med>=${t.min}`);
  }
  return { scenarios: { [plan.name.replace(/-/g, '_')]: scenario }, thresholds };
}

/**
 * Everything a scenario script exports, for scenario `name` of scenarios.json.
 * @param {string} name
 */
export function scenario(name) {
  const plan = resolvePlan(scenarios, name, __ENV);
  const files = audioFiles(plan, { audioDir: AUDIO_DIR, preparedDir: RESULTS_DIR, readText: (p) => open(p) }).map((f) => ({ ...f, bytes: open(f.path, 'b') }));
  return {
    plan,
    options: k6Options(plan),
    /** one iteration: the request numbered as the Artillery runner numbers it */
    iteration() {
      const { file, pool } = requestAt(plan, exec.scenario.iterationInTest, files);
      transcribe(file.name, file.bytes, pool, plan.requestTimeoutS);
    },
    /** @param {any} data k6's end-of-test summary */
    summary: (data) => summarize(name, data),
  };
}

/**
 * POST one file; `pool` (optional) asks the router for a pool.
 * @param {string} name
 * @param {ArrayBuffer} bytes
 * @param {string | undefined} pool
 * @param {number} timeoutS
 */
export function transcribe(name, bytes, pool, timeoutS) {
  /** @type {Record<string, string>} */
  const headers = pool ? { 'X-AudioDecode-Pool': pool } : {};
  const res = http.post(
    `${BASE_URL}/v1/audio/transcriptions`,
    { file: http.file(bytes, name), model: 'whisper-1', response_format: 'verbose_json' },
    { headers, timeout: `${timeoutS}s`, tags: { name: 'transcriptions' } },
  );
  const text = res.status === 200 ? res.json('text') : undefined;
  const ok = check(res, {
    'status is 200': (r) => r.status === 200,
    'has text': () => typeof text === 'string' && text.length > 0,
    'says which pool': (r) => r.headers['X-Audiodecode-Pool'] !== undefined,
  });
  if (!ok) return res;
  const servedBy = res.headers['X-Audiodecode-Pool'];
  const seconds = Number(res.json('duration'));
  audioSeconds.add(seconds, { pool: servedBy });
  byPool.add(1, { pool: servedBy });
  rtfServer.add(Number(res.json('rtf')), { pool: servedBy });
  rtfEndToEnd.add(seconds / (res.timings.duration / 1000), { pool: servedBy });
  return res;
}

/**
 * handleSummary: the full data as JSON, and a short readable report.
 * @param {string} name
 * @param {any} data
 */
export function summarize(name, data) {
  const m = data.metrics;
  const v = (/** @type {string} */ metric, /** @type {string} */ stat) => (m[metric] && m[metric].values[stat] !== undefined ? m[metric].values[stat] : null);
  const lines = [
    `# k6 ${name}`,
    '',
    `requests: ${v('http_reqs', 'count')} (${(v('http_reqs', 'rate') || 0).toFixed(2)}/s), failed: ${((v('http_req_failed', 'rate') || 0) * 100).toFixed(2)}%, checks passed: ${((v('checks', 'rate') || 0) * 100).toFixed(2)}%`,
    `latency ms: p50 ${(v('http_req_duration', 'med') || 0).toFixed(0)}, p95 ${(v('http_req_duration', 'p(95)') || 0).toFixed(0)}`,
    `audio seconds: ${(v('audio_seconds', 'count') || 0).toFixed(1)}`,
    '',
    '| metric | median | p(95) | thresholds |',
    '|---|---|---|---|',
  ];
  for (const [key, metric] of Object.entries(m)) {
    if (!key.startsWith('rtf_')) continue;
    const th = metric.thresholds ? Object.entries(metric.thresholds).map(([t, r]) => `${t} ${r.ok ? 'ok' : 'FAILED'}`).join(', ') : '';
    const stat = (/** @type {string} */ s) => (metric.values[s] !== undefined ? metric.values[s].toFixed(1) : '-');
    lines.push(`| ${key} | ${stat('med')} | ${stat('p(95)')} | ${th} |`);
  }
  const failed = Object.entries(m).flatMap(([k, metric]) =>
    Object.entries(metric.thresholds || {})
      .filter(([, r]) => !r.ok)
      .map(([t]) => `${k}: ${t}`),
  );
  lines.push('', failed.length ? `THRESHOLDS FAILED: ${failed.join('; ')}` : 'all thresholds passed', '');
  const report = lines.join('\n');
  return { stdout: report + '\n', [`${RESULTS_DIR}/k6-${name}-summary.json`]: JSON.stringify(data, null, 2), [`${RESULTS_DIR}/k6-${name}-summary.md`]: report };
}
