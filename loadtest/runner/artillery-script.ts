// A plan (loadtest/plan.js, from scenarios.json) as an Artillery test script: the arrival schedule
// as phases, the request sequence as a CSV payload read in order, the thresholds as `ensure` checks.
import type { TestScript, TestPhase } from 'artillery';
import { arrivalSchedule, requestAt, thresholdList, totalArrivals, type Plan, type Threshold } from '../plan.js';

export interface AudioFile {
  name: string;
  path: string;
}

/** One payload row per arrival, in arrival order: what request i sends (k6 picks the same by iterationInTest). */
export function payloadRows(plan: Plan, files: AudioFile[]): { path: string; name: string; pool: string }[] {
  return Array.from({ length: totalArrivals(plan) }, (_, i) => {
    const { file, pool } = requestAt(plan, i, files);
    return { path: file.path, name: file.name, pool: pool ?? '' };
  });
}

export function payloadCsv(rows: ReturnType<typeof payloadRows>): string {
  const field = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return rows.map((r) => [r.path, r.name, r.pool].map(field).join(',')).join('\n') + '\n';
}

/** Artillery's `ensure` expressions for the plan's thresholds, over the processor's metrics. */
export function ensureConditions(thresholds: Threshold[]): string[] {
  return thresholds.map((t) => {
    switch (t.kind) {
      case 'failed':
        // good answers (the processor's count) against the plan: an error, a wrong answer and an
        // arrival skipped for want of a virtual user all count as failed
        return `1 - transcriptions.ok / ${t.planned} < ${t.max}`;
      case 'p95_ms':
        return `latency_ms.p95 < ${t.max}`;
      default:
        return `${t.kind}${t.pool ? `.${t.pool}` : ''}.median >= ${t.min}`;
    }
  });
}

export function phases(plan: Plan): TestPhase[] {
  return arrivalSchedule(plan).map((slice, i) =>
    // a slice without arrivals still takes its time, as in k6's ramp
    slice.count > 0 ? { name: `${plan.name}-${i}`, duration: slice.durationS, arrivalCount: slice.count, maxVusers: plan.vus.max } : { name: `${plan.name}-${i}`, pause: slice.durationS },
  );
}

export function artilleryScript(plan: Plan, where: { baseUrl: string; payloadPath: string; processorPath: string }): TestScript {
  return {
    config: {
      target: where.baseUrl,
      phases: phases(plan),
      processor: where.processorPath,
      payload: { path: where.payloadPath, fields: ['path', 'name', 'pool'], order: 'sequence', skipHeader: false },
      http: { timeout: plan.requestTimeoutS },
      plugins: { ensure: {} },
      ensure: { conditions: ensureConditions(thresholdList(plan)).map((expression) => ({ expression })) },
    },
    scenarios: [
      {
        name: plan.name,
        flow: [
          {
            post: {
              url: '/v1/audio/transcriptions',
              name: 'transcriptions',
              beforeRequest: 'askForPool',
              afterResponse: 'recordAnswer',
              formData: { file: { fromFile: '{{ path }}' }, model: 'whisper-1', response_format: 'verbose_json' },
            },
          },
        ],
      },
    ],
  };
}
