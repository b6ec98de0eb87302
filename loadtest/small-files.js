// Small files (1-5 min of audio) at a constant arrival rate.
//   k6 run loadtest/small-files.js -e BASE_URL=... -e AUDIO_DIR=... [-e RATE=2 -e DURATION=5m]
import exec from 'k6/execution';
import { commonThresholds, summarize, transcribe, AUDIO_DIR } from './lib.js';

const clips = [
  { name: 'gettysburg.ogg', bytes: open(`${AUDIO_DIR}/gettysburg.ogg`, 'b') }, // 95 s
  { name: 'longform.flac', bytes: open(`${AUDIO_DIR}/hifitts/longform.flac`, 'b') }, // 241 s
];

export const options = {
  scenarios: {
    small_files: { executor: 'constant-arrival-rate', rate: Number(__ENV.RATE || 1), timeUnit: __ENV.TIME_UNIT || '10s', duration: __ENV.DURATION || '5m', preAllocatedVUs: 8, maxVUs: Number(__ENV.MAX_VUS || 64) },
  },
  thresholds: commonThresholds(),
};

export default function () {
  const clip = clips[exec.scenario.iterationInTest % clips.length];
  transcribe(clip.name, clip.bytes, __ENV.POOL);
}

export function handleSummary(data) {
  return summarize('small-files', data);
}
