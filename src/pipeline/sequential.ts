// Sequential long-form decoding (OpenAI's and faster-whisper's default): 30 s windows one after
// another, each starting where the last complete segment ended and conditioned on the text before.
import type pLimit from 'p-limit';
import { DEFAULT_FALLBACK, isNoSpeech } from '../decode/fallback.js';
import { splitSegments } from '../decode/segments.js';
import { assignWords, type TimedSegment } from '../decode/word-timing.js';
import { CHUNK_FRAMES, FRAMES_PER_SECOND, HOP_LENGTH, TAIL_PADDING } from '../features/log-mel.js';
import { SAMPLE_RATE } from '../audio/ffmpeg.js';
import { alignRow, decodeRows, detectRows, encodeWindows, initialPromptTokens, sotSequence, windowPrompt, type Engine } from './engine.js';
import type { ResolvedOptions } from './options.js';
import type { Segment, Timings } from './types.js';
import type { SpeechTimeline } from './vad.js';
import { resumeFrames, roundTime, toSegment } from './window-segments.js';

/**
 * Transcribe the speech of `timeline` window by window. `language` undefined: detected on the
 * first window (on every window with options.multilingual). Segment times are on the original
 * audio's clock. `turn` makes concurrent sequential transcriptions take turns window by window.
 */
export async function transcribeSequential(
  engine: Engine,
  timeline: SpeechTimeline,
  language: string | undefined,
  options: ResolvedOptions,
  timings: Timings,
  turn: ReturnType<typeof pLimit>,
): Promise<{ segments: Segment[]; language: string | undefined }> {
  const { tokenizer, mel } = engine;
  const t = performance.now();
  // features one window at a time (memory stays flat with length), clamped to the whole input's maximum as Whisper does
  const maxEnergy = await mel.maxLogEnergy(timeline, TAIL_PADDING);
  timings.features += performance.now() - t;
  const contentFrames = Math.floor(timeline.length / HOP_LENGTH);
  const totalSeconds = timeline.length / SAMPLE_RATE;
  const segments: Segment[] = [];
  let detected = language;
  let previous = initialPromptTokens(engine, options);
  let lastSpeechEnd = 0;
  let seek = 0;
  while (seek < contentFrames) {
    options.signal?.throwIfAborted();
    const windowFrames = Math.min(CHUNK_FRAMES, contentFrames - seek);
    const offset = (seek * HOP_LENGTH) / SAMPLE_RATE;
    const window = await turn(async () => {
      const f = performance.now();
      const features = await mel.window(timeline, TAIL_PADDING, seek, windowFrames, maxEnergy);
      timings.features += performance.now() - f;
      const audio = await encodeWindows(engine, features, 1, timings);
      try {
        const windowLanguage = detected === undefined || options.multilingual ? (await detectRows(engine, audio, [0], timings))[0] : detected;
        const sot = sotSequence(engine, windowLanguage, options);
        const [result] = await decodeRows(engine, audio, [windowPrompt(engine, previous, sot)], options, timings);
        if (isNoSpeech(result, DEFAULT_FALLBACK)) return { result, language: windowLanguage };
        const split = splitSegments(result.tokens, tokenizer, windowFrames);
        const words = options.wordTimestamps ? await alignRow(engine, audio, 0, sot, split.segments, windowFrames, timings) : undefined;
        return { result, language: windowLanguage, split, words };
      } finally {
        engine.model.releaseAudio(audio);
      }
    });
    detected ??= window.language;
    const { result, split, words } = window;
    if (!split) {
      seek += windowFrames;
      continue;
    }
    const timed: TimedSegment[] = split.segments.map((k) => ({ ...k }));
    if (words) lastSpeechEnd = offset + assignWords(timed, words, tokenizer.eot, lastSpeechEnd - offset);
    for (const k of timed) {
      const segment = toSegment(tokenizer, k, offset, totalSeconds, result, window.language);
      if (!segment) continue;
      const final = onOriginalClock({ ...segment, id: segments.length }, timeline);
      segments.push(final);
      options.onSegment?.(final);
    }
    const partial = split.consumedFrames > 0 && split.consumedFrames < windowFrames;
    seek += partial ? resumeFrames(split, timed) : split.consumedFrames > 0 ? split.consumedFrames : windowFrames;
    // Only the complete segments condition the next window: the unfinished tail is decoded again
    // there, and seeing it in the prompt makes the model skip it (OpenAI and faster-whisper do the
    // same). Text that made the model fall back to sampling is dropped so its errors don't feed forward.
    previous = options.conditionOnPreviousText && result.temperature < 0.5 ? [...previous, ...split.segments.flatMap((s) => s.tokens)] : [];
    options.onProgress?.(Math.min(seek / FRAMES_PER_SECOND, totalSeconds), totalSeconds);
  }
  return { segments, language: detected };
}

/** A segment's times (and its words') from the speech timeline back to the original audio's: the timeline left out what the VAD found silent. */
function onOriginalClock(s: Segment, timeline: SpeechTimeline): Segment {
  s.start = roundTime(timeline.toOriginal(s.start));
  s.end = roundTime(Math.max(s.start, timeline.toOriginal(s.end)));
  for (const w of s.words ?? []) {
    w.start = roundTime(timeline.toOriginal(w.start));
    w.end = roundTime(Math.max(w.start, timeline.toOriginal(w.end)));
  }
  return s;
}
