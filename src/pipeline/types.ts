import type { ComputeType, Device } from '../model/runtime.js';
import type { Layout } from '../model/layouts.js';

export interface WhisperOptions {
  /** A model name (looked up in ../shared/models, then the cache) or a model directory. */
  model?: string;
  device?: Device;
  computeType?: ComputeType;
  /** Windows decoded together in batched mode; auto: 24 on CUDA, 1 on CPU (measured, see defaultBatchSize). */
  batchSize?: number;
  useBatchedInference?: boolean;
  /** onnxruntime intra-op threads; defaults to the available cores. */
  threads?: number;
  /** Force one file layout when a model directory holds both. */
  layout?: Layout;
  /** Called with the size of every batch the scheduler runs (metrics). */
  onBatch?: (size: number) => void;
  /** Called with the number of windows waiting for a batch whenever it changes. */
  onQueueDepth?: (windows: number) => void;
  /** Receives notices such as a CUDA fallback; default: stderr. */
  log?: (message: string) => void;
}

export interface TranscribeOptions {
  /** ISO-639-1 code of the spoken language; omitted: detected from the first window (multilingual models). */
  language?: string;
  task?: 'transcribe' | 'translate';
  /** Text that conditions the first window (OpenAI's `prompt`). */
  initialPrompt?: string;
  /** 0 for deterministic decoding with fallback; > 0 to sample from the first try. */
  temperature?: number;
  /** Beam search width at temperature 0 (1 = greedy, the default; 5 as faster-whisper and OpenAI's CLI). */
  beamSize?: number;
  conditionOnPreviousText?: boolean;
  /** Decode timestamp tokens (segments timed inside a window). Default: yes sequential; batched only when asked (formats that show segment times ask). */
  withTimestamps?: boolean;
  /** Time every word from the alignment heads' cross-attention (OpenAI's word_timestamps). */
  wordTimestamps?: boolean;
  /** Skip non-speech with Silero VAD before decoding (default true): no text hallucinated on silence. */
  vadFilter?: boolean;
  /** Detect the language of every window, for audio that switches language (faster-whisper's multilingual). */
  multilingual?: boolean;
  maxAudioSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (doneSeconds: number, totalSeconds: number) => void;
  /** Each segment as soon as it is final, in time order (for streaming answers). */
  onSegment?: (segment: Segment) => void;
}

export interface Word {
  word: string;
  start: number;
  end: number;
}

export interface Segment {
  id: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  /** The language the segment was decoded in (varies by window with `multilingual`). */
  language: string;
  avgLogprob: number;
  noSpeechProb: number;
  compressionRatio: number;
  temperature: number;
  /** With `wordTimestamps`: the segment's words, timed. */
  words?: Word[];
}

export interface Timings {
  decode: number;
  vad: number;
  features: number;
  encode: number;
  generate: number;
  total: number;
}

export interface TranscriptionResult {
  text: string;
  segments: Segment[];
  language: string;
  duration: number;
  timings: Timings;
  /** audio seconds per wall-clock second */
  rtf: number;
}
