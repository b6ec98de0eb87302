// The decoding loop's per-step shortcuts: the normaliser of filtered logits from the graph's
// log-sum-exp, and decoder outputs written into preallocated, reused buffers.
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { decodeBatch, seededRandom, type DecodedSequence, type DecodeOptions } from '../src/decode/greedy.js';
import { applyFilters, filteredLogSumExp, logSumExp } from '../src/decode/logit-filters.js';
import { CHUNK_FRAMES, HOP_LENGTH, sliceWindow, TAIL_PADDING } from '../src/features/log-mel.js';
import { resolveRuntime } from '../src/model/runtime.js';
import { loadEngine, releaseEngine, type Engine } from '../src/pipeline/engine.js';
import { audioPath, TEST_MODEL } from './helpers.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Float32 log-sum-exp, as the graph computes it (float32 accumulation, then rounded). */
function float32LogSumExp(x: Float32Array): number {
  return Math.fround(logSumExp(x, 0, x.length));
}

describe('filteredLogSumExp', () => {
  const random = seededRandom(7);
  const row = (): Float32Array => Float32Array.from({ length: 51864 }, () => (random() - 0.5) * 30);

  it.each([
    ['a few suppressed tokens', (x: Float32Array) => [17, 220, 50256, 50360].forEach((t) => (x[t] = -Infinity))],
    ['the timestamp range', (x: Float32Array) => x.fill(-Infinity, 50363)],
    ['all text tokens (falls back to a direct sum)', (x: Float32Array) => x.fill(-Infinity, 0, 50256)],
    ['the token holding nearly all the mass (falls back)', (x: Float32Array) => (x[5] = -Infinity)],
  ])('equals the direct sum of the filtered row: %s', (_, filter) => {
    const original = row();
    if (_.startsWith('the token holding')) original[5] = 60; // e^60 dwarfs the rest
    const filtered = original.slice();
    filter(filtered);
    const expected = logSumExp(filtered, 0, filtered.length);
    expect(filteredLogSumExp(original, filtered, float32LogSumExp(original))).toBeCloseTo(expected, 4);
    expect(filteredLogSumExp(original, filtered, undefined)).toBe(expected);
  });
});

describe('decoder steps (float32, native layout)', () => {
  const loading = loadEngine(TEST_MODEL, resolveRuntime('cpu', 'float32'), 'native');
  afterAll(async () => releaseEngine(await loading));

  async function setup(): Promise<{ loaded: Engine; windows: Float32Array[]; options: DecodeOptions & { sotSequence: number[] } }> {
    const loaded = await loading;
    const { mel, tokenizer } = loaded;
    const windows: Float32Array[] = [];
    for (const clip of ['jfk.wav', 'gettysburg.wav']) {
      const samples = (await decodeAudio(audioPath(clip))).subarray(0, 30 * 16000);
      windows.push(sliceWindow(await mel.compute(samples, TAIL_PADDING), 0, Math.floor(samples.length / HOP_LENGTH)));
    }
    const sot = tokenizer.sotSequence('en', 'transcribe');
    return { loaded, windows, options: { filters: loaded.filters.timed, sotSequence: sot, temperature: 0, maxNewTokens: 224 } };
  }

  it('the graph log-sum-exp is the log-sum-exp of the logits it returns', async () => {
    const { loaded, windows, options } = await setup();
    const { model } = loaded;
    const audio = await model.encode(windows[0], 1, CHUNK_FRAMES);
    const step = await model.decode(BigInt64Array.from(options.sotSequence, BigInt), options.sotSequence.length, audio, null);
    expect(step.logZ).toBeDefined();
    expect(step.logZ![0]).toBeCloseTo(logSumExp(step.logits, 0, model.config.vocabSize), 4);
    // and the filtered normaliser built on it matches summing the filtered row directly
    const filtered = step.logits.slice(0, model.config.vocabSize);
    applyFilters(filtered, [], options.filters);
    expect(filteredLogSumExp(step.logits, filtered, step.logZ![0])).toBeCloseTo(logSumExp(filtered, 0, filtered.length), 4);
  });

  it('beam rows over one copy of each window\'s audio decode as rows over their own copies', async () => {
    const { loaded, windows, options } = await setup();
    const { model } = loaded;
    expect(model.sharesAudioRows).toBe(true); // the fixture's converter groups rows
    const features = new Float32Array(2 * windows[0].length);
    windows.forEach((w, i) => features.set(w, i * w.length));
    const audio = await model.encode(features, 2, CHUNK_FRAMES);
    const G = 3; // hypotheses per window: rows 0-2 read window 0, rows 3-5 window 1
    const rows = [0, 0, 0, 1, 1, 1];
    const sot = options.sotSequence;
    const prompt = BigInt64Array.from(rows.flatMap(() => sot), BigInt);
    // a different continuation per row, so the rows are not copies of each other
    const next = BigInt64Array.from(rows, (_, r) => BigInt(loaded.tokenizer.timestampBegin + r));
    const run = async (rowsAudio: typeof audio): Promise<{ logits: Float32Array; alignment: Float32Array }> => {
      const first = await model.decode(prompt, sot.length, rowsAudio, null);
      const step = await model.decode(next, 1, rowsAudio, first.cache, true);
      return { logits: step.logits.slice(), alignment: (step.alignment!.data as Float32Array).slice() };
    };
    const shared = await run(audio);
    const copied = await run(model.selectRows(audio, rows));
    expect(shared.logits.length).toBe(G * 2 * model.config.vocabSize);
    expect(maxAbsDiff(shared.logits, copied.logits)).toBeLessThan(1e-3);
    expect(maxAbsDiff(shared.alignment, copied.alignment)).toBeLessThan(1e-5);
    // and the rows really differ (a window's rows, and the two windows)
    const vocab = model.config.vocabSize;
    expect(maxAbsDiff(shared.logits.subarray(0, vocab), shared.logits.subarray(vocab, 2 * vocab))).toBeGreaterThan(0.01);
    expect(maxAbsDiff(shared.logits.subarray(0, vocab), shared.logits.subarray(3 * vocab, 4 * vocab))).toBeGreaterThan(0.01);
    model.releaseAudio(audio);
  });

  it('the cache kept in our buffers: a text fed at once, token by token (past a store\'s growth), or in one piece after a cached past gives the same logits, on two rows', async () => {
    const { loaded, windows, options } = await setup();
    const { model, tokenizer } = loaded;
    const features = new Float32Array(2 * windows[0].length);
    windows.forEach((w, i) => features.set(w, i * w.length));
    const audio = await model.encode(features, 2, CHUNK_FRAMES);
    const text = tokenizer.encodeText(' Four score and seven years ago our fathers brought forth on this continent a new nation, conceived in liberty, and dedicated to the proposition that all men are created equal. Now we are engaged in a great civil war.');
    const tokens = [...options.sotSequence, ...text]; // 40 and more: a new store holds 32 positions beyond its first step
    expect(text.length).toBeGreaterThan(33);
    const rows = (from: number, to: number): BigInt64Array => BigInt64Array.from([0, 1].flatMap(() => tokens.slice(from, to)), BigInt);
    const atOnce = (await model.decode(rows(0, tokens.length), tokens.length, audio, null)).logits.slice();
    let step = await model.decode(rows(0, 1), 1, audio, null);
    for (let i = 1; i < tokens.length; i++) step = await model.decode(rows(i, i + 1), 1, audio, step.cache);
    const oneByOne = step.logits.slice();
    const first = await model.decode(rows(0, 1), 1, audio, null);
    const inOnePiece = (await model.decode(rows(1, tokens.length), tokens.length - 1, audio, first.cache)).logits.slice();
    expect(maxAbsDiff(oneByOne, atOnce)).toBeLessThan(1e-3);
    expect(maxAbsDiff(inOnePiece, atOnce)).toBeLessThan(1e-3);
    const vocab = model.config.vocabSize;
    expect(maxAbsDiff(atOnce.subarray(0, vocab), atOnce.subarray(vocab, 2 * vocab))).toBeGreaterThan(0.01); // two windows, two rows
    model.releaseAudio(audio);
  });

  it('decoding twice from the same (older) cache gives the same step: reused buffers never overwrite a live cache', async () => {
    const { loaded, windows, options } = await setup();
    const { model } = loaded;
    const audio = await model.encode(windows[0], 1, CHUNK_FRAMES);
    const sot = options.sotSequence;
    const first = await model.decode(BigInt64Array.from(sot, BigInt), sot.length, audio, null);
    const token = BigInt(loaded.tokenizer.timestampBegin);
    const once = (await model.decode(BigInt64Array.of(token), 1, audio, first.cache)).logits.slice();
    // first.cache is now an older step of its store: a second branch from it must see it intact
    const again = (await model.decode(BigInt64Array.of(token), 1, audio, first.cache)).logits;
    expect(maxAbsDiff(again, once)).toBe(0);
  });

  it('a batch whose rows finish at different steps decodes each row as it would alone (reused cache buffers)', async () => {
    const { loaded, windows, options } = await setup();
    const { model, tokenizer } = loaded;
    const prompt = options.sotSequence;
    const alone: DecodedSequence[] = [];
    for (const w of windows) alone.push((await decodeBatch(model, tokenizer, await model.encode(w, 1, CHUNK_FRAMES), [prompt], options))[0]);
    // jfk (11 s) ends long before the 30 s of gettysburg: the batch shrinks mid-way
    expect(alone[0].tokens.length).toBeLessThan(alone[1].tokens.length);
    const both = new Float32Array(2 * windows[0].length);
    both.set(windows[0]);
    both.set(windows[1], windows[0].length);
    const together = await decodeBatch(model, tokenizer, await model.encode(both, 2, CHUNK_FRAMES), [prompt, prompt], options);
    expect(together.map((r) => tokenizer.decodeText(r.tokens))).toEqual(alone.map((r) => tokenizer.decodeText(r.tokens)));
    together.forEach((r, i) => expect(r.avgLogprob).toBeCloseTo(alone[i].avgLogprob, 2));
  });
});
