// The engine's front door: audio in, timed text out. Loads the model once, then transcribes many;
// the long-audio strategies live in sequential.ts and batched.ts.
import pLimit from 'p-limit';
import { decodeToFile, SAMPLE_RATE, type AudioInput } from '../audio/ffmpeg.js';
import { MemoryAudio, type AudioSource } from '../audio/source.js';
import { AudioDecodeError } from '../errors.js';
import { decodeBatch } from '../decode/greedy.js';
import { CHUNK_FRAMES, CHUNK_SECONDS } from '../features/log-mel.js';
import { DEFAULT_MODEL } from '../model/resolve.js';
import { resolveRuntime, type RuntimeChoice } from '../model/runtime.js';
import { runWindows, transcribeBatched, type BatchScheduler, type WindowInput, type WindowOutput } from './batched.js';
import { checkOptions, loadEngine, releaseEngine, type Engine } from './engine.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { WindowScheduler } from './scheduler.js';
import { transcribeSequential } from './sequential.js';
import { BATCHED_VAD, DEFAULT_VAD, mergeRegions, SpeechTimeline } from './vad.js';
import type { Segment, Timings, TranscribeOptions, TranscriptionResult, WhisperOptions } from './types.js';

/** The language of a transcription that decoded no window at all (silence): nothing was heard to tell. */
const UNHEARD_LANGUAGE = 'en';

export class WhisperInference {
  private loading?: Promise<Engine>;
  private loaded = false;
  private batches = 0;
  /** Set once the model is loaded; the scheduler only runs after that (batched transcriptions await the load). */
  private runtime?: RuntimeChoice;
  /**
   * Concurrent sequential transcriptions take turns window by window (FIFO). onnxruntime-node runs
   * a session on the calling thread, so interleaving their windows bought no speed, while every
   * window in flight held its encoder output and cache: 20 concurrent short files peaked at 730 MB
   * interleaved (386 MB through the batched scheduler), at the same throughput.
   */
  private readonly oneWindowAtATime = pLimit(1);
  /** Windows of all concurrent batched transcriptions share batches through this queue. */
  private readonly scheduler: BatchScheduler = new WindowScheduler<WindowInput, WindowOutput>(
    async (inputs) => runWindows(await this.engine(), inputs, this.batches++),
    () => this.batchSize(this.runtime!),
    (size) => this.options.onBatch?.(size),
    (windows) => this.options.onQueueDepth?.(windows),
  );
  readonly options: Required<Pick<WhisperOptions, 'model' | 'device' | 'computeType' | 'useBatchedInference'>> & WhisperOptions;

  constructor(options: WhisperOptions = {}) {
    this.options = { model: DEFAULT_MODEL, device: 'auto', computeType: 'auto', useBatchedInference: false, ...options };
  }

  /** Load the model (once; later calls wait for the same load). */
  async load(): Promise<void> {
    await this.engine();
  }

  private engine(): Promise<Engine> {
    this.loading ??= this.open().then((engine) => ((this.loaded = true), engine));
    return this.loading;
  }

  private async open(): Promise<Engine> {
    const log = this.options.log ?? ((m: string) => process.stderr.write(`audiodecode: ${m}\n`));
    const runtime = resolveRuntime(this.options.device, this.options.computeType, this.options.threads);
    if (runtime.notice) log(runtime.notice);
    this.runtime = runtime;
    return loadEngine(this.options.model, runtime, this.options.layout);
  }

  /** Run the encoder and one decoder step once, so the first request does not pay for warm-up. */
  async warmup(): Promise<void> {
    const { model, tokenizer, filters } = await this.engine();
    const audio = await model.encode(new Float32Array(model.config.nMels * CHUNK_FRAMES), 1, CHUNK_FRAMES);
    const sot = tokenizer.sotSequence('en', 'transcribe');
    await decodeBatch(model, tokenizer, audio, [sot], { filters: filters.timed, temperature: 0, maxNewTokens: 2 });
    model.releaseAudio(audio);
  }

  /** What the engine runs on, once loaded. */
  async describe(): Promise<{ modelDir: string; layout: string; device: string; computeType: string; threads: number; batchSize: number; multilingual: boolean }> {
    const { model, runtime, modelDir, tokenizer } = await this.engine();
    return { modelDir, layout: model.layout, device: runtime.device, computeType: runtime.computeType, threads: runtime.threads, batchSize: this.batchSize(runtime), multilingual: tokenizer.multilingual };
  }

  batchSize(runtime: RuntimeChoice): number {
    return this.options.batchSize ?? defaultBatchSize(runtime);
  }

  /** Windows waiting for a batch, over all concurrent batched transcriptions (a queue-depth metric). */
  get queuedWindows(): number {
    return this.scheduler.queuedWindows;
  }

  transcribeFile(path: string, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    return this.transcribe(path, options);
  }

  /** A file path, encoded bytes (any format ffmpeg reads), or 16 kHz mono samples. */
  async transcribe(input: AudioInput | Float32Array, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    const resolved = resolveOptions(options, this.options.useBatchedInference);
    // A loaded engine checks the options before any work is spent on the audio. While the model is
    // still loading (onnxruntime holds the main thread for that), ffmpeg decodes beside it in its
    // own process: a first run (the CLI, a cold pod) does not wait for one and then the other.
    const early = this.loaded ? undefined : this.decodeInput(input, resolved);
    early?.catch(() => undefined); // its failure is reported below, once the load is done
    let engine: Engine;
    let language: string | undefined;
    try {
      engine = await this.engine();
      language = checkOptions(engine, resolved);
    } catch (err) {
      early?.then((audio) => audio.close(), () => undefined);
      throw err;
    }
    // from here: the model's load is not the transcription's time; an early decode counts for what it adds
    const started = performance.now();
    const timings: Timings = { decode: 0, vad: 0, features: 0, encode: 0, generate: 0, total: 0 };
    const audio = await (early ?? this.decodeInput(input, resolved));
    timings.decode = performance.now() - started;
    try {
      return await this.transcribeAudio(engine, audio, language, resolved, timings, started);
    } finally {
      audio.close();
    }
  }

  /** Decoded audio stays in its file, read window by window; a caller's float samples are used as they are. */
  private async decodeInput(input: AudioInput | Float32Array, options: ResolvedOptions): Promise<AudioSource> {
    return input instanceof Float32Array ? new MemoryAudio(input) : decodeToFile(input, { maxSeconds: options.maxAudioSeconds, signal: options.signal });
  }

  private async transcribeAudio(engine: Engine, samples: AudioSource, language: string | undefined, options: ResolvedOptions, timings: Timings, started: number): Promise<TranscriptionResult> {
    const duration = samples.length / SAMPLE_RATE;
    if (options.maxAudioSeconds !== undefined && duration > options.maxAudioSeconds) {
      throw new AudioDecodeError('audio_too_long', `the audio is ${duration.toFixed(1)} s, longer than the limit of ${options.maxAudioSeconds} s`, 'input');
    }
    const batched = this.options.useBatchedInference;
    // rounding to the millisecond must not carry a segment past the end of the audio
    const clamp = (s: Segment): void => {
      s.end = Math.min(s.end, duration);
      s.start = Math.min(s.start, s.end);
    };
    const callerOnSegment = options.onSegment;
    const clamped: ResolvedOptions = { ...options, onSegment: (s) => (clamp(s), callerOnSegment?.(s)) };
    const t = performance.now();
    const regions = options.vadFilter ? await engine.vad.speechRegions(samples, batched ? BATCHED_VAD : DEFAULT_VAD) : [{ start: 0, end: samples.length }];
    timings.vad = performance.now() - t;
    const decoded = batched
      ? await transcribeBatched(engine, this.scheduler, samples, mergeRegions(regions, CHUNK_SECONDS * SAMPLE_RATE), language, clamped, timings)
      : await transcribeSequential(engine, new SpeechTimeline(samples, regions), language, clamped, timings, this.oneWindowAtATime);
    const segments = decoded.segments;
    timings.total = performance.now() - started;
    const text = segments.map((s) => s.text).join('').trim();
    return { text, segments, language: decoded.language ?? UNHEARD_LANGUAGE, duration, timings, rtf: duration / (timings.total / 1000) };
  }

  async close(): Promise<void> {
    if (this.loading) await releaseEngine(await this.loading);
    this.loading = undefined;
    this.loaded = false;
  }
}

/**
 * 24 on CUDA (faster-whisper's A100-class figure; lower it for smaller GPUs). 1 on CPU, as measured
 * by npm run bench:longform on 2 cores (bench/results/longform.md): RTF does not rise with the
 * batch while peak RSS does; measure before raising it on many-core CPUs.
 */
function defaultBatchSize(runtime: RuntimeChoice): number {
  return runtime.device === 'cuda' ? 24 : 1;
}
