// Batch processing: 120 short files (the shared human-speech clips, cycled) sent by a fixed
// pool of workers as fast as the service takes them.
//   k6 run loadtest/batch.js -e BASE_URL=... -e AUDIO_DIR=... [-e FILES=120 -e WORKERS=16]
import exec from 'k6/execution';
import { commonThresholds, summarize, transcribe, AUDIO_DIR } from './lib.js';

const manifest = JSON.parse(open(`${AUDIO_DIR}/hifitts/manifest.json`));
const clips = manifest.map((c) => ({ name: c.audio.split('/').pop(), bytes: open(`${AUDIO_DIR}/hifitts/${c.audio}`, 'b') }));

export const options = {
  scenarios: {
    batch: { executor: 'shared-iterations', vus: Number(__ENV.WORKERS || 16), iterations: Number(__ENV.FILES || 120), maxDuration: __ENV.MAX_DURATION || '30m' },
  },
  thresholds: commonThresholds(),
};

export default function () {
  const clip = clips[exec.scenario.iterationInTest % clips.length];
  transcribe(clip.name, clip.bytes, __ENV.POOL);
}

export function handleSummary(data) {
  return summarize('batch', data);
}
