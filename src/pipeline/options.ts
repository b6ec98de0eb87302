// TranscribeOptions with every default filled in, once, so the strategies read settled values.
import { DEFAULT_FALLBACK } from '../decode/fallback.js';
import type { Segment, TranscribeOptions } from './types.js';

export interface ResolvedOptions {
  /** Undefined: detect it (multilingual models; English-only ones are always 'en'). */
  language?: string;
  task: 'transcribe' | 'translate';
  initialPrompt?: string;
  /** The temperatures to try in turn: [0, 0.2, ... 1.0] (fallback) or the one asked for. */
  temperatures: number[];
  beamSize: number;
  conditionOnPreviousText: boolean;
  withTimestamps: boolean;
  wordTimestamps: boolean;
  vadFilter: boolean;
  multilingual: boolean;
  maxAudioSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
  onSegment?: (segment: Segment) => void;
}

/** Most tokens a window may generate (OpenAI's sample_len: half the text context). */
export const MAX_NEW_TOKENS = 224;

/**
 * `batched`: timestamp tokens only when asked for (withTimestamps), as faster-whisper's
 * BatchedInferencePipeline decodes. Then each VAD chunk (at most 30 s) is one segment, decoded in one
 * round (unless its text ends far short of its audio: then the chunk is decoded again with
 * timestamps, see endedEarly in batched.ts). Measured on this engine (int8,
 * batch 8, the shared clips): base longform 6.3% -> 5.4% WER at 1.38x the speed, base gettysburg
 * 14.7% -> 14.0%; tiny.en longform 6.3% -> 6.0%, tiny.en gettysburg 15.4% -> 17.3% (float32 tiny.en
 * longform: 6.0% -> 5.2%, word for word faster-whisper's batched transcript but for 2 edits).
 * Sequential decoding keeps them: its seek follows them, and faster-whisper's sequential WER is
 * matched with them.
 */
export function resolveOptions(options: TranscribeOptions, batched = false): ResolvedOptions {
  return {
    language: options.language || undefined,
    task: options.task ?? 'transcribe',
    initialPrompt: options.initialPrompt?.trim() || undefined,
    temperatures: options.temperature && options.temperature > 0 ? [options.temperature] : DEFAULT_FALLBACK.temperatures,
    beamSize: options.beamSize ?? 1,
    conditionOnPreviousText: options.conditionOnPreviousText ?? true,
    withTimestamps: options.withTimestamps ?? !batched,
    wordTimestamps: options.wordTimestamps ?? false,
    vadFilter: options.vadFilter ?? true,
    multilingual: options.multilingual ?? false,
    maxAudioSeconds: options.maxAudioSeconds,
    signal: options.signal,
    onProgress: options.onProgress,
    onSegment: options.onSegment,
  };
}

/** What decides whether windows of different requests may share a batch: equal prompt lengths and decoding settings. */
export function batchKey(promptLength: number, options: ResolvedOptions): string {
  return `${promptLength}|${options.temperatures.join(',')}|${options.withTimestamps}|${options.beamSize}|${options.wordTimestamps}`;
}
