// What both long-audio strategies do with one decoded window: its segments on the input's clock,
// and where the next window starts when the model stopped before the window's end.
import { compressionRatio } from '../decode/fallback.js';
import type { DecodedSequence } from '../decode/greedy.js';
import type { SplitResult } from '../decode/segments.js';
import { FRAMES_PER_SECOND } from '../features/log-mel.js';
import type { TimedSegment } from '../decode/word-timing.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import type { Segment, Word } from './types.js';

export function roundTime(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

/** A window's segment (window-relative times, words included) shifted by `offset`, ending by `limit`; null when it has no text. */
export function toSegment(tokenizer: WhisperTokenizer, window: TimedSegment, offset: number, limit: number, result: DecodedSequence, language: string): Segment | null {
  const tokens = window.tokens;
  const text = tokenizer.decodeText(tokens);
  if (text.trim() === '') return null;
  const words: Word[] | undefined = window.words?.map((w) => ({ word: w.word, start: roundTime(offset + w.start), end: roundTime(Math.min(offset + w.end, limit)) }));
  return {
    ...(words ? { words } : {}),
    id: 0,
    start: roundTime(offset + window.start),
    end: roundTime(Math.min(offset + window.end, limit)),
    text,
    tokens,
    language,
    avgLogprob: result.avgLogprob,
    noSpeechProb: result.noSpeechProb,
    compressionRatio: compressionRatio(text),
    temperature: result.temperature,
  };
}

/**
 * Frames from the window's start where decoding resumes after a window the model ended early:
 * right after the last timed word when there is one (as OpenAI with word timestamps), else at the
 * last complete segment's timestamp.
 */
export function resumeFrames(split: SplitResult, timed: TimedSegment[]): number {
  const wordEnd = timed.flatMap((k) => k.words ?? []).at(-1)?.end;
  return wordEnd !== undefined && wordEnd > 0 ? Math.round(wordEnd * FRAMES_PER_SECOND) : split.consumedFrames;
}
