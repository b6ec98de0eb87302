// Word-level timestamps from the cross-attention of the model's alignment heads, after OpenAI's
// timing.py (as faster-whisper does it): teacher-force the window's text once, normalize and
// median-filter the heads' attention, average them, and align tokens to audio frames with DTW.
// Written by hand: no maintained npm package does this for ONNX outputs, and the sizes are small
// (at most ~225 tokens x 1500 frames), so a plain typed-array DTW costs a few milliseconds.
import type { EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';

export interface WordTiming {
  word: string;
  /** Seconds from the window start. */
  start: number;
  end: number;
  /** How many text tokens the word spans, to hand words back to their segments. */
  tokenCount: number;
}

const FRAMES_PER_SECOND = 50; // encoder positions per second of audio (two mel frames each)
const MEDIAN_WIDTH = 7;
const PREPEND_PUNCTUATION = '"\'“¿([{-';
const APPEND_PUNCTUATION = '"\'.。,，!！?？:：”)]}、';

/** Dynamic time warping over a cost matrix [rows x cols]; returns the monotonic path. */
export function dtw(cost: Float32Array, rows: number, cols: number): { rowIndex: number[]; colIndex: number[] } {
  const width = cols + 1;
  const acc = new Float64Array((rows + 1) * width).fill(Infinity);
  const trace = new Int8Array((rows + 1) * width).fill(-1);
  acc[0] = 0;
  for (let j = 1; j <= cols; j++) {
    for (let i = 1; i <= rows; i++) {
      const diagonal = acc[(i - 1) * width + j - 1];
      const up = acc[(i - 1) * width + j];
      const left = acc[i * width + j - 1];
      let best: number;
      let move: number;
      if (diagonal < up && diagonal < left) [best, move] = [diagonal, 0];
      else if (up < diagonal && up < left) [best, move] = [up, 1];
      else [best, move] = [left, 2];
      acc[i * width + j] = cost[(i - 1) * cols + j - 1] + best;
      trace[i * width + j] = move;
    }
  }
  for (let j = 0; j <= cols; j++) trace[j] = 2;
  for (let i = 0; i <= rows; i++) trace[i * width] = 1;
  const rowIndex: number[] = [];
  const colIndex: number[] = [];
  let i = rows;
  let j = cols;
  while (i > 0 || j > 0) {
    rowIndex.push(i - 1);
    colIndex.push(j - 1);
    const move = trace[i * width + j];
    if (move === 0) {
      i--;
      j--;
    } else if (move === 1) i--;
    else j--;
  }
  return { rowIndex: rowIndex.reverse(), colIndex: colIndex.reverse() };
}

/** In place: each row of [rows x cols] replaced by its running median over `width` columns (reflect-padded). */
export function medianFilterRows(data: Float32Array, rows: number, cols: number, width = MEDIAN_WIDTH): void {
  const half = Math.floor(width / 2);
  if (cols <= half) return; // too short to pad by reflection, as OpenAI leaves it
  if (width === 7) return medianOf7Rows(data, rows, cols);
  const row = new Float32Array(cols);
  const window = new Float32Array(width);
  for (let r = 0; r < rows; r++) {
    row.set(data.subarray(r * cols, (r + 1) * cols));
    for (let c = 0; c < cols; c++) {
      for (let k = -half; k <= half; k++) {
        let at = c + k;
        if (at < 0) at = -at;
        if (at >= cols) at = 2 * (cols - 1) - at;
        window[k + half] = row[at];
      }
      window.sort();
      data[r * cols + c] = window[half];
    }
  }
}

/**
 * medianFilterRows at width 7 through a sorting network on locals, written by hand for speed: the
 * matrix of a 30 s window is ~1M cells (8 heads x 90 tokens x 1500 frames), where sorting a 7-value
 * array per cell took 107 ms on this machine and this takes 41 ms, to the same values.
 */
function medianOf7Rows(data: Float32Array, rows: number, cols: number): void {
  const padded = new Float32Array(cols + 6);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * cols, (r + 1) * cols);
    padded.set(row, 3);
    for (let k = 1; k <= 3; k++) {
      padded[3 - k] = row[k]; // reflected, as medianFilterRows pads (cols > 3 here)
      padded[cols + 2 + k] = row[cols - 1 - k];
    }
    for (let c = 0; c < cols; c++) {
      let a0 = padded[c], a1 = padded[c + 1], a2 = padded[c + 2], a3 = padded[c + 3], a4 = padded[c + 4], a5 = padded[c + 5], a6 = padded[c + 6], t: number;
      // the comparators of Knuth's 16-comparator sorting network for 7 values that reach a3, the median
      if (a0 > a6) { t = a0; a0 = a6; a6 = t; }
      if (a2 > a3) { t = a2; a2 = a3; a3 = t; }
      if (a4 > a5) { t = a4; a4 = a5; a5 = t; }
      if (a0 > a2) { t = a0; a0 = a2; a2 = t; }
      if (a1 > a4) { t = a1; a1 = a4; a4 = t; }
      if (a3 > a6) { t = a3; a3 = a6; a6 = t; }
      if (a0 > a1) { t = a0; a0 = a1; a1 = t; }
      if (a2 > a5) { t = a2; a2 = a5; a5 = t; }
      if (a3 > a4) { t = a3; a3 = a4; a4 = t; }
      if (a1 > a2) { t = a1; a1 = a2; a2 = t; }
      if (a4 > a6) { t = a4; a4 = a6; a6 = t; }
      if (a2 > a3) { t = a2; a2 = a3; a3 = t; }
      if (a4 > a5) { t = a4; a4 = a5; a5 = t; }
      if (a3 > a4) { t = a3; a3 = a4; a4 = t; }
      data[r * cols + c] = a3;
    }
  }
}

/**
 * The alignment matrix: per head, attention over the window's content frames, standardized over
 * tokens and median-filtered over frames; then the mean over heads. [tokens x frames].
 */
export function alignmentMatrix(attention: Float32Array, heads: number, tokens: number, audioFrames: number, contentFrames: number): Float32Array {
  const frames = Math.min(contentFrames, audioFrames);
  const matrix = new Float32Array(tokens * frames);
  const head = new Float32Array(tokens * frames);
  const mean = new Float64Array(frames);
  const std = new Float64Array(frames);
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < tokens; t++) {
      head.set(attention.subarray((h * tokens + t) * audioFrames, (h * tokens + t) * audioFrames + frames), t * frames);
    }
    // per frame over tokens, walked row by row (the same sums in the same order, cache-friendly)
    mean.fill(0);
    std.fill(0);
    for (let t = 0; t < tokens; t++) for (let f = 0; f < frames; f++) mean[f] += head[t * frames + f];
    for (let f = 0; f < frames; f++) mean[f] /= tokens;
    for (let t = 0; t < tokens; t++) for (let f = 0; f < frames; f++) std[f] += (head[t * frames + f] - mean[f]) ** 2;
    for (let f = 0; f < frames; f++) std[f] = Math.sqrt(std[f] / tokens) || 1;
    for (let t = 0; t < tokens; t++) for (let f = 0; f < frames; f++) head[t * frames + f] = (head[t * frames + f] - mean[f]) / std[f];
    medianFilterRows(head, tokens, frames);
    for (let i = 0; i < matrix.length; i++) matrix[i] += head[i] / heads;
  }
  return matrix;
}

/** Whole words as token groups: a new word at a leading space or punctuation (space-delimited languages). */
export function splitWords(tokenizer: WhisperTokenizer, tokens: number[]): { word: string; tokens: number[] }[] {
  const words: { word: string; tokens: number[] }[] = [];
  for (const piece of tokenizer.splitOnUnicode(tokens)) {
    const special = piece.tokens[0] >= tokenizer.eot;
    const trimmed = piece.text.trim();
    const punctuation = trimmed.length > 0 && [...trimmed].every((ch) => PUNCTUATION.has(ch));
    if (special || piece.text.startsWith(' ') || punctuation || words.length === 0) words.push({ word: piece.text, tokens: [...piece.tokens] });
    else {
      const last = words[words.length - 1];
      last.word += piece.text;
      last.tokens.push(...piece.tokens);
    }
  }
  return words;
}
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * Attach leading quotes/brackets to the next word and trailing punctuation to the previous one,
 * leaving emptied entries in place (with no tokens), as OpenAI's merge_punctuations does.
 * Membership is a substring test, as Python's `in` on strings.
 */
export function mergePunctuation(words: WordTiming[]): WordTiming[] {
  const out = words.map((w) => ({ ...w }));
  for (let i = out.length - 2, j = out.length - 1; i >= 0; i--) {
    const previous = out[i];
    const following = out[j];
    if (previous.word.startsWith(' ') && PREPEND_PUNCTUATION.includes(previous.word.trim())) {
      following.word = previous.word + following.word;
      following.tokenCount += previous.tokenCount;
      previous.word = '';
      previous.tokenCount = 0;
    } else j = i;
  }
  for (let i = 0, j = 1; j < out.length; j++) {
    const previous = out[i];
    const following = out[j];
    if (!previous.word.endsWith(' ') && APPEND_PUNCTUATION.includes(following.word)) {
      previous.word += following.word;
      previous.tokenCount += following.tokenCount;
      following.word = '';
      following.tokenCount = 0;
    } else i = j;
  }
  return out;
}

/**
 * Time every word of `textTokens` in one encoded window (`row` of `audio`). `contentFrames` is the
 * window's length in mel frames (10 ms). Words come back in order, with their token counts.
 */
export async function alignWords(
  model: WhisperOnnx,
  tokenizer: WhisperTokenizer,
  audio: EncodedAudio,
  sotSequence: number[],
  textTokens: number[],
  contentFrames: number,
): Promise<WordTiming[]> {
  if (textTokens.length === 0) return [];
  const input = [...sotSequence, tokenizer.noTimestamps, ...textTokens, tokenizer.eot];
  const step = await model.decode(BigInt64Array.from(input, BigInt), input.length, audio, null, true);
  if (!step.alignment) throw new Error('the decoder gave no alignment output');
  const [, heads, seq, audioFrames] = step.alignment.dims as number[];
  // rows from <|notimestamps|> (which predicts the first text token) up to the last text token
  const first = sotSequence.length;
  const rows = textTokens.length + 1;
  const attention = step.alignment.data as Float32Array;
  const picked = new Float32Array(heads * rows * audioFrames);
  for (let h = 0; h < heads; h++) {
    picked.set(attention.subarray((h * seq + first) * audioFrames, (h * seq + first + rows) * audioFrames), h * rows * audioFrames);
  }
  const frames = Math.min(audioFrames, Math.floor(contentFrames / 2));
  const matrix = alignmentMatrix(picked, heads, rows, audioFrames, frames);
  for (let i = 0; i < matrix.length; i++) matrix[i] = -matrix[i];
  const path = dtw(matrix, rows, frames);

  const words = splitWords(tokenizer, [...textTokens, tokenizer.eot]);
  // times where the path moves to the next token
  const jumpTimes: number[] = [];
  for (let k = 0; k < path.rowIndex.length; k++) {
    if (k === 0 || path.rowIndex[k] !== path.rowIndex[k - 1]) jumpTimes.push(path.colIndex[k] / FRAMES_PER_SECOND);
  }
  const timings: WordTiming[] = [];
  let boundary = 0;
  for (const w of words.slice(0, -1)) {
    const start = jumpTimes[boundary] ?? 0;
    boundary += w.tokens.length;
    const end = jumpTimes[boundary] ?? start;
    timings.push({ word: w.word, start, end, tokenCount: w.tokens.length });
  }
  return timings;
}

/**
 * OpenAI's corrections for words the DTW stretches over pauses: cap words at sentence ends to
 * twice the median word duration (at most 0.7 s), then merge punctuation into words.
 */
export function tidyWords(words: WordTiming[]): { words: WordTiming[]; medianDuration: number } {
  const durations = words.map((w) => w.end - w.start).filter((d) => d > 0).sort((a, b) => a - b);
  const median = durations.length === 0 ? 0 : durations.length % 2 ? durations[(durations.length - 1) / 2] : (durations[durations.length / 2 - 1] + durations[durations.length / 2]) / 2;
  const medianDuration = Math.min(0.7, median);
  const maxDuration = medianDuration * 2;
  const out = words.map((w) => ({ ...w }));
  if (durations.length > 0) {
    const sentenceEnd = '.。!！?？';
    for (let i = 1; i < out.length; i++) {
      if (out[i].end - out[i].start <= maxDuration) continue;
      if (sentenceEnd.includes(out[i].word)) out[i].end = out[i].start + maxDuration;
      else if (sentenceEnd.includes(out[i - 1].word)) out[i].start = out[i].end - maxDuration;
    }
  }
  return { words: mergePunctuation(out), medianDuration };
}

export interface TimedSegment {
  start: number;
  end: number;
  tokens: number[];
  words?: { word: string; start: number; end: number }[];
}

/**
 * Hand the window's words back to its segments (in order, by token count) and reconcile the two
 * clocks as OpenAI does: a segment starts and ends with its words, unless a word the DTW has
 * stretched over a pause runs 0.5 s past the segment's own timestamp. Times are window-relative;
 * `lastSpeechEnd` is where speech last ended before this window (same clock), for the pause rule.
 * Returns the end of the last word.
 */
export function assignWords(segments: TimedSegment[], aligned: WordTiming[], eot: number, lastSpeechEnd: number): number {
  const { words: tidy, medianDuration } = tidyWords(aligned);
  const maxDuration = medianDuration * 2;
  let index = 0;
  let lastEnd = lastSpeechEnd;
  for (const segment of segments) {
    const textCount = segment.tokens.filter((t) => t < eot).length;
    const words: { word: string; start: number; end: number }[] = [];
    let saved = 0;
    while (index < tidy.length && saved < textCount) {
      const w = tidy[index++];
      if (w.word) words.push({ word: w.word, start: w.start, end: w.end });
      saved += w.tokenCount;
    }
    segment.words = words;
    if (words.length === 0) continue;
    const first = words[0];
    // the first word after a pause: not longer than twice the median word duration
    if (first.end - lastEnd > medianDuration * 4 && (first.end - first.start > maxDuration || (words.length > 1 && words[1].end - first.start > maxDuration * 2))) {
      if (words.length > 1 && words[1].end - words[1].start > maxDuration) {
        const boundary = Math.max(words[1].end / 2, words[1].end - maxDuration);
        first.end = words[1].start = boundary;
      }
      first.start = Math.max(0, first.end - maxDuration);
    }
    if (segment.start < first.end && segment.start - 0.5 > first.start) first.start = Math.max(0, Math.min(first.end - medianDuration, segment.start));
    else segment.start = first.start;
    const last = words[words.length - 1];
    if (segment.end > last.start && segment.end + 0.5 < last.end) last.end = Math.max(last.start + medianDuration, segment.end);
    else segment.end = last.end;
    lastEnd = segment.end;
  }
  return lastEnd;
}
