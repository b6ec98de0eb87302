// @ts-check
// Batch processing: FILES (default 120) short files, the shared human-speech clips cycled, arriving
// at RATE per second, so the run submits exactly FILES requests.
//   k6 run loadtest/k6/batch.js -e BASE_URL=... -e AUDIO_DIR=... [-e FILES=120 -e RATE=2]
// Rates, durations, audio and thresholds: scenarios.json's 'batch' entry (one definition for k6 and Artillery).
import { scenario } from './lib.js';

const s = scenario('batch');
export const options = s.options;

export default function () {
  s.iteration();
}

/** @param {any} data */
export function handleSummary(data) {
  return s.summary(data);
}
