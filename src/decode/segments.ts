// Turn one window's generated tokens into timed segments, and say how far to seek (OpenAI's
// algorithm: continue from the end of the last complete segment).
import { FRAMES_PER_SECOND } from '../features/log-mel.js';
import { TIME_PRECISION, type WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';

export interface WindowSegment {
  start: number;
  end: number;
  tokens: number[];
}

export interface SplitResult {
  segments: WindowSegment[];
  /** Frames (10 ms each) consumed from the window's start. */
  consumedFrames: number;
  /**
   * Text after the last complete segment, running to the window's end. Sequential decoding seeks
   * back and decodes it again in the next window; a window that is not followed by a seek (a
   * batched VAD chunk) must keep it, or its last words are lost.
   */
  tail?: WindowSegment;
}

const FRAMES_PER_TIMESTAMP = 2; // one timestamp token = 20 ms = 2 mel frames

/** Times are relative to the window start; `windowFrames` is the window's content length. */
export function splitSegments(tokens: number[], tokenizer: WhisperTokenizer, windowFrames: number): SplitResult {
  const tb = tokenizer.timestampBegin;
  const isTs = (t: number): boolean => t >= tb;
  const n = tokens.length;
  const singleTimestampEnding = n >= 2 && !isTs(tokens[n - 2]) && isTs(tokens[n - 1]);
  const consecutive: number[] = [];
  for (let i = 1; i < n; i++) if (isTs(tokens[i]) && isTs(tokens[i - 1])) consecutive.push(i);
  const segments: WindowSegment[] = [];
  if (consecutive.length > 0) {
    const slices = singleTimestampEnding ? [...consecutive, n] : consecutive;
    let last = 0;
    for (const current of slices) {
      const sliced = tokens.slice(last, current);
      segments.push({ start: (sliced[0] - tb) * TIME_PRECISION, end: (sliced[sliced.length - 1] - tb) * TIME_PRECISION, tokens: sliced });
      last = current;
    }
    if (singleTimestampEnding) return { segments, consumedFrames: windowFrames };
    const resumeAt = tokens[last - 1] - tb;
    const rest = tokens.slice(last);
    const tail = rest.some((t) => !isTs(t)) ? { start: resumeAt * TIME_PRECISION, end: windowFrames / FRAMES_PER_SECOND, tokens: rest } : undefined;
    return { segments, consumedFrames: resumeAt * FRAMES_PER_TIMESTAMP, tail };
  }
  let duration = windowFrames / FRAMES_PER_SECOND;
  const stamps = tokens.filter(isTs);
  if (stamps.length > 0 && stamps[stamps.length - 1] !== tb) duration = (stamps[stamps.length - 1] - tb) * TIME_PRECISION;
  if (tokens.some((t) => !isTs(t))) segments.push({ start: 0, end: duration, tokens });
  return { segments, consumedFrames: windowFrames };
}

/** Less audio than this (50 frames, 0.5 s) left after the last complete segment is the VAD's padding, not worth another window. */
export const MIN_FOLLOW_UP_FRAMES = 50;

/**
 * For a window that is a whole VAD chunk (batched mode): the segments to keep, and whether the rest
 * of the chunk goes round again. It does when the model stopped at a timestamp with at least 0.5 s
 * left; then the tail is decoded again there. Otherwise the tail is kept here.
 */
export function keptSegments(split: SplitResult, contentFrames: number): { segments: WindowSegment[]; seeksOn: boolean } {
  const seeksOn = split.consumedFrames > 0 && contentFrames - split.consumedFrames >= MIN_FOLLOW_UP_FRAMES;
  return { segments: split.tail && !seeksOn ? [...split.segments, split.tail] : split.segments, seeksOn };
}
