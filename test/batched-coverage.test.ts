// Batched mode decodes each VAD chunk as text only, and the model may end a chunk's text early with
// no timestamp to show it: the chunk's remaining speech was lost (40 words of one 29 s chunk, measured).
// Such a chunk now goes round again with timestamps. Here: the 80 read clips laid end to end in two
// orders (other chunk boundaries, other close calls), batched against sequential.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { joinClips } from '../bench/clips.js';
import { WhisperInference } from '../src/index.js';
import { decodeAudio, SAMPLE_RATE } from '../src/audio/ffmpeg.js';
import { wordErrorRate } from '../src/text/wer.js';
import { audioDir, TEST_MODEL } from './helpers.js';

const GAP_SECONDS = 0.4;
/**
 * The order in which the loss was found (Python's random.Random(1).shuffle of the manifest): on an AMD
 * EPYC with VNNI a 29 s chunk's text ended after 8 s, batched 13.1% WER against sequential 4.7%, and
 * 5.1% with the chunk decoded again. Where a CPU rounds differently the close call may not come up
 * there; the second order (every 7th clip) is one where it did not, as a check on the common case.
 */
const ORDERS = [
  [66, 4, 11, 2, 44, 30, 36, 69, 25, 7, 50, 19, 78, 77, 40, 75, 68, 76, 52, 21, 47, 16, 38, 10, 42, 67, 9, 61, 23, 56, 5, 74, 70, 45, 18, 29, 58, 39, 22, 71,
    35, 31, 28, 59, 33, 53, 27, 13, 43, 24, 64, 34, 41, 54, 65, 1, 20, 6, 37, 14, 51, 46, 79, 73, 0, 55, 49, 3, 62, 12, 26, 48, 60, 57, 63, 15, 32, 8, 72, 17],
  Array.from({ length: 80 }, (_, i) => (i * 7) % 80),
];
/** Batched may trail sequential (no conditioning on the previous chunk's text: 1.7 points measured at most), not lose a chunk's speech (one lost 29 s chunk costs about 8 points). */
const MAX_GAP_TO_SEQUENTIAL = 0.03;

describe('batched mode keeps every chunk\'s speech (tiny.en int8, 80 clips end to end)', () => {
  const sequential = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', log: () => undefined });
  const batched = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: true, batchSize: 8, log: () => undefined });
  afterAll(async () => {
    await sequential.close();
    await batched.close();
  });

  it('each order: batched WER within 3 points of sequential, and below 9%', async () => {
    const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; text: string }[];
    const clips = await Promise.all(manifest.map((m) => decodeAudio(join(audioDir, 'hifitts', m.audio))));
    const gap = Math.round(GAP_SECONDS * SAMPLE_RATE);
    expect(ORDERS.every((order) => [...order].sort((a, b) => a - b).every((v, i) => v === i) && order.length === manifest.length)).toBe(true);
    for (const [k, order] of ORDERS.entries()) {
      const audio = joinClips(clips, order, gap);
      const reference = order.map((i) => manifest[i].text).join(' ');
      const seqWer = wordErrorRate(reference, (await sequential.transcribe(audio, { language: 'en' })).text);
      const batchedWer = wordErrorRate(reference, (await batched.transcribe(audio, { language: 'en' })).text);
      expect(batchedWer, `order ${k}: batched ${batchedWer}, sequential ${seqWer}`).toBeLessThanOrEqual(seqWer + MAX_GAP_TO_SEQUENTIAL);
      expect(batchedWer).toBeLessThan(0.09);
    }
  });
});
