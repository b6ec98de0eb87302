// OpenAI Whisper's temperature fallback: retry a window at higher temperatures when its text is
// too repetitive (gzip compression ratio) or too unlikely (average log-probability).
import { deflateSync } from 'node:zlib';
import type { EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { beamDecodeBatch } from './beam.js';
import { decodeBatch, type DecodedSequence, type DecodeTimings } from './greedy.js';
import type { FilterContext } from './logit-filters.js';

export interface FallbackThresholds {
  temperatures: number[];
  compressionRatioThreshold: number;
  logProbThreshold: number;
  noSpeechThreshold: number;
}

export const DEFAULT_FALLBACK: FallbackThresholds = {
  temperatures: [0, 0.2, 0.4, 0.6, 0.8, 1.0],
  compressionRatioThreshold: 2.4,
  logProbThreshold: -1.0,
  noSpeechThreshold: 0.6,
};

export function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return 0;
  return bytes.length / deflateSync(bytes).length;
}

/** True when the window is silence: the model says no speech and is not confident in any text. */
export function isNoSpeech(result: DecodedSequence, t: FallbackThresholds): boolean {
  return result.noSpeechProb > t.noSpeechThreshold && result.avgLogprob < t.logProbThreshold;
}

/** True when this result should be retried at the next temperature. */
export function needsFallback(result: DecodedSequence, text: string, t: FallbackThresholds): boolean {
  if (compressionRatio(text) > t.compressionRatioThreshold) return true;
  if (result.avgLogprob < t.logProbThreshold && !isNoSpeech(result, t)) return true;
  return false;
}

export interface FallbackOptions {
  filters: FilterContext;
  /** Tried in turn; a row that passes at one is done. */
  temperatures: number[];
  /** Beam width at temperature 0 (1: greedy). */
  beamSize: number;
  maxNewTokens: number;
}

/**
 * Decode every row of `audio` after its prompt, retrying each row that fails the thresholds at the
 * next temperature (only the failing rows go round again). A row that fails at every temperature
 * keeps its best attempt, as faster-whisper does (OpenAI's keeps the last, often sampled at 1.0
 * into nonsense): the most likely one among those not too repetitive, else the most likely.
 * Rows are independent: a row's result does not depend on the other rows of its batch.
 */
export async function decodeWithFallback(
  model: WhisperOnnx,
  tokenizer: WhisperTokenizer,
  audio: EncodedAudio,
  prompts: number[][],
  options: FallbackOptions,
  timings: DecodeTimings,
): Promise<DecodedSequence[]> {
  const { temperatures } = options;
  const results: DecodedSequence[] = new Array(prompts.length);
  const attempts: { result: DecodedSequence; repetitive: boolean }[][] = prompts.map(() => []);
  let pending = prompts.map((_, i) => i);
  for (const temperature of temperatures) {
    const rows = model.selectRows(audio, pending);
    const rowPrompts = pending.map((i) => prompts[i]);
    const decodeOptions = { filters: options.filters, temperature, maxNewTokens: options.maxNewTokens };
    const decoded =
      temperature === 0 && options.beamSize > 1
        ? await beamDecodeBatch(model, tokenizer, rows, rowPrompts, { ...decodeOptions, beamSize: options.beamSize }, timings)
        : await decodeBatch(model, tokenizer, rows, rowPrompts, decodeOptions, timings);
    const retry: number[] = [];
    decoded.forEach((result, k) => {
      const row = pending[k];
      results[row] = result;
      const text = tokenizer.decodeText(result.tokens);
      if (!needsFallback(result, text, DEFAULT_FALLBACK)) return;
      attempts[row].push({ result, repetitive: compressionRatio(text) > DEFAULT_FALLBACK.compressionRatioThreshold });
      if (temperature < temperatures[temperatures.length - 1]) retry.push(row);
      else results[row] = bestAttempt(attempts[row]);
    });
    if (retry.length === 0) break;
    pending = retry;
  }
  return results;
}

function bestAttempt(attempts: { result: DecodedSequence; repetitive: boolean }[]): DecodedSequence {
  const readable = attempts.filter((a) => !a.repetitive);
  return (readable.length > 0 ? readable : attempts).reduce((best, a) => (a.result.avgLogprob > best.result.avgLogprob ? a : best)).result;
}
