// Batched long-form decoding (faster-whisper's BatchedInferencePipeline): each VAD speech chunk
// (<= 30 s) is its own window, and windows of every concurrent request are encoded and decoded
// together through the cross-request scheduler. Windows do not condition on each other's text.
import { SAMPLE_RATE } from '../audio/ffmpeg.js';
import type { AudioSource } from '../audio/source.js';
import { DEFAULT_FALLBACK, isNoSpeech } from '../decode/fallback.js';
import type { DecodedSequence } from '../decode/greedy.js';
import { keptSegments, MIN_FOLLOW_UP_FRAMES, splitSegments } from '../decode/segments.js';
import { assignWords, mergePunctuation, type TimedSegment, type WordTiming } from '../decode/word-timing.js';
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
  /** Word timings of the window's kept segments: when asked for, and on text-only windows to find where their text ends. */
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
      const aligned = input.options.wordTimestamps || (!input.options.withTimestamps && model.supportsAlignment && unsureOfEnd(results[i]));
      if (!aligned || isNoSpeech(results[i], DEFAULT_FALLBACK)) continue;
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
      const tail = chunkOptions.withTimestamps ? undefined : untranscribedTail(words, contentFrames);
      if (tail !== undefined && timed.length > 0) timed[timed.length - 1].end = tail;
      if (words && options.wordTimestamps) speechEnd = offset + assignWords(timed, words, tokenizer.eot, speechEnd - offset);
      for (const k of timed) {
        const segment = toSegment(tokenizer, k, offset, span.end / SAMPLE_RATE, result, spanLanguage);
        if (segment) segments.push(segment);
      }
      // never past the text that was left for the next round
      const resume = seeksOn ? Math.max(1, Math.min(resumeFrames(split, timed), contentFrames - MIN_FOLLOW_UP_FRAMES)) : 0;
      if (seeksOn) span = { start: span.start + resume * HOP_LENGTH, end: span.end };
      else if (tail !== undefined) span = { start: span.start + Math.max(MIN_FOLLOW_UP_FRAMES * HOP_LENGTH, Math.round(tail * SAMPLE_RATE)), end: span.end };
      else span = undefined;
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

const TAIL_SECONDS = 2;
const SURE_END_PROB = 0.9;

/**
 * The model was unsure its text ended where it did (under 0.9 for the end of text), or ran out of
 * tokens: only then is it worth aligning the text to its audio (a decoder pass and a DTW, about a
 * third of the chunk's own decoding). Measured on 50 base int8 chunks (long-form, gettysburg, the
 * 80 clips end to end in 4 orders): the chunk cut 3 s short ended at 0.47, the 4 others under 0.9
 * mid-sentence at a chunk's edge, the other 45 at 0.95 or more (tiny.en: 5 of 49 under 0.9).
 */
function unsureOfEnd(result: DecodedSequence): boolean {
  return result.endProb === undefined || result.endProb < SURE_END_PROB;
}

/**
 * Where a text-only window's text ends (seconds from its start), when audio it does not cover is
 * left after it: the end of the last word the alignment heads place, TAIL_SECONDS or more before
 * the window's end. The model may end its text a sentence early: on base int8, a 29 s chunk of the
 * bench's long-form file came back without its last 3 s ("When, what was that? said the old man.").
 * VAD chunks end at speech (plus its padding), so audio this long after the text is most often
 * speech left out; a tail with none decodes to nothing.
 */
export function untranscribedTail(words: WordTiming[] | undefined, contentFrames: number): number | undefined {
  // the last word with its punctuation merged in: a closing "," or "." is a token of its own, and
  // the alignment stretches it over whatever audio the text left out (jfk cut after "for you,": the
  // "," runs from 8.0 s to the end)
  const textEnd = words && mergePunctuation(words).filter((w) => w.word !== '').at(-1)?.end;
  if (textEnd === undefined) return undefined;
  return (contentFrames * HOP_LENGTH) / SAMPLE_RATE - textEnd >= TAIL_SECONDS ? textEnd : undefined;
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
