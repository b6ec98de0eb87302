// Artillery processor (Artillery bundles it with esbuild into ./dist/ at each run, as CommonJS,
// which is why this folder's package.json says so): sets the pool header a request asks for, and
// turns each answer into the scenario's custom metrics, named as k6's (`rtf_server.gpu` here is k6's `rtf_server{pool:gpu}`). Each answer is also appended to
// AUDIODECODE_LOADTEST_LOG (one JSON line) for the report's per-request plot.
import { appendFileSync } from 'node:fs';
import type { AfterResponseHookFunction, BeforeRequestHookFunction } from 'artillery';
import { readAnswer } from './answer.js';

export const askForPool: BeforeRequestHookFunction = (req, context, _events, done) => {
  const pool = context.vars.pool as string | undefined;
  if (pool) req.headers = { ...req.headers, 'X-AudioDecode-Pool': pool };
  done();
};

export const recordAnswer: AfterResponseHookFunction = (_req, res, context, events, done) => {
  const answer = readAnswer(res.statusCode ?? 0, res.headers ?? {}, res.body, res.timings?.phases ?? {});
  events.emit('histogram', 'latency_ms', answer.latencyMs);
  // both counters on every answer, so that the thresholds always find them
  events.emit('counter', 'transcriptions.ok', answer.ok ? 1 : 0);
  events.emit('counter', 'transcriptions.failed', answer.ok ? 0 : 1);
  if (answer.ok && answer.pool) {
    for (const suffix of ['', `.${answer.pool}`]) {
      events.emit('counter', `audio_seconds${suffix}`, answer.audioS!);
      events.emit('histogram', `rtf_server${suffix}`, answer.rtfServer!);
      events.emit('histogram', `rtf_e2e${suffix}`, answer.rtfE2e!);
    }
    events.emit('counter', `requests_by_pool.${answer.pool}`, 1);
  }
  const log = process.env.AUDIODECODE_LOADTEST_LOG;
  if (log) {
    const startMs = res.timings?.start ?? Date.now() - answer.latencyMs;
    appendFileSync(log, JSON.stringify({ ...answer, startMs, file: context.vars.name }) + '\n');
  }
  done();
};
