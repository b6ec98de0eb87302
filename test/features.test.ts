import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudio, decodeToFile } from '../src/audio/ffmpeg.js';
import { CHUNK_SAMPLES, LogMelExtractor, sliceWindow } from '../src/features/log-mel.js';
import { melFilterbank } from '../src/features/mel-filters.js';
import { audioPath, readF32, referenceDir } from './helpers.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('mel filterbank', () => {
  it.each([80, 128])('equals openai/whisper mel_filters.npz at %i bins', (n) => {
    expect(maxAbsDiff(melFilterbank(n), readF32(join(referenceDir, `mel_${n}.f32`)))).toBeLessThan(1e-6);
  });
});

describe('log-mel features', () => {
  it.each([80, 128])('match faster-whisper on jfk.wav at %i bins within 1e-3', async (n) => {
    const audio = await decodeAudio(audioPath('jfk.wav'));
    const extractor = await LogMelExtractor.create(n);
    const mel = await extractor.compute(audio, CHUNK_SAMPLES);
    await extractor.release();
    const window = sliceWindow(mel, 0, 3000);
    const reference = readF32(join(referenceDir, `jfk_mel${n}.f32`));
    expect(maxAbsDiff(window, reference)).toBeLessThan(1e-3);
  });

  it('window() gives exactly the slice of the whole-input features, holding only one window', async () => {
    const audio = await decodeAudio(audioPath('gettysburg.wav'));
    const extractor = await LogMelExtractor.create(80);
    const whole = await extractor.compute(audio, 160);
    const max = await extractor.maxLogEnergy(audio, 160);
    const content = Math.floor(audio.length / 160);
    for (const [start, count] of [[0, 3000], [2424, 3000], [content - 1100, 1100]]) {
      const window = await extractor.window(audio, 160, start, count, max);
      expect(maxAbsDiff(window, sliceWindow(whole, start, count))).toBe(0);
    }
    await extractor.release();
  });

  it('the decoded file, read window by window as the engine does, gives the features of the samples in memory exactly', async () => {
    const file = await decodeToFile(audioPath('gettysburg.wav'));
    const audio = await decodeAudio(audioPath('gettysburg.wav'));
    expect(file.length).toBe(audio.length);
    const extractor = await LogMelExtractor.create(80);
    const max = await extractor.maxLogEnergy(file, 160);
    expect(max).toBe(await extractor.maxLogEnergy(audio, 160));
    // the first window starts in the reflect padding, the last one runs into the zero padding
    for (const [start, count] of [[0, 3000], [0, 1], [Math.floor(file.length / 160) - 1100, 1100]]) {
      expect(maxAbsDiff(await extractor.window(file, 160, start, count, max), await extractor.window(audio, 160, start, count, max))).toBe(0);
    }
    file.close();
    await extractor.release();
  });

  it('zero-pads a short window after its content frames', async () => {
    const audio = await decodeAudio(audioPath('jfk.wav'));
    const extractor = await LogMelExtractor.create(80);
    const mel = await extractor.compute(audio, 160);
    await extractor.release();
    const content = Math.floor(audio.length / 160);
    const window = sliceWindow(mel, 0, content);
    expect(window[content - 1]).not.toBe(0);
    expect(window[content]).toBe(0);
    expect(window[79 * 3000 + 2999]).toBe(0);
  });
});
