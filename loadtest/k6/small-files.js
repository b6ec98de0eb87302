// @ts-check
// Small files (1-5 min of audio) at a constant arrival rate, the router choosing the pool.
//   k6 run loadtest/k6/small-files.js -e BASE_URL=... -e AUDIO_DIR=... [-e RATE=2 -e DURATION=5m]
// Rates, durations, audio and thresholds: scenarios.json's 'small-files' entry (one definition for k6 and Artillery).
import { scenario } from './lib.js';

const s = scenario('small-files');
export const options = s.options;

export default function () {
  s.iteration();
}

/** @param {any} data */
export function handleSummary(data) {
  return s.summary(data);
}
