// One model per process, loaded once at start; admission to inference, readiness and drain state.
import { hostname } from 'node:os';
import { ThreadedWhisperInference, type Segment, type TranscriptionResult } from '../../src/index.js';
import type { Admission } from '../shared/app.js';
import { HttpError } from '../shared/http-errors.js';
import { InFlight } from '../shared/in-flight.js';
import type { ServiceConfig } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';

export type ServiceState = 'loading' | 'ready' | 'failed';

export interface TranscribeRequest {
  language?: string;
  prompt?: string;
  temperature: number;
  task: 'transcribe' | 'translate';
  wordTimestamps: boolean;
  /** Segment times inside a window (true for formats that show them); undefined: the engine's default. */
  withTimestamps?: boolean;
  signal: AbortSignal;
  onSegment?: (segment: Segment) => void;
}

export class TranscriptionService implements Admission {
  /** On its own thread, so /healthz, /readyz, /metrics and new connections are answered while it computes. */
  readonly whisper: ThreadedWhisperInference;
  readonly metrics: Metrics;
  readonly instance = process.env.AUDIODECODE_INSTANCE ?? hostname();
  state: ServiceState = 'loading';
  failure?: string;
  private readonly admitted: InFlight;

  constructor(readonly config: ServiceConfig) {
    this.metrics = createMetrics(() => this.whisper.queuedWindows);
    this.admitted = new InFlight((n) => this.metrics.inFlight.set(n));
    this.whisper = new ThreadedWhisperInference({
      model: config.model,
      device: config.device,
      computeType: config.computeType,
      batchSize: config.batchSize,
      threads: config.threads,
      useBatchedInference: true,
      onBatch: (size) => this.metrics.batchSize.observe(size),
      onFailure: (error) => this.engineFailed(error.message),
    });
  }

  /** Load and warm the model; readiness turns on only after both. */
  async start(): Promise<void> {
    const started = performance.now();
    try {
      await this.whisper.warmup();
      this.metrics.modelLoadSeconds.set((performance.now() - started) / 1000);
      this.state = 'ready';
    } catch (err) {
      this.state = 'failed';
      this.failure = err instanceof Error ? err.message : String(err);
      process.stderr.write(`audiodecode: model failed to load: ${this.failure}\n`);
    }
  }

  /**
   * The engine's thread died (a native crash, out of memory): its requests were answered 503. An
   * instance without its model is of no use, so the process exits, a moment later to let those
   * answers go out, and Kubernetes starts a fresh one (the router retries elsewhere meanwhile).
   */
  private engineFailed(message: string): void {
    this.state = 'failed';
    this.failure = message;
    process.stderr.write(`audiodecode: ${message}; exiting\n`);
    setTimeout(() => process.exit(1), 1000);
  }

  /** Refuse at once, before any of the body is read. */
  precheck(): void {
    if (this.state === 'loading') throw new HttpError(503, 'loading', 'the model is still loading; retry shortly', null, { 'Retry-After': '5' });
    if (this.state === 'failed') throw new HttpError(503, 'model_unavailable', `the model failed to load: ${this.failure}`, null, { 'Retry-After': '30' });
    if (this.inFlight >= this.config.maxQueue) throw this.queueFull();
  }

  /** An inference slot, taken once the body is in. */
  acquire(): () => void {
    this.precheck();
    this.admitted.enter();
    let released = false;
    return () => {
      if (!released) this.admitted.leave();
      released = true;
    };
  }

  private queueFull(): HttpError {
    return new HttpError(429, 'queue_full', `the queue is full (${this.config.maxQueue} requests in flight); retry after a moment`, null, { 'Retry-After': '2' });
  }

  /** Requests admitted to inference and not yet answered. */
  get inFlight(): number {
    return this.admitted.count;
  }

  transcribe(audio: Uint8Array, options: TranscribeRequest): Promise<TranscriptionResult> {
    return this.whisper.transcribe(audio, {
      language: options.language,
      initialPrompt: options.prompt,
      temperature: options.temperature,
      beamSize: this.config.beamSize,
      task: options.task,
      wordTimestamps: options.wordTimestamps,
      withTimestamps: options.withTimestamps,
      maxAudioSeconds: this.config.maxAudioSeconds,
      signal: options.signal,
      onSegment: options.onSegment,
    });
  }
}
