// WhisperInference on a worker thread, for servers. onnxruntime-node runs each model synchronously
// on the thread that calls it (its run() is a setImmediate around a blocking native call), so on
// the main thread a batch of encoder windows holds the event loop for seconds: health probes time
// out, connections wait to be accepted, a SIGTERM waits. On its own thread the engine computes
// while the main thread keeps answering. The audio goes over as a copy (one upload's bytes), the
// result and the streamed segments come back as plain data.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AudioDecodeError, type AudioDecodeErrorCode, type AudioDecodeErrorParam } from '../errors.js';
import type { AudioInput } from '../audio/ffmpeg.js';
import type { Segment, TranscribeOptions, TranscriptionResult, WhisperOptions } from './types.js';

/** What crosses to the thread: every option but the callbacks and the signal, which stay here. */
export type ThreadTranscribeOptions = Omit<TranscribeOptions, 'signal' | 'onSegment' | 'onProgress'>;
export type ThreadWhisperOptions = Omit<WhisperOptions, 'onBatch' | 'onQueueDepth' | 'log'>;

export interface ThreadInit {
  options: ThreadWhisperOptions;
  /** One Int32: the windows waiting for a batch, written by the thread, read here without a message. */
  queueDepth: Int32Array;
}

export interface SerializedError {
  name: string;
  message: string;
  code?: AudioDecodeErrorCode;
  param?: AudioDecodeErrorParam | null;
}

export type ToThread =
  | { type: 'warmup'; id: number }
  | { type: 'transcribe'; id: number; input: AudioInput; options: ThreadTranscribeOptions; streams: boolean; reportsProgress: boolean }
  | { type: 'abort'; id: number }
  | { type: 'close' };

export type FromThread =
  | { type: 'done'; id: number; result?: TranscriptionResult }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'segment'; id: number; segment: Segment }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'batch'; size: number };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof AudioDecodeError) return { name: err.name, message: err.message, code: err.code, param: err.param };
  return { name: err instanceof Error ? err.name : 'Error', message: err instanceof Error ? err.message : String(err) };
}

function reviveError(e: SerializedError): Error {
  if (e.code) return new AudioDecodeError(e.code, e.message, e.param ?? null);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

interface Pending {
  resolve: (result: TranscriptionResult | undefined) => void;
  reject: (err: unknown) => void;
  onSegment?: (segment: Segment) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface ThreadedOptions extends ThreadWhisperOptions {
  onBatch?: (size: number) => void;
  /** The thread stopped without being closed; every request in flight has been failed with `error`. */
  onFailure?: (error: AudioDecodeError) => void;
}

/**
 * The thread's module beside this one: .js once built; .ts from source under tsx, whose loader a
 * worker does not inherit from `node --import tsx`, so the thread registers it before the import.
 */
function startThread(init: ThreadInit): Worker {
  const entry = new URL(`./inference-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: init });
  // tsx's ESM API by its own exports map (vitest's transform has no import.meta.resolve)
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(join(dirname(manifest), exports['./esm/api'].import.default)).href;
  const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init });
}

export class ThreadedWhisperInference {
  private readonly worker: Worker;
  private readonly queueDepth = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closing = false;
  private failure?: AudioDecodeError;

  constructor(private readonly options: ThreadedOptions = {}) {
    const threadOptions: ThreadWhisperOptions = { ...options };
    delete (threadOptions as ThreadedOptions).onBatch; // functions cannot cross to a thread
    delete (threadOptions as ThreadedOptions).onFailure;
    const init: ThreadInit = { options: threadOptions, queueDepth: this.queueDepth };
    this.worker = startThread(init);
    this.worker.on('message', (message: FromThread) => this.receive(message));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`it exited with code ${code}`)));
  }

  /** Windows waiting for a batch, over all concurrent transcriptions (a queue-depth metric). */
  get queuedWindows(): number {
    return Atomics.load(this.queueDepth, 0);
  }

  /** Load the model and run it once (WhisperInference.warmup, on the thread). */
  async warmup(): Promise<void> {
    await this.call({ type: 'warmup', id: this.nextId++ }, {});
  }

  async transcribe(input: AudioInput, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    const { signal, onSegment, onProgress, ...sendable } = options;
    signal?.throwIfAborted();
    const id = this.nextId++;
    const abort = (): void => {
      const pending = this.pending.get(id);
      if (!pending) return;
      this.pending.delete(id);
      pending.reject(signal!.reason);
      this.worker.postMessage({ type: 'abort', id } satisfies ToThread);
    };
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const message: ToThread = { type: 'transcribe', id, input, options: sendable, streams: onSegment !== undefined, reportsProgress: onProgress !== undefined };
      return (await this.call(message, { onSegment, onProgress }))!;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  private call(message: Extract<ToThread, { id: number }>, callbacks: Pick<Pending, 'onSegment' | 'onProgress'>): Promise<TranscriptionResult | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject, ...callbacks });
      this.worker.postMessage(message);
    });
  }

  private receive(message: FromThread): void {
    if (message.type === 'batch') return this.options.onBatch?.(message.size);
    const pending = this.pending.get(message.id);
    if (!pending) return; // aborted here already
    if (message.type === 'segment') pending.onSegment?.(message.segment);
    else if (message.type === 'progress') pending.onProgress?.(message.done, message.total);
    else {
      this.pending.delete(message.id);
      if (message.type === 'done') pending.resolve(message.result);
      else pending.reject(reviveError(message.error));
    }
  }

  private fail(cause: Error): void {
    if (this.closing || this.failure) return;
    this.options.onFailure?.(this.failAll(`the inference thread stopped (${cause.message}); retry on another instance`));
  }

  /** From now on every request, in flight or later, fails with engine_failed (a 503 to retry elsewhere). */
  private failAll(message: string): AudioDecodeError {
    this.failure = new AudioDecodeError('engine_failed', message);
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
    return this.failure;
  }

  /**
   * Release the model and end the thread, between two model runs. Requests still in flight (a drain
   * whose grace ran out) fail with engine_failed, a 503 that a router retries elsewhere: an answer,
   * where an exit with the thread inside a run would cut their connections (and can abort the process:
   * onnxruntime-node's binding throws a C++ error when its thread is torn down mid-run).
   */
  async close(): Promise<void> {
    if (this.closing || this.failure) return; // a thread that stopped already has no exit left to wait for
    this.closing = true;
    const exited = new Promise((done) => this.worker.once('exit', done));
    this.worker.postMessage({ type: 'close' } satisfies ToThread);
    await exited;
    this.failAll('this instance shut down before the transcription finished; retry on another instance');
  }
}
