// Batched long-form decoding (faster-whisper's BatchedInferencePipeline): each VAD speech chunk
// (<= 30 s) is its own window, and windows of every concurrent request are encoded and decoded
// together through the cross-request scheduler. Windows do not condition on each other's text.
import { SAMPLE_RATE } from '../audio/ffmpeg.js';
import type { AudioSource } from '../audio/source.js';
import { DEFAULT_FALLBACK, isNoSpeech } from '../decode/fallback.js';
import type { DecodedSequence } from '../decode/greedy.js';
import { keptSegments, MIN_FOLLOW_UP_FRAMES, splitSegments } from '../decode/segments.js';
import { assignWords, type TimedSegment, type WordTiming } from '../decode/word-timing.js';
import { CHUNK_FRAMES, HOP_LENGTH, sliceWindow, TAIL_PADDING } from '../features/log-mel.js';
import { alignRow, decodeRows, detectRows, encodeWindows, initialPromptTokens, sotSequence, windowPrompt, type Engine } from './engine.js';
import { batchKey, type ResolvedOptions } from './options.js';
import type { WindowScheduler } from './scheduler.js';
import type { Segment, Timings } from './types.js';
import type { Region } from './vad.js';
import { resumeFrames, toSegment } from './window-segments.js';

/** One 30 s window for the batch scheduler. */
export interface WindowInput {
  /** Computed when the window's batch runs, so a long file queues spans, not features. */
  features: () => Promise<Float32Array>;
  /** Mel frames of audio in the window (the rest is padding). */
  contentFrames: number;
  /** Undefined: detected from this window once it is encoded. */
  language?: string;
  /** The decoding prompt for a start-of-transcript sequence (same length for every window of a key). */
  prompt: (sot: number[]) => number[];
  options: ResolvedOptions;
}

export interface WindowOutput {
  result: DecodedSequence;
  language: string;
  /** Word timings of the window's kept segments, when asked for. */
  words?: WordTiming[];
  batch: number;
  batchTimings: Pick<Timings, 'features' | 'encode' | 'generate'>;
}

export type BatchScheduler = WindowScheduler<WindowInput, WindowOutput>;

/** One scheduler batch: the windows are encoded together, languages detected where unknown, then decoded together. */
export async function runWindows(engine: Engine, inputs: WindowInput[], batch: number): Promise<WindowOutput[]> {
  const { model, tokenizer } = engine;
  const size = model.config.nMels * CHUNK_FRAMES;
  const batchTimings: Timings = { decode: 0, vad: 0, features: 0, encode: 0, generate: 0, total: 0 };
  const t = performance.now();
  const features = new Float32Array(inputs.length * size);
  for (const [i, w] of inputs.entries()) features.set(await w.features(), i * size);
  batchTimings.features = performance.now() - t;
  const audio = await encodeWindows(engine, features, inputs.length, batchTimings);
  try {
    const unknown = inputs.flatMap((w, i) => (w.language === undefined ? [i] : []));
    const found = unknown.length > 0 ? await detectRows(engine, audio, unknown, batchTimings) : [];
    const languages = inputs.map((w, i) => w.language ?? found[unknown.indexOf(i)]);
    const sots = inputs.map((w, i) => sotSequence(engine, languages[i], w.options));
    const results = await decodeRows(engine, audio, inputs.map((w, i) => w.prompt(sots[i])), inputs[0].options, batchTimings);
    const words: (WordTiming[] | undefined)[] = [];
    for (const [i, input] of inputs.entries()) {
      if (!input.options.wordTimestamps || isNoSpeech(results[i], DEFAULT_FALLBACK)) continue;
      const { segments } = keptSegments(splitSegments(results[i].tokens, tokenizer, input.contentFrames), input.contentFrames);
      words[i] = await alignRow(engine, audio, i, sots[i], segments, input.contentFrames, batchTimings);
    }
    return results.map((result, i) => ({ result, language: languages[i], words: words[i], batch, batchTimings }));
  } finally {
    model.releaseAudio(audio);
  }
}

/**
 * Transcribe `chunks` (speech regions of at most 30 s) of `samples`. Inside a chunk the model may
 * stop at a timestamp before the chunk's end; like the sequential seek, the rest of that chunk goes
 * round again (batched with every other chunk that has audio left), so no speech the VAD found is
 * dropped. `language` undefined: the first chunk is decoded alone and its language detected, then
 * the rest follow in it; with options.multilingual every chunk detects its own.
 */
export async function transcribeBatched(
  engine: Engine,
  scheduler: BatchScheduler,
  samples: AudioSource,
  chunks: Region[],
  language: string | undefined,
  options: ResolvedOptions,
  timings: Timings,
): Promise<{ segments: Segment[]; language: string | undefined }> {
  const { tokenizer, mel } = engine;
  const initial = initialPromptTokens(engine, options);
  const prompt = (sot: number[]): number[] => windowPrompt(engine, initial, sot);
  const key = batchKey(prompt(sotSequence(engine, language ?? 'en', options)).length, options);
  const segments: Segment[] = [];
  const chunkOf = (span: Region): Region => chunks.find((c) => c.start <= span.start && span.start < c.end)!;
  const speechEnd = new Map<Region, number>(); // per chunk, for the word-timing pause rule
  const chunkLanguage = new Map<Region, string>();
  const seenBatches = new Set<number>();
  let fileLanguage = language;

  /** Decode one round of spans; returns the spans that go round again. */
  const round = async (spans: Region[]): Promise<Region[]> => {
    const contentFrames = spans.map((span) => Math.min(CHUNK_FRAMES, Math.floor((span.end - span.start) / HOP_LENGTH)));
    const jobs = spans.map((span, i) => {
      const features = async (): Promise<Float32Array> => sliceWindow(await mel.compute(samples.range(span.start, span.end), TAIL_PADDING), 0, contentFrames[i]);
      const spanLanguage = options.multilingual ? chunkLanguage.get(chunkOf(span)) : fileLanguage;
      return { key, input: { features, contentFrames: contentFrames[i], language: spanLanguage, prompt, options } };
    });
    const outputs = await scheduler.submit(jobs, options.signal);
    for (const o of outputs) {
      if (seenBatches.has(o.batch)) continue;
      seenBatches.add(o.batch);
      timings.features += o.batchTimings.features;
      timings.encode += o.batchTimings.encode;
      timings.generate += o.batchTimings.generate;
    }
    const next: Region[] = [];
    outputs.forEach(({ result, words, language: spanLanguage }, i) => {
      const span = spans[i];
      const chunk = chunkOf(span);
      fileLanguage ??= spanLanguage;
      if (!chunkLanguage.has(chunk)) chunkLanguage.set(chunk, spanLanguage);
      if (isNoSpeech(result, DEFAULT_FALLBACK)) return;
      const offset = span.start / SAMPLE_RATE;
      const split = splitSegments(result.tokens, tokenizer, contentFrames[i]);
      const { segments: kept, seeksOn } = keptSegments(split, contentFrames[i]);
      const timed: TimedSegment[] = kept.map((k) => ({ ...k }));
      if (words) speechEnd.set(chunk, offset + assignWords(timed, words, tokenizer.eot, (speechEnd.get(chunk) ?? chunk.start / SAMPLE_RATE) - offset));
      if (seeksOn) {
        // never past the text that was left for the next round
        const resume = Math.max(1, Math.min(resumeFrames(split, timed), contentFrames[i] - MIN_FOLLOW_UP_FRAMES));
        next.push({ start: span.start + resume * HOP_LENGTH, end: span.end });
      }
      for (const k of timed) {
        const segment = toSegment(tokenizer, k, offset, span.end / SAMPLE_RATE, result, spanLanguage);
        if (segment) segments.push(segment);
      }
    });
    return next;
  };

  let pending: Region[] = chunks;
  if (fileLanguage === undefined && !options.multilingual && chunks.length > 1) {
    // the first chunk alone, so the rest know the language before they are queued
    pending = [...(await round(chunks.slice(0, 1))), ...chunks.slice(1)];
  }
  while (pending.length > 0) pending = await round(pending);
  segments.sort((a, b) => a.start - b.start);
  segments.forEach((s, i) => (s.id = i));
  return { segments, language: fileLanguage };
}
