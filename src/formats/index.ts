// Result renderers shared by the CLI and the HTTP function.
import type { TranscriptionResult } from '../pipeline/types.js';

export const FORMATS = ['txt', 'json', 'verbose_json', 'srt', 'vtt'] as const;
export type Format = (typeof FORMATS)[number];

/** Formats that show each segment's times: batched decoding keeps timestamp tokens for them only (see resolveOptions). */
export function showsSegmentTimes(format: Format): boolean {
  return format === 'verbose_json' || format === 'srt' || format === 'vtt';
}

function clock(seconds: number, decimal: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${decimal}${pad(ms % 1000, 3)}`;
}

export function toSrt(result: TranscriptionResult): string {
  return result.segments.map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.text.trim()}\n`).join('\n');
}

export function toVtt(result: TranscriptionResult): string {
  return 'WEBVTT\n\n' + result.segments.map((s) => `${clock(s.start, '.')} --> ${clock(s.end, '.')}\n${s.text.trim()}\n`).join('\n');
}

/**
 * OpenAI's verbose_json shape, plus our timings and real-time factor. `granularities` as the API's
 * timestamp_granularities: segments unless only 'word' is asked for; words when they were timed.
 */
export function toVerboseJson(result: TranscriptionResult, task = 'transcribe', granularities: string[] = []): object {
  const withSegments = granularities.length === 0 || granularities.includes('segment');
  const words = result.segments.some((s) => s.words) ? result.segments.flatMap((s) => s.words ?? []) : undefined;
  return {
    task,
    language: result.language,
    duration: result.duration,
    text: result.text,
    ...(words ? { words } : {}),
    ...(withSegments ? { segments: segmentsJson(result) } : {}),
    rtf: result.rtf,
    timings: result.timings,
  };
}

function segmentsJson(result: TranscriptionResult): object[] {
  return result.segments.map((s) => ({
      id: s.id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: s.tokens,
      temperature: s.temperature,
      avg_logprob: s.avgLogprob,
      compression_ratio: s.compressionRatio,
      no_speech_prob: s.noSpeechProb,
    }));
}

export function render(result: TranscriptionResult, format: Format): string {
  switch (format) {
    case 'txt':
      return result.text + '\n';
    case 'json':
      return JSON.stringify({ text: result.text }) + '\n';
    case 'verbose_json':
      return JSON.stringify(toVerboseJson(result), null, 2) + '\n';
    case 'srt':
      return toSrt(result);
    case 'vtt':
      return toVtt(result);
  }
}
