export { WhisperInference } from './pipeline/whisper-inference.js';
export type { WhisperOptions, TranscribeOptions, TranscriptionResult, Segment, Timings } from './pipeline/types.js';
export { decodeAudio, findFfmpeg, SAMPLE_RATE } from './audio/ffmpeg.js';
export { LogMelExtractor } from './features/log-mel.js';
export { AudioDecodeError, type AudioDecodeErrorCode, type AudioDecodeErrorParam } from './errors.js';
export { render, toVerboseJson, showsSegmentTimes, FORMATS, type Format } from './formats/index.js';
export { wordErrorRate, normalizeText } from './text/wer.js';
export { COMPUTE_TYPES, cudaAvailable, DEVICES, type ComputeType, type Device } from './model/runtime.js';
export { DEFAULT_MODEL } from './model/resolve.js';
