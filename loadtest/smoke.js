// Smoke: a bounded run (about 40 s) through the router, half the requests to each pool.
//   k6 run loadtest/smoke.js -e BASE_URL=http://127.0.0.1:8080 -e AUDIO_DIR=/path/to/shared/audio
import exec from 'k6/execution';
import { commonThresholds, summarize, transcribe, AUDIO_DIR } from './lib.js';

const clips = ['jfk.wav', 'jfk.mp3', 'gettysburg.ogg'].map((name) => ({ name, bytes: open(`${AUDIO_DIR}/${name}`, 'b') }));

export const options = {
  scenarios: {
    smoke: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 1), timeUnit: '2s', duration: __ENV.DURATION || '30s', preAllocatedVUs: 4, maxVUs: 8, gracefulStop: '60s' },
  },
  thresholds: commonThresholds(),
};

export default function () {
  const i = exec.scenario.iterationInTest;
  const clip = clips[i % clips.length];
  transcribe(clip.name, clip.bytes, i % 2 === 0 ? 'gpu' : 'cpu');
}

export function handleSummary(data) {
  return summarize('smoke', data);
}
