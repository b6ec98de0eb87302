import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { dtw, medianFilterRows, mergePunctuation, type WordTiming } from '../src/decode/word-timing.js';
import type { TranscriptionResult } from '../src/pipeline/types.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { audioPath, parity, TEST_MODEL } from './helpers.js';

describe('word timing parts', () => {
  it('dtw follows the cheap cells of a cost matrix, monotonically, corner to corner', () => {
    // 3 tokens over 6 frames: token 0 cheap at frames 0-1, token 1 at 2-3, token 2 at 4-5
    const cost = Float32Array.from([0, 0, 9, 9, 9, 9, 9, 9, 0, 0, 9, 9, 9, 9, 9, 9, 0, 0]);
    const { rowIndex, colIndex } = dtw(cost, 3, 6);
    expect(rowIndex).toEqual([0, 0, 1, 1, 2, 2]);
    expect(colIndex).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('median filter over rows, reflect-padded at the edges (as OpenAI)', () => {
    const data = Float32Array.from([5, 1, 9, 2, 8, 3, 7, 4]);
    medianFilterRows(data, 1, 8, 3);
    // edges reflect: the first window is [1, 5, 1] -> 1, the last [7, 4, 7] -> 7
    expect([...data]).toEqual([1, 5, 2, 8, 3, 7, 4, 7]);
  });

  it('median filter at width 7 (a sorting network) equals the median of each sorted, reflect-padded window', () => {
    const median7 = (row: number[], c: number): number => {
      const at = (i: number): number => row[i < 0 ? -i : i >= row.length ? 2 * (row.length - 1) - i : i];
      return [-3, -2, -1, 0, 1, 2, 3].map((k) => at(c + k)).sort((a, b) => a - b)[3];
    };
    const rowsOf = fc.integer({ min: 1, max: 3 }).chain((rows) =>
      fc.integer({ min: 1, max: 40 }).chain((cols) => fc.tuple(fc.constant(rows), fc.constant(cols), fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => v + 0), { minLength: rows * cols, maxLength: rows * cols }))),
    );
    fc.assert(
      fc.property(rowsOf, ([rows, cols, values]) => {
        const data = Float32Array.from(values);
        medianFilterRows(data, rows, cols, 7);
        const source = Float32Array.from(values);
        for (let r = 0; r < rows; r++) {
          const row = [...source.subarray(r * cols, (r + 1) * cols)];
          for (let c = 0; c < cols; c++) expect(data[r * cols + c]).toBe(cols <= 3 ? row[c] : median7(row, c));
        }
      }),
    );
  });

  it('merges punctuation into the neighbouring words, leaving empty entries in place', () => {
    const w = (word: string, tokenCount = 1): WordTiming => ({ word, start: 0, end: 0, tokenCount });
    const merged = mergePunctuation([w(' "'), w(' Hello'), w(','), w(' world'), w('.'), w('"')]);
    expect(merged.map((x) => x.word)).toEqual(['', ' " Hello,', '', ' world."', '', '']);
    expect(merged.map((x) => x.tokenCount)).toEqual([0, 3, 0, 3, 0, 0]);
  });
});

function expectWordsInsideSegments(result: TranscriptionResult): void {
  let previousEnd = 0;
  for (const s of result.segments) {
    expect(s.words!.length).toBeGreaterThan(0);
    expect(s.words!.map((w) => w.word).join('')).toBe(s.text);
    for (const w of s.words!) {
      expect(w.start).toBeGreaterThanOrEqual(previousEnd - 1e-9);
      expect(w.end).toBeGreaterThanOrEqual(w.start);
      expect(w.start).toBeGreaterThanOrEqual(s.start - 1e-9);
      expect(w.end).toBeLessThanOrEqual(s.end + 1e-9);
      previousEnd = w.end;
    }
  }
}

describe('word timestamps (fp32)', () => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'float32', log: () => undefined });
  afterAll(() => whisper.close());

  it('time the same words as faster-whisper (CTranslate2 alignment) to within a few frames', async () => {
    const expected = parity().words;
    const result = await whisper.transcribeFile(audioPath(expected.clip), { wordTimestamps: true, vadFilter: false });
    const words = result.segments.flatMap((s) => s.words!);
    expect(words.map((w) => w.word)).toEqual(expected.words.map((w) => w.word));
    const gaps = words.flatMap((w, i) => [Math.abs(w.start - expected.words[i].start), Math.abs(w.end - expected.words[i].end)]).sort((a, b) => a - b);
    // CTranslate2 filters the attention slightly differently at the edges; measured here: median
    // 0 s, all but the last word's end within 0.04 s, that one 0.24 s
    expect(gaps[Math.floor(gaps.length / 2)]).toBeLessThanOrEqual(0.02);
    expect(gaps[gaps.length - 2]).toBeLessThanOrEqual(0.06);
    expect(gaps[gaps.length - 1]).toBeLessThanOrEqual(0.3);
  });
});

describe.each([false, true])('word timestamps on long audio, batched=%s (int8)', (batched) => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 4, log: () => undefined });
  afterAll(() => whisper.close());

  it('every segment of gettysburg gets its words, in order, inside the segment', async () => {
    const result = await whisper.transcribeFile(audioPath('gettysburg.wav'), { wordTimestamps: true });
    // batched: one segment per VAD chunk (at most 30 s), timed inside by its words
    expect(result.segments.length).toBeGreaterThanOrEqual(4);
    expectWordsInsideSegments(result);
    const words = result.segments.flatMap((s) => s.words!);
    expect(words.length).toBeGreaterThan(240); // the reference has 271 words
    expect(words.at(-1)!.end).toBeGreaterThan(93);
  });
});
