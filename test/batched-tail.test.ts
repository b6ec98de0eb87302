// Batched mode decodes each VAD chunk as text only, and the model may end a chunk's text a sentence
// early: nothing in text-only tokens shows it. The alignment heads do: aligned to its audio, a text
// that stops short leaves the audio after it to the end of text, and that tail goes round again.
// Here the real model (the CPU default, int8) aligns whole and cut transcripts of real speech.
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { alignWords } from '../src/decode/word-timing.js';
import { CHUNK_FRAMES, HOP_LENGTH, sliceWindow, TAIL_PADDING } from '../src/features/log-mel.js';
import { resolveRuntime } from '../src/model/runtime.js';
import { untranscribedTail } from '../src/pipeline/batched.js';
import { loadEngine, releaseEngine } from '../src/pipeline/engine.js';
import { WhisperInference } from '../src/index.js';
import { audioPath, parity, referenceText, TEST_MODEL } from './helpers.js';

describe('where a text-only window\'s text ends (alignment heads, tiny.en int8)', () => {
  const loading = loadEngine(TEST_MODEL, resolveRuntime('cpu', 'int8'), 'native');
  const transcriber = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', log: () => undefined });
  afterAll(async () => {
    await releaseEngine(await loading);
    await transcriber.close();
  });

  /** The window's text end (undefined: no tail) for `text` aligned to the first `seconds` of `clip`. */
  async function tailOf(clip: string, seconds: number, text: string): Promise<number | undefined> {
    const { model, mel, tokenizer } = await loading;
    const samples = (await decodeAudio(audioPath(clip))).subarray(0, seconds * 16000);
    const contentFrames = Math.min(CHUNK_FRAMES, Math.floor(samples.length / HOP_LENGTH));
    const audio = await model.encode(sliceWindow(await mel.compute(samples, TAIL_PADDING), 0, contentFrames), 1, CHUNK_FRAMES);
    try {
      const words = await alignWords(model, tokenizer, audio, tokenizer.sotSequence('en', 'transcribe'), tokenizer.encodeText(' ' + text), contentFrames);
      return untranscribedTail(words, contentFrames);
    } finally {
      model.releaseAudio(audio);
    }
  }

  it('jfk: the whole transcript leaves no tail; one cut after "for you," ends where faster-whisper times that word', async () => {
    const whole = referenceText('jfk.wav');
    expect(await tailOf('jfk.wav', 11, whole)).toBeUndefined();
    const cut = whole.slice(0, whole.indexOf('for you,') + 'for you,'.length);
    const reference = parity().words.words; // CTranslate2's own alignment of the same clip
    const you = reference.find((w, i) => w.word.trim() === 'you' && reference[i - 1]?.word.trim() === 'for')!;
    const end = await tailOf('jfk.wav', 11, cut);
    expect(end).toBeDefined();
    expect(Math.abs(end! - you.end)).toBeLessThan(0.6);
  });

  it('gettysburg, a 30 s window: cut after any sentence, the tail starts where our timed transcript ends that sentence', async () => {
    const samples = (await decodeAudio(audioPath('gettysburg.wav'))).subarray(0, 30 * 16000);
    const timed = await transcriber.transcribe(samples, { language: 'en', wordTimestamps: true, vadFilter: false });
    const words = timed.segments.flatMap((s) => s.words!);
    const text = words.map((w) => w.word).join('');
    expect(await tailOf('gettysburg.wav', 30, text.trim())).toBeUndefined();
    // every sentence end at least TAIL_SECONDS before the window's end
    const ends = words.flatMap((w, i) => (/[.?!]$/.test(w.word) && w.end < 30 - 3 ? [i] : []));
    expect(ends.length).toBeGreaterThanOrEqual(1);
    for (const i of ends) {
      const cut = words.slice(0, i + 1).map((w) => w.word).join('').trim();
      const end = await tailOf('gettysburg.wav', 30, cut);
      expect(end, `cut after "${words.slice(Math.max(0, i - 3), i + 1).map((w) => w.word).join('')}"`).toBeDefined();
      expect(Math.abs(end! - words[i].end)).toBeLessThan(0.6);
    }
  });
});
