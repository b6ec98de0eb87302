// OpenAI Whisper's temperature fallback: retry a window at higher temperatures when its text is
// too repetitive (gzip compression ratio) or too unlikely (average log-probability).
import { deflateSync } from 'node:zlib';
import type { DecodedSequence } from './greedy.js';

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
