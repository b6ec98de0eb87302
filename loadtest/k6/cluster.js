// @ts-check
// The router inside a cluster (npm run test:cluster's, or a deployment's), the router choosing the pool.
//   k6 run loadtest/k6/cluster.js -e BASE_URL=http://ROUTER_SERVICE -e AUDIO_DIR=...
// Rates, durations, audio and thresholds: scenarios.json's 'cluster' entry (one definition for k6 and Artillery).
import { scenario } from './lib.js';

const s = scenario('cluster');
export const options = s.options;

export default function () {
  s.iteration();
}

/** @param {any} data */
export function handleSummary(data) {
  return s.summary(data);
}
