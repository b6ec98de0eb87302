import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { FftPlan } from '../src/features/fft.js';
import { CHUNK_SAMPLES, LogMelExtractor, sliceWindow } from '../src/features/log-mel.js';
import { melFilterbank } from '../src/features/mel-filters.js';
import { audioPath, readF32, referenceDir } from './helpers.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('FFT', () => {
  it.each([400, 64, 30, 7 * 9])('matches a direct DFT for size %i', (n) => {
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + ((i * 7919) % 13) / 13);
    const re = new Float64Array(n);
    const im = new Float64Array(n);
    new FftPlan(n).forwardReal(x, re, im);
    for (const k of [0, 1, Math.floor(n / 3), n - 1]) {
      let dr = 0;
      let di = 0;
      for (let t = 0; t < n; t++) {
        dr += x[t] * Math.cos((-2 * Math.PI * k * t) / n);
        di += x[t] * Math.sin((-2 * Math.PI * k * t) / n);
      }
      expect(re[k]).toBeCloseTo(dr, 9);
      expect(im[k]).toBeCloseTo(di, 9);
    }
  });
});

describe('mel filterbank', () => {
  it.each([80, 128])('equals openai/whisper mel_filters.npz at %i bins', (n) => {
    expect(maxAbsDiff(melFilterbank(n), readF32(join(referenceDir, `mel_${n}.f32`)))).toBeLessThan(1e-6);
  });
});

describe('log-mel features', () => {
  it.each([80, 128])('match faster-whisper on jfk.wav at %i bins within 1e-3', async (n) => {
    const audio = await decodeAudio(audioPath('jfk.wav'));
    const mel = new LogMelExtractor(n).compute(audio, CHUNK_SAMPLES);
    const window = sliceWindow(mel, 0, 3000);
    const reference = readF32(join(referenceDir, `jfk_mel${n}.f32`));
    expect(maxAbsDiff(window, reference)).toBeLessThan(1e-3);
  });

  it('zero-pads a short window after its content frames', async () => {
    const audio = await decodeAudio(audioPath('jfk.wav'));
    const mel = new LogMelExtractor(80).compute(audio, 160);
    const content = Math.floor(audio.length / 160);
    const window = sliceWindow(mel, 0, content);
    expect(window[content - 1]).not.toBe(0);
    expect(window[content]).toBe(0);
    expect(window[79 * 3000 + 2999]).toBe(0);
  });
});
