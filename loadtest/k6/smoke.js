// @ts-check
// Smoke: a bounded run (about 40 s) through the router, half the requests to each pool.
//   k6 run loadtest/k6/smoke.js -e BASE_URL=http://127.0.0.1:8080 -e AUDIO_DIR=/path/to/shared/audio
// Rates, durations, audio and thresholds: scenarios.json's 'smoke' entry (one definition for k6 and Artillery).
import { scenario } from './lib.js';

const s = scenario('smoke');
export const options = s.options;

export default function () {
  s.iteration();
}

/** @param {any} data */
export function handleSummary(data) {
  return s.summary(data);
}
