// Batch processing: FILES (default 120) short files, the shared human-speech clips cycled, arriving
// at RATE per second (constant-arrival-rate), so the run submits exactly FILES requests.
//   k6 run loadtest/batch.js -e BASE_URL=... -e AUDIO_DIR=... [-e FILES=120 -e RATE=2]
import exec from 'k6/execution';
import { commonThresholds, summarize, transcribe, AUDIO_DIR } from './lib.js';

const manifest = JSON.parse(open(`${AUDIO_DIR}/hifitts/manifest.json`));
const clips = manifest.map((c) => ({ name: c.audio.split('/').pop(), bytes: open(`${AUDIO_DIR}/hifitts/${c.audio}`, 'b') }));

export const options = {
  scenarios: {
    batch: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 2),
      timeUnit: '1s',
      duration: `${Math.ceil(Number(__ENV.FILES || 120) / Number(__ENV.RATE || 2))}s`,
      preAllocatedVUs: 16,
      maxVUs: Number(__ENV.MAX_VUS || 128),
      gracefulStop: __ENV.GRACEFUL_STOP || '10m',
    },
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
