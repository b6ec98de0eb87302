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
 * round again, ahead of the request's other waiting windows, so no speech the VAD found is dropped
 * and the chunks finish roughly in order. `language` undefined: the first chunk is decoded first
 * and its language detected, then the rest follow in it; with options.multilingual every chunk
 * detects its own. Segments reach options.onSegment in time order, as soon as every chunk before
 * theirs is done.
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
  const keyOf = (o: ResolvedOptions): string => batchKey(prompt(sotSequence(engine, language ?? 'en', o)).length, o);
  const timedOptions: ResolvedOptions = { ...options, withTimestamps: true };
  const session = scheduler.session(options.signal);
  const seenBatches = new Set<number>();
  let fileLanguage = language;
  const firstWindow: Deferred | undefined = fileLanguage === undefined && !options.multilingual ? deferred() : undefined;

  const decodeSpan = async (span: Region, spanLanguage: string | undefined, followUp: boolean, spanOptions: ResolvedOptions): Promise<WindowOutput & { contentFrames: number }> => {
    const contentFrames = Math.min(CHUNK_FRAMES, Math.floor((span.end - span.start) / HOP_LENGTH));
    const features = async (): Promise<Float32Array> => sliceWindow(await mel.compute(samples.range(span.start, span.end), TAIL_PADDING), 0, contentFrames);
    const input = { features, contentFrames, language: spanLanguage, prompt, options: spanOptions };
    const output = await session.submit({ key: keyOf(spanOptions), input }, followUp);
    if (!seenBatches.has(output.batch)) {
      seenBatches.add(output.batch);
      timings.features += output.batchTimings.features;
      timings.encode += output.batchTimings.encode;
      timings.generate += output.batchTimings.generate;
    }
    return { ...output, contentFrames };
  };

  /** One chunk, round after round until its audio is decoded; its segments in time order. */
  const decodeChunk = async (chunk: Region, index: number): Promise<Segment[]> => {
    if (index > 0 && firstWindow) await firstWindow.promise;
    const segments: Segment[] = [];
    let chunkLanguage = options.multilingual ? undefined : fileLanguage;
    let speechEnd = chunk.start / SAMPLE_RATE; // for the word-timing pause rule
    let chunkOptions = options;
    for (let span: Region | undefined = chunk, round = 0; span; round++) {
      const { result, words, language: spanLanguage, contentFrames } = await decodeSpan(span, chunkLanguage, round > 0, chunkOptions);
      chunkLanguage = spanLanguage;
      if (fileLanguage === undefined) {
        fileLanguage = spanLanguage;
        firstWindow?.resolve();
      }
      if (isNoSpeech(result, DEFAULT_FALLBACK)) break;
      if (!chunkOptions.withTimestamps && endedEarly(result, contentFrames, tokenizer.eot)) {
        // text-only decoding has no timestamp to resume after: the chunk goes round again with
        // timestamps, whose rounds resume after the last one, as sequential decoding does
        chunkOptions = timedOptions;
        continue;
      }
      const offset = span.start / SAMPLE_RATE;
      const split = splitSegments(result.tokens, tokenizer, contentFrames);
      const { segments: kept, seeksOn } = keptSegments(split, contentFrames);
      const timed: TimedSegment[] = kept.map((k) => ({ ...k }));
      if (words) speechEnd = offset + assignWords(timed, words, tokenizer.eot, speechEnd - offset);
      for (const k of timed) {
        const segment = toSegment(tokenizer, k, offset, span.end / SAMPLE_RATE, result, spanLanguage);
        if (segment) segments.push(segment);
      }
      // never past the text that was left for the next round
      const resume = seeksOn ? Math.max(1, Math.min(resumeFrames(split, timed), contentFrames - MIN_FOLLOW_UP_FRAMES)) : 0;
      span = seeksOn ? { start: span.start + resume * HOP_LENGTH, end: span.end } : undefined;
    }
    return segments.sort((a, b) => a.start - b.start);
  };

  // segments leave in time order: a chunk's once every chunk before it is done
  const done: (Segment[] | undefined)[] = new Array(chunks.length);
  const ordered: Segment[] = [];
  let emitted = 0;
  const finish = (index: number, segments: Segment[]): void => {
    done[index] = segments;
    for (; emitted < chunks.length && done[emitted]; emitted++) {
      for (const s of done[emitted]!) {
        s.id = ordered.length;
        ordered.push(s);
        options.onSegment?.(s);
      }
    }
  };
  await Promise.all(
    chunks.map(async (chunk, index) => {
      try {
        finish(index, await decodeChunk(chunk, index));
      } catch (err) {
        firstWindow?.reject(err); // the chunks waiting for the language must not wait forever
        throw err;
      }
    }),
  );
  return { segments: ordered, language: fileLanguage };
}

const EARLY_END_TOKENS_PER_SECOND = 1;
const EARLY_END_MIN_SECONDS = 4;

/**
 * Text-only decoding of a chunk ended short of its audio: fewer text tokens than one per second of
 * it, in a chunk of 4 s or more (read speech gives 3-4 a second). The model may end its text early,
 * and without timestamps nothing shows where: on 80 read clips laid end to end (shuffled), a 29 s
 * chunk came back with its first 8 s (24 tokens), 40 words lost, where timestamp decoding kept them.
 * A tail cut of a few seconds stays above this rate and is not caught.
 */
function endedEarly(result: DecodedSequence, contentFrames: number, eot: number): boolean {
  const seconds = (contentFrames * HOP_LENGTH) / SAMPLE_RATE;
  const textTokens = result.tokens.filter((t) => t < eot).length;
  return seconds >= EARLY_END_MIN_SECONDS && textTokens < EARLY_END_TOKENS_PER_SECOND * seconds;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody waits for is no unhandled rejection
  return { promise, resolve, reject };
}
