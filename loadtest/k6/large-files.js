// @ts-check
// Large files (30-60 min of audio), ramping arrivals. LARGE_FILE is a 30-60 min recording
// (npm run loadtest:prepare joins the shared long-form clip to 32 min in loadtest/results/).
//   k6 run loadtest/k6/large-files.js -e BASE_URL=... [-e LARGE_FILE=/path/to/long.ogg -e RATE=4]
// Rates, durations, audio and thresholds: scenarios.json's 'large-files' entry (one definition for k6 and Artillery).
import { scenario } from './lib.js';

const s = scenario('large-files');
export const options = s.options;

export default function () {
  s.iteration();
}

/** @param {any} data */
export function handleSummary(data) {
  return s.summary(data);
}
