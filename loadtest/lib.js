// Shared by the k6 scenarios: one transcription request, and the metrics it reports.
// k6 runs this (not Node): ES modules with k6's own APIs; audio files are read once at init.
import http from 'k6/http';
import { check } from 'k6';
import { Trend, Counter } from 'k6/metrics';

export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
export const AUDIO_DIR = __ENV.AUDIO_DIR || '../../shared/audio';

/** seconds of audio per request, as the server measured them */
export const audioSeconds = new Counter('audio_seconds');
/** server RTF (verbose_json's rtf) and end-to-end RTF (audio s / request s), tagged by pool */
export const rtfServer = new Trend('rtf_server');
export const rtfEndToEnd = new Trend('rtf_e2e');
export const byPool = new Counter('requests_by_pool');

/** RTF thresholds per pool: CPU defaults measured on the project's 2-core CI machine
 * (npm run bench:server), GPU defaults from the product's targets (130-200x for base on an
 * RTX 3070-class GPU); a deployment sets its own with RTF_MIN_CPU / RTF_MIN_GPU. */
export function rtfThresholds() {
  const cpu = Number(__ENV.RTF_MIN_CPU || 3);
  const gpu = Number(__ENV.RTF_MIN_GPU || 130);
  return {
    'rtf_server{pool:cpu}': [`med>=${cpu}`],
    'rtf_server{pool:gpu}': [`med>=${gpu}`],
    'rtf_e2e{pool:cpu}': [`med>=${cpu / 2}`],
    'rtf_e2e{pool:gpu}': [`med>=${gpu / 2}`],
  };
}

export const commonThresholds = () => ({
  http_req_failed: ['rate<0.01'],
  checks: ['rate>0.99'],
  http_req_duration: [`p(95)<${Number(__ENV.P95_MS || 30000)}`],
  ...rtfThresholds(),
});

/** POST one file; `pool` (optional) asks the router for a pool. */
export function transcribe(name, bytes, pool) {
  const headers = pool ? { 'X-AudioDecode-Pool': pool } : {};
  const res = http.post(
    `${BASE_URL}/v1/audio/transcriptions`,
    { file: http.file(bytes, name), model: 'whisper-1', response_format: 'verbose_json' },
    { headers, timeout: __ENV.REQUEST_TIMEOUT || '600s', tags: { name: 'transcriptions' } },
  );
  const ok = check(res, {
    'status is 200': (r) => r.status === 200,
    'has text': (r) => r.status === 200 && typeof r.json('text') === 'string' && r.json('text').length > 0,
    'says which pool': (r) => r.headers['X-Audiodecode-Pool'] !== undefined,
  });
  if (!ok || res.status !== 200) return res;
  const servedBy = res.headers['X-Audiodecode-Pool'];
  const seconds = res.json('duration');
  audioSeconds.add(seconds, { pool: servedBy });
  byPool.add(1, { pool: servedBy });
  rtfServer.add(res.json('rtf'), { pool: servedBy });
  rtfEndToEnd.add(seconds / (res.timings.duration / 1000), { pool: servedBy });
  return res;
}

/** handleSummary: the full data as JSON, and a short readable report. */
export function summarize(name, data) {
  const m = data.metrics;
  const v = (metric, stat) => (m[metric] && m[metric].values[stat] !== undefined ? m[metric].values[stat] : null);
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
    lines.push(`| ${key} | ${metric.values.med !== undefined ? metric.values.med.toFixed(1) : '-'} | ${metric.values['p(95)'] !== undefined ? metric.values['p(95)'].toFixed(1) : '-'} | ${th} |`);
  }
  const failed = Object.entries(m).flatMap(([k, metric]) => Object.entries(metric.thresholds || {}).filter(([, r]) => !r.ok).map(([t]) => `${k}: ${t}`));
  lines.push('', failed.length ? `THRESHOLDS FAILED: ${failed.join('; ')}` : 'all thresholds passed', '');
  const dir = __ENV.RESULTS_DIR || 'results';
  const report = lines.join('\n');
  return { stdout: report + '\n', [`${dir}/${name}-summary.json`]: JSON.stringify(data, null, 2), [`${dir}/${name}-summary.md`]: report };
}
