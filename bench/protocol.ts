// What the bench parent asks a worker process for, and what the worker answers (one JSON line).
// Workers exist per engine: worker-audiodecode.ts, worker-transformers.ts, worker_faster_whisper.py,
// worker_openai_whisper.py, worker_whisper_cpp.py.

export interface WorkerSpec {
  /** A model name: tiny.en or base (ONNX from the fixture; CTranslate2 for the faster-whisper workers). */
  model: string;
  /** The spoken language, given to every engine alike (multilingual models would detect it otherwise). */
  language?: string;
  /** int8 and float32 for every engine; whisper.cpp also float16 (its f16 file; its int8 is q8_0). */
  computeType: 'int8' | 'float32' | 'float16';
  threads: number;
  /** Timed runs per workload, after one warm-up run of it. */
  runs: number;
  beam: number;
  /** Batched inference: AudioDecode's VAD chunks through the window scheduler, faster-whisper's BatchedInferencePipeline. */
  batched?: boolean;
  batchSize?: number;
  /** Each workload is transcribed on its own; `concurrent` ones submit all their files at once. */
  workloads: { name: string; files: string[]; concurrent?: boolean }[];
}

export interface WorkerResult {
  name: string;
  audioSeconds: number;
  walls: number[];
  /** Wall seconds of the warm-up run (AudioDecode's worker; bench:hour times its one run by it). */
  warmWall?: number;
  /** The files' transcripts, in order, joined by a space. */
  text: string;
}

export interface WorkerOutput {
  /** Unix seconds when the model was ready (the parent measures cold start from its spawn). */
  readyAt: number;
  peakRssMb: number;
  results: WorkerResult[];
}
