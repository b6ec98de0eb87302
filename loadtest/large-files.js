// Large files (30-60 min of audio), ramping arrivals. LARGE_FILE is a 30-60 min recording
// (make one with `npm run loadtest:prepare`, which joins the shared long-form clip to 32 min).
//   k6 run loadtest/large-files.js -e BASE_URL=... -e LARGE_FILE=/path/to/long.ogg
import { commonThresholds, summarize, transcribe } from './lib.js';

const file = __ENV.LARGE_FILE || 'results/longform-32min.ogg';
const bytes = open(file, 'b');

export const options = {
  scenarios: {
    large_files: {
      executor: 'ramping-arrival-rate',
      startRate: 1,
      timeUnit: '1m',
      preAllocatedVUs: 4,
      maxVUs: Number(__ENV.MAX_VUS || 32),
      stages: [
        { target: Number(__ENV.PEAK_PER_MIN || 4), duration: __ENV.RAMP || '5m' },
        { target: Number(__ENV.PEAK_PER_MIN || 4), duration: __ENV.HOLD || '10m' },
      ],
    },
  },
  thresholds: { ...commonThresholds(), http_req_duration: [`p(95)<${Number(__ENV.P95_MS || 900000)}`] },
};

export default function () {
  transcribe('large.ogg', bytes, __ENV.POOL);
}

export function handleSummary(data) {
  return summarize('large-files', data);
}
