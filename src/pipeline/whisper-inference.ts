// The engine's front door: audio in, timed text out. Loads the model once, then transcribes many.
import pLimit from 'p-limit';
import { decodeToFile, SAMPLE_RATE, type AudioInput } from '../audio/ffmpeg.js';
import { MemoryAudio, type AudioSource } from '../audio/source.js';
import { AudioDecodeError } from '../errors.js';
import { CHUNK_FRAMES, HOP_LENGTH, LogMelExtractor, sliceWindow, TAIL_PADDING } from '../features/log-mel.js';
import { readWhisperConfig } from '../model/config.js';
import { openWhisperOnnx, type EncodedAudio, type WhisperOnnx } from '../model/layouts.js';
import { resolveModelDir } from '../model/resolve.js';
import { resolveRuntime, type RuntimeChoice } from '../model/runtime.js';
import { DEFAULT_FALLBACK, compressionRatio, isNoSpeech, needsFallback } from '../decode/fallback.js';
import { beamDecodeBatch } from '../decode/beam.js';
import { detectLanguage } from '../decode/language.js';
import { decodeBatch, promptTokens, type DecodedSequence, type DecodeTimings } from '../decode/greedy.js';
import { suppressedTokens, type FilterContext } from '../decode/logit-filters.js';
import { keptSegments, MIN_FOLLOW_UP_FRAMES, splitSegments, type WindowSegment } from '../decode/segments.js';
import { alignWords, assignWords, type TimedSegment, type WordTiming } from '../decode/word-timing.js';
import { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { WindowScheduler } from './scheduler.js';
import { DEFAULT_VAD, mergeRegions, SileroVad, SpeechTimeline, type Region, type VadOptions } from './vad.js';
import type { Segment, Timings, TranscribeOptions, TranscriptionResult, WhisperOptions, Word } from './types.js';

/** faster-whisper's BatchedInferencePipeline VAD settings: chunks of at most 30 s cut at short silences. */
const BATCHED_VAD: VadOptions = { ...DEFAULT_VAD, maxSpeechSeconds: 30, minSilenceMs: 160 };
const CHUNK_SECONDS = 30;

/** One 30 s window for the batch scheduler. */
interface WindowInput {
  /** Computed when the window's batch runs, so a long file queues spans, not features. */
  features: () => Promise<Float32Array>;
  /** Mel frames of audio in the window (the rest is padding). */
  contentFrames: number;
  prompt: number[];
  sot: number[];
  options: Pick<TranscribeOptions, 'temperature' | 'withTimestamps' | 'beamSize' | 'wordTimestamps'>;
}

interface WindowOutput {
  result: DecodedSequence;
  /** Word timings of the window's kept segments, when asked for. */
  words?: WordTiming[];
  batch: number;
  batchTimings: Pick<Timings, 'features' | 'encode' | 'generate'>;
}

interface Loaded {
  vad: SileroVad;
  model: WhisperOnnx;
  tokenizer: WhisperTokenizer;
  mel: LogMelExtractor;
  runtime: RuntimeChoice;
  modelDir: string;
}

export class WhisperInference {
  private loading?: Promise<Loaded>;
  private batches = 0;
  /** Set once the model is loaded; the scheduler only runs after that (batched() awaits load()). */
  private runtime?: RuntimeChoice;
  /**
   * Concurrent sequential transcriptions take turns window by window (FIFO). onnxruntime-node runs
   * a session on the main thread, so interleaving their windows bought no speed, while every
   * window in flight held its encoder output and cache: 20 concurrent short files peaked at 730 MB
   * interleaved (386 MB through the batched scheduler), at the same throughput.
   */
  private readonly oneWindowAtATime = pLimit(1);
  /** Windows of all concurrent batched transcriptions share batches through this queue. */
  readonly scheduler = new WindowScheduler<WindowInput, WindowOutput>(
    (inputs) => this.runWindows(inputs),
    () => this.batchSize(this.runtime!),
    (size) => this.options.onBatch?.(size),
  );
  readonly options: Required<Pick<WhisperOptions, 'model' | 'device' | 'computeType' | 'useBatchedInference'>> & WhisperOptions;

  constructor(options: WhisperOptions = {}) {
    this.options = { model: 'tiny.en', device: 'auto', computeType: 'auto', useBatchedInference: false, ...options };
  }

  /** Load the model (once); later calls return the same promise. */
  load(): Promise<Loaded> {
    this.loading ??= this.open();
    return this.loading;
  }

  private async open(): Promise<Loaded> {
    const log = this.options.log ?? ((m: string) => process.stderr.write(`audiodecode: ${m}\n`));
    const runtime = resolveRuntime(this.options.device, this.options.computeType, this.options.threads);
    if (runtime.notice) log(runtime.notice);
    this.runtime = runtime;
    const modelDir = resolveModelDir(this.options.model);
    const config = readWhisperConfig(modelDir);
    const [model, vad, mel] = await Promise.all([openWhisperOnnx(modelDir, config, runtime, this.options.layout), SileroVad.load(), LogMelExtractor.create(config.nMels, runtime.threads)]);
    return { vad, model, tokenizer: new WhisperTokenizer(modelDir, config), mel, runtime, modelDir };
  }

  /** Run the encoder and one decoder step once, so the first request does not pay for warm-up. */
  async warmup(): Promise<void> {
    const loaded = await this.load();
    const { model, tokenizer } = loaded;
    const audio = await model.encode(new Float32Array(model.config.nMels * CHUNK_FRAMES), 1, CHUNK_FRAMES);
    const sot = tokenizer.sotSequence('en', 'transcribe');
    await decodeBatch(model, tokenizer, audio, [sot], { filters: this.filterContext(loaded, true), sotSequence: sot, temperature: 0, maxNewTokens: 2 });
    model.releaseAudio(audio);
  }

  /** What the engine runs on, once loaded. */
  async describe(): Promise<{ modelDir: string; layout: string; device: string; computeType: string; threads: number; batchSize: number }> {
    const { model, runtime, modelDir } = await this.load();
    return { modelDir, layout: model.layout, device: runtime.device, computeType: runtime.computeType, threads: runtime.threads, batchSize: this.batchSize(runtime) };
  }

  batchSize(runtime: RuntimeChoice): number {
    return this.options.batchSize ?? defaultBatchSize(runtime);
  }

  transcribeFile(path: string, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    return this.transcribe(path, options);
  }

  /** A file path, encoded bytes (any format ffmpeg reads), or 16 kHz mono samples. */
  async transcribe(input: AudioInput | Float32Array, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    const started = performance.now();
    const loaded = await this.load();
    const timings: Timings = { decode: 0, vad: 0, features: 0, encode: 0, generate: 0, total: 0 };
    const t = performance.now();
    // decoded audio stays in its file, read window by window; a caller's float samples are used as they are
    const audio = input instanceof Float32Array ? new MemoryAudio(input) : await decodeToFile(input, { maxSeconds: options.maxAudioSeconds, signal: options.signal });
    timings.decode = performance.now() - t;
    try {
      return await this.transcribeAudio(loaded, audio, options, timings, started);
    } finally {
      audio.close();
    }
  }

  private async transcribeAudio(loaded: Loaded, samples: AudioSource, options: TranscribeOptions, timings: Timings, started: number): Promise<TranscriptionResult> {
    const duration = samples.length / SAMPLE_RATE;
    if (options.maxAudioSeconds !== undefined && duration > options.maxAudioSeconds) {
      throw new AudioDecodeError('audio_too_long', `the audio is ${duration.toFixed(1)} s, longer than the limit of ${options.maxAudioSeconds} s`);
    }
    const language = options.language || !loaded.tokenizer.multilingual ? this.checkLanguage(loaded, options) : await this.detect(loaded, samples, timings);
    const batched = this.options.useBatchedInference;
    const t = performance.now();
    const regions: Region[] = options.vadFilter ?? true
      ? await loaded.vad.speechRegions(samples, batched ? BATCHED_VAD : DEFAULT_VAD)
      : [{ start: 0, end: samples.length }];
    timings.vad = performance.now() - t;
    let segments: Segment[];
    if (batched) {
      segments = await this.batched(loaded, samples, mergeRegions(regions, CHUNK_SECONDS * SAMPLE_RATE), language, options, timings);
    } else {
      const timeline = new SpeechTimeline(samples, regions);
      segments = await this.sequential(loaded, timeline, language, options, timings);
      for (const s of segments) {
        s.start = round(timeline.toOriginal(s.start));
        s.end = round(Math.max(s.start, timeline.toOriginal(s.end)));
      }
    }
    for (const s of segments) {
      // rounding to the millisecond must not carry a segment past the end of the audio
      s.end = Math.min(s.end, duration);
      s.start = Math.min(s.start, s.end);
    }
    timings.total = performance.now() - started;
    const text = segments.map((s) => s.text).join('').trim();
    return { text, segments, language, duration, timings, rtf: duration / (timings.total / 1000) };
  }

  /** The language of the first 30 s, for multilingual models asked for none. */
  private async detect(loaded: Loaded, samples: AudioSource, timings: Timings): Promise<string> {
    const { mel, model, tokenizer } = loaded;
    const t = performance.now();
    const first = samples.range(0, CHUNK_FRAMES * HOP_LENGTH);
    const window = sliceWindow(await mel.compute(first, TAIL_PADDING), 0, Math.floor(first.length / HOP_LENGTH));
    const audio = await model.encode(window, 1, CHUNK_FRAMES);
    const [guess] = await detectLanguage(model, tokenizer, audio);
    model.releaseAudio(audio);
    timings.encode += performance.now() - t;
    return guess.language;
  }

  private checkLanguage(loaded: Loaded, options: TranscribeOptions): string {
    const { tokenizer } = loaded;
    if (!tokenizer.multilingual) {
      if (options.language && options.language !== 'en') {
        throw new AudioDecodeError('invalid_option', `this model is English-only; language '${options.language}' is not supported`);
      }
      if (options.task === 'translate') throw new AudioDecodeError('invalid_option', 'this model is English-only and cannot translate');
      return 'en';
    }
    if (options.language) tokenizer.languageToken(options.language);
    return options.language ?? 'en';
  }

  private filterContext(loaded: Loaded, withTimestamps: boolean): FilterContext {
    const { tokenizer, model } = loaded;
    return {
      tokenizer,
      suppress: suppressedTokens(tokenizer, model.config.suppressTokens),
      beginSuppress: Int32Array.from(model.config.beginSuppressTokens),
      withTimestamps,
      maxInitialTimestampIndex: model.config.maxInitialTimestampIndex,
    };
  }

  /** Decode one batch of windows, retrying each row at higher temperatures where it fails. */
  private async decodeWithFallback(loaded: Loaded, windows: Float32Array, prompts: number[][], sot: number[], options: Pick<TranscribeOptions, 'temperature' | 'withTimestamps' | 'beamSize'>, timings: Timings): Promise<{ results: DecodedSequence[]; audio: EncodedAudio }> {
    const { model, tokenizer } = loaded;
    const withTimestamps = options.withTimestamps ?? true;
    const filters = this.filterContext(loaded, withTimestamps);
    const t = performance.now();
    const audio = await model.encode(windows, prompts.length, CHUNK_FRAMES);
    timings.encode += performance.now() - t;
    const temperatures = options.temperature && options.temperature > 0 ? [options.temperature] : DEFAULT_FALLBACK.temperatures;
    const results: DecodedSequence[] = new Array(prompts.length);
    let pending = prompts.map((_, i) => i);
    const gen: DecodeTimings = { steps: 0, ms: 0 };
    for (const temperature of temperatures) {
      const rows = model.selectRows(audio, pending);
      const decodeOptions = { filters, sotSequence: sot, temperature, maxNewTokens: 224 };
      const beamSize = options.beamSize ?? 1;
      const decoded =
        temperature === 0 && beamSize > 1
          ? await beamDecodeBatch(model, tokenizer, rows, pending.map((i) => prompts[i]), { ...decodeOptions, beamSize }, gen)
          : await decodeBatch(model, tokenizer, rows, pending.map((i) => prompts[i]), decodeOptions, gen);
      const retry: number[] = [];
      decoded.forEach((result, k) => {
        const row = pending[k];
        results[row] = result;
        const text = tokenizer.decodeText(result.tokens);
        if (temperature < temperatures[temperatures.length - 1] && needsFallback(result, text, DEFAULT_FALLBACK)) retry.push(row);
      });
      if (retry.length === 0) break;
      pending = retry;
    }
    timings.generate += gen.ms;
    return { results, audio };
  }

  /** Word timings for the text of `segments`, from row `row` of an encoded batch. */
  private async alignRow(loaded: Loaded, audio: EncodedAudio, row: number, sot: number[], segments: WindowSegment[], contentFrames: number, timings: Timings): Promise<WordTiming[]> {
    const { model, tokenizer } = loaded;
    if (!model.supportsAlignment) {
      throw new AudioDecodeError('invalid_option', `word timestamps need the cross-attention of the alignment heads, which this model's ${model.layout} decoder does not expose; use a model converted by tools/convert_ct2.py (native layout)`);
    }
    const t = performance.now();
    const text = segments.flatMap((s) => s.tokens).filter((token) => token < tokenizer.eot);
    const words = await alignWords(model, tokenizer, audio.batch === 1 ? audio : model.selectRows(audio, [row]), sot, text, contentFrames);
    timings.generate += performance.now() - t;
    return words;
  }

  private sotFor(loaded: Loaded, language: string, options: TranscribeOptions): number[] {
    const { tokenizer } = loaded;
    const withTimestamps = options.withTimestamps ?? true;
    return [...tokenizer.sotSequence(language, options.task ?? 'transcribe'), ...(withTimestamps ? [] : [tokenizer.noTimestamps])];
  }

  /** A window's segment (window-relative times, words included) on the input's clock: shifted by `offset`, ending by `limit`. */
  private segment(loaded: Loaded, id: number, window: TimedSegment, offset: number, limit: number, result: DecodedSequence): Segment | null {
    const tokens = window.tokens;
    const text = loaded.tokenizer.decodeText(tokens);
    if (text.trim() === '') return null;
    const words: Word[] | undefined = window.words?.map((w) => ({ word: w.word, start: round(offset + w.start), end: round(Math.min(offset + w.end, limit)) }));
    return {
      ...(words ? { words } : {}),
      id,
      start: round(offset + window.start),
      end: round(Math.min(offset + window.end, limit)),
      text,
      tokens,
      avgLogprob: result.avgLogprob,
      noSpeechProb: result.noSpeechProb,
      compressionRatio: compressionRatio(text),
      temperature: result.temperature,
    };
  }

  /**
   * Batched: each speech chunk (<= 30 s) is its own window; `batchSize` windows are encoded and
   * decoded together. Windows do not condition on each other's text, as in faster-whisper. Inside
   * a chunk the model may stop at a timestamp before the chunk's end; like the sequential seek, the
   * rest of that chunk goes round again (batched with every other chunk that has audio left), so
   * no speech the VAD found is dropped.
   */
  private async batched(loaded: Loaded, samples: AudioSource, chunks: Region[], language: string, options: TranscribeOptions, timings: Timings): Promise<Segment[]> {
    const { tokenizer, mel, model } = loaded;
    const sot = this.sotFor(loaded, language, options);
    const prompt = promptTokens(tokenizer, options.initialPrompt ? tokenizer.encodeText(' ' + options.initialPrompt.trim()) : [], sot, model.config.maxTextPositions);
    const decodeOptions = { temperature: options.temperature, withTimestamps: options.withTimestamps, beamSize: options.beamSize, wordTimestamps: options.wordTimestamps };
    const key = `${prompt.join(',')}|${decodeOptions.temperature ?? 0}|${decodeOptions.withTimestamps ?? true}|${decodeOptions.beamSize ?? 1}`;
    const segments: Segment[] = [];
    const speechEnd = new Map<Region, number>(); // per chunk, for the word-timing pause rule
    const seenBatches = new Set<number>();
    let pending: Region[] = chunks;
    while (pending.length > 0) {
      const contentFrames = pending.map((span) => Math.min(CHUNK_FRAMES, Math.floor((span.end - span.start) / HOP_LENGTH)));
      const jobs = pending.map((span, i) => {
        const features = async (): Promise<Float32Array> => sliceWindow(await mel.compute(samples.range(span.start, span.end), TAIL_PADDING), 0, contentFrames[i]);
        return { key, input: { features, contentFrames: contentFrames[i], prompt, sot, options: decodeOptions } };
      });
      const outputs = await this.scheduler.submit(jobs, options.signal);
      for (const o of outputs) {
        if (seenBatches.has(o.batch)) continue;
        seenBatches.add(o.batch);
        timings.features += o.batchTimings.features;
        timings.encode += o.batchTimings.encode;
        timings.generate += o.batchTimings.generate;
      }
      const next: Region[] = [];
      outputs.forEach(({ result, words }, i) => {
        if (isNoSpeech(result, DEFAULT_FALLBACK)) return;
        const span = pending[i];
        const offset = span.start / SAMPLE_RATE;
        const spanEnd = span.end / SAMPLE_RATE;
        const split = splitSegments(result.tokens, tokenizer, contentFrames[i]);
        const { segments: kept, seeksOn } = keptSegments(split, contentFrames[i]);
        const chunk = chunks.find((c) => c.start <= span.start && span.start < c.end)!;
        const timed: TimedSegment[] = kept.map((k) => ({ ...k }));
        if (words) speechEnd.set(chunk, offset + assignWords(timed, words, tokenizer.eot, (speechEnd.get(chunk) ?? chunk.start / SAMPLE_RATE) - offset));
        if (seeksOn) {
          // resume after the last timed word when there is one, as the sequential seek does
          const wordEnd = lastWordEnd(timed);
          const byWords = wordEnd !== undefined && wordEnd > 0 ? Math.round(wordEnd * 100) : split.consumedFrames;
          // never past the text that was left for the next round
          const resumeFrames = Math.max(1, Math.min(byWords, contentFrames[i] - MIN_FOLLOW_UP_FRAMES));
          next.push({ start: span.start + resumeFrames * HOP_LENGTH, end: span.end });
        }
        for (const k of timed) {
          const seg = this.segment(loaded, 0, k, offset, spanEnd, result);
          if (seg) segments.push(seg);
        }
      });
      pending = next;
    }
    segments.sort((a, b) => a.start - b.start);
    segments.forEach((s, i) => (s.id = i));
    return segments;
  }

  /** One scheduler batch: windows that share a key are encoded and decoded together. */
  private async runWindows(inputs: WindowInput[]): Promise<WindowOutput[]> {
    const loaded = await this.load();
    const size = loaded.model.config.nMels * CHUNK_FRAMES;
    const batchTimings = { decode: 0, vad: 0, features: 0, encode: 0, generate: 0, total: 0 };
    const t = performance.now();
    const features = new Float32Array(inputs.length * size);
    for (const [i, w] of inputs.entries()) features.set(await w.features(), i * size);
    batchTimings.features = performance.now() - t;
    const { results, audio } = await this.decodeWithFallback(loaded, features, inputs.map((w) => w.prompt), inputs[0].sot, inputs[0].options, batchTimings);
    const words: (WordTiming[] | undefined)[] = [];
    for (const [i, input] of inputs.entries()) {
      if (!input.options.wordTimestamps || isNoSpeech(results[i], DEFAULT_FALLBACK)) continue;
      const { segments } = keptSegments(splitSegments(results[i].tokens, loaded.tokenizer, input.contentFrames), input.contentFrames);
      words[i] = await this.alignRow(loaded, audio, i, input.sot, segments, input.contentFrames, batchTimings);
    }
    loaded.model.releaseAudio(audio);
    const batch = this.batches++;
    return results.map((result, i) => ({ result, words: words[i], batch, batchTimings }));
  }

  private async sequential(loaded: Loaded, samples: AudioSource, language: string, options: TranscribeOptions, timings: Timings): Promise<Segment[]> {
    const { tokenizer, model } = loaded;
    const sampleCount = samples.length;
    const t = performance.now();
    // features one window at a time (memory stays flat with length), clamped to the whole input's maximum as Whisper does
    const maxEnergy = await loaded.mel.maxLogEnergy(samples, TAIL_PADDING);
    timings.features += performance.now() - t;
    const sot = this.sotFor(loaded, language, options);
    const contentFrames = Math.floor(sampleCount / HOP_LENGTH);
    const totalSeconds = sampleCount / SAMPLE_RATE;
    const segments: Segment[] = [];
    let previous = options.initialPrompt ? tokenizer.encodeText(' ' + options.initialPrompt.trim()) : [];
    const condition = options.conditionOnPreviousText ?? true;
    let lastSpeechEnd = 0;
    let seek = 0;
    while (seek < contentFrames) {
      options.signal?.throwIfAborted();
      const windowFrames = Math.min(CHUNK_FRAMES, contentFrames - seek);
      const offset = (seek * HOP_LENGTH) / SAMPLE_RATE;
      const prompt = promptTokens(tokenizer, previous, sot, model.config.maxTextPositions);
      const { result, split, words } = await this.oneWindowAtATime(async () => {
        const f = performance.now();
        const features = await loaded.mel.window(samples, TAIL_PADDING, seek, windowFrames, maxEnergy);
        timings.features += performance.now() - f;
        const { results: [decoded], audio } = await this.decodeWithFallback(loaded, features, [prompt], sot, options, timings);
        try {
          if (isNoSpeech(decoded, DEFAULT_FALLBACK)) return { result: decoded };
          const segmented = splitSegments(decoded.tokens, tokenizer, windowFrames);
          const timing = options.wordTimestamps ? await this.alignRow(loaded, audio, 0, sot, segmented.segments, windowFrames, timings) : undefined;
          return { result: decoded, split: segmented, words: timing };
        } finally {
          model.releaseAudio(audio);
        }
      });
      if (!split) {
        seek += windowFrames;
        continue;
      }
      const timed: TimedSegment[] = split.segments.map((k) => ({ ...k }));
      let wordEnd: number | undefined;
      if (words) {
        lastSpeechEnd = offset + assignWords(timed, words, tokenizer.eot, lastSpeechEnd - offset);
        wordEnd = lastWordEnd(timed);
      }
      for (const k of timed) {
        const seg = this.segment(loaded, segments.length, k, offset, totalSeconds, result);
        if (seg) segments.push(seg);
      }
      const partial = split.consumedFrames > 0 && split.consumedFrames < windowFrames;
      // with word timings, resume right after the last word rather than at its segment's timestamp (as OpenAI)
      if (partial && wordEnd !== undefined && wordEnd > 0) seek += Math.round(wordEnd * 100);
      else seek += split.consumedFrames > 0 ? split.consumedFrames : windowFrames;
      // Only the complete segments condition the next window: the unfinished tail is decoded again
      // there, and seeing it in the prompt makes the model skip it (OpenAI and faster-whisper do the
      // same). Text that made the model fall back to sampling is dropped so its errors don't feed forward.
      previous = condition && result.temperature < 0.5 ? [...previous, ...split.segments.flatMap((s) => s.tokens)] : [];
      options.onProgress?.(Math.min(seek / 100, totalSeconds), totalSeconds);
    }
    return segments;
  }

  async close(): Promise<void> {
    if (this.loading) {
      const loaded = await this.loading;
      await Promise.all([loaded.model.release(), loaded.vad.release(), loaded.mel.release()]);
    }
    this.loading = undefined;
  }
}

/**
 * 24 on CUDA (faster-whisper's A100-class figure; lower it for smaller GPUs). 1 on CPU, as measured
 * (npm run bench:longform, 2 cores): RTF does not rise from batch 1 to 16 (29-41) while peak RSS grows
 * from 370 MB to 1.7 GB; measure before raising it on many-core CPUs.
 */
function defaultBatchSize(runtime: RuntimeChoice): number {
  return runtime.device === 'cuda' ? 24 : 1;
}

/** Window-relative end of the last timed word, if any. */
function lastWordEnd(segments: TimedSegment[]): number | undefined {
  return segments.flatMap((k) => k.words ?? []).at(-1)?.end;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
