import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { AudioDecodeError } from '../src/errors.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { wordErrorRate } from '../src/text/wer.js';
import { audioPath, parity, referenceText, TEST_MODEL } from './helpers.js';

const CLIP_SECONDS = 11.0;

/** Decoded audio files still open: each is unlinked once open, so a descriptor is all that is left of one. */
const openDecodedFiles = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).includes('/audiodecode-');
    } catch {
      return false; // closed between the listing and the lookup
    }
  }).length;

describe.each([
  ['float32', 'native'],
  ['float32', 'community'],
  ['int8', 'native'],
  ['int8', 'community'],
  // the GPU image's precision: slow on CPU, but the float16 graphs are checked word for word here
  ['float16', 'native'],
  ['float16', 'community'],
] as const)('tiny.en %s, %s layout', (computeType, layout) => {
  const whisper = new WhisperInference({ model: TEST_MODEL, computeType, layout, device: 'cpu', log: () => undefined });
  beforeAll(async () => {
    const info = await whisper.describe();
    expect(info.layout).toBe(layout);
    expect(info.computeType).toBe(computeType);
  });
  afterAll(() => whisper.close());

  it.each(['jfk.wav', 'jfk.mp3'])('transcribes %s with normalized WER 0 and timed segments inside the clip', async (clip) => {
    const result = await whisper.transcribeFile(audioPath(clip));
    expect(wordErrorRate(referenceText(clip), result.text)).toBe(0);
    expect(result.duration).toBeCloseTo(CLIP_SECONDS, 1);
    expect(result.segments.length).toBeGreaterThanOrEqual(1);
    let previousEnd = 0;
    for (const s of result.segments) {
      expect(s.start).toBeGreaterThanOrEqual(previousEnd);
      expect(s.end).toBeGreaterThan(s.start);
      expect(s.end).toBeLessThanOrEqual(result.duration);
      expect(s.avgLogprob).toBeLessThan(0);
      expect(s.noSpeechProb).toBeLessThan(0.5);
      previousEnd = s.end;
    }
    expect(result.segments[result.segments.length - 1].end).toBeGreaterThan(CLIP_SECONDS - 1.5);
    expect(result.rtf).toBeGreaterThan(1);
    expect(result.timings.encode).toBeGreaterThan(0);
    expect(result.timings.generate).toBeGreaterThan(0);
  });

  if (computeType === 'float32') {
    it('gives exactly faster-whisper greedy transcript on the same weights', async () => {
      const expected = parity().transcripts;
      for (const clip of ['jfk.wav', 'jfk.mp3']) {
        const result = await whisper.transcribeFile(audioPath(clip));
        expect(result.text).toBe(expected[clip]);
      }
    });
  }
});

describe('WhisperInference inputs and errors', () => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', log: () => undefined });
  afterAll(() => whisper.close());

  it('takes encoded bytes and raw samples as well as paths', async () => {
    const bytes = new Uint8Array(readFileSync(audioPath('jfk.mp3')));
    const fromBytes = await whisper.transcribe(bytes);
    const samples = await decodeAudio(audioPath('jfk.wav'));
    const fromSamples = await whisper.transcribe(samples);
    expect(wordErrorRate(referenceText('jfk.mp3'), fromBytes.text)).toBe(0);
    expect(wordErrorRate(referenceText('jfk.wav'), fromSamples.text)).toBe(0);
    expect(fromSamples.timings.decode).toBeLessThan(5);
  });

  it('rejects garbage with a typed error', async () => {
    const err = await whisper.transcribe(new TextEncoder().encode('definitely not audio '.repeat(100))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AudioDecodeError);
    expect((err as AudioDecodeError).code).toBe('invalid_audio');
  });

  it('rejects a language or a task an English-only model cannot do, naming the option', async () => {
    const err = (await whisper.transcribeFile(audioPath('jfk.wav'), { language: 'de' }).catch((e: unknown) => e)) as AudioDecodeError;
    expect([err.code, err.param]).toEqual(['invalid_language', 'language']);
    const task = (await whisper.transcribeFile(audioPath('jfk.wav'), { task: 'translate' }).catch((e: unknown) => e)) as AudioDecodeError;
    expect([task.code, task.param]).toEqual(['unsupported_task', 'task']);
  });

  it('rejects audio over the length limit', async () => {
    const err = await whisper.transcribeFile(audioPath('jfk.wav'), { maxAudioSeconds: 3 }).catch((e: unknown) => e);
    expect((err as AudioDecodeError).code).toBe('audio_too_long');
  });

  it('lets go of the decoded audio file whether a transcription succeeds, fails or is aborted', async () => {
    await whisper.transcribeFile(audioPath('jfk.wav'));
    const failed = await whisper.transcribeFile(audioPath('jfk.wav'), { onProgress: () => { throw new Error('a failure after the audio was decoded'); } }).catch((e: unknown) => e);
    expect((failed as Error).message).toBe('a failure after the audio was decoded');
    const controller = new AbortController();
    const aborted = whisper.transcribeFile(audioPath('gettysburg.wav'), { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 300);
    expect((await aborted as Error).name).toBe('AbortError');
    expect(openDecodedFiles()).toBe(0);
  });

  it('decodes the first call\'s audio while the model loads, and gives the same errors as a loaded engine, leaving no file open', async () => {
    const fresh = (model = TEST_MODEL): WhisperInference => new WhisperInference({ model, device: 'cpu', log: () => undefined });
    const first = fresh();
    expect(wordErrorRate(referenceText('jfk.wav'), (await first.transcribeFile(audioPath('jfk.wav'))).text)).toBe(0);
    await first.close();
    const errors: AudioDecodeError[] = [];
    for (const [model, input, options] of [
      [TEST_MODEL, audioPath('jfk.wav'), { language: 'de' }], // options refused once the model says it is English-only
      [TEST_MODEL, new TextEncoder().encode('definitely not audio '.repeat(100)), {}], // ffmpeg fails during the load
      ['no-such-model', audioPath('gettysburg.wav'), {}], // the load fails while ffmpeg decodes
    ] as const) {
      const whisper = fresh(model);
      errors.push((await whisper.transcribe(input, options).catch((e: unknown) => e)) as AudioDecodeError);
      await whisper.close().catch(() => undefined);
    }
    expect(errors.map((e) => e.code)).toEqual(['invalid_language', 'invalid_audio', 'model_not_found']);
    await vi.waitFor(() => expect(openDecodedFiles()).toBe(0), { timeout: 10_000 }); // an early decode still running closes when it ends
  });

  it('names the fixture command when a model is missing', async () => {
    const missing = new WhisperInference({ model: 'no-such-model', device: 'cpu', log: () => undefined });
    const err = await missing.load().catch((e: unknown) => e);
    expect((err as AudioDecodeError).code).toBe('model_not_found');
    expect((err as Error).message).toContain('npm run models:fixture');
  });
});
