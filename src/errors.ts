/** Typed errors the engine raises; adapters map `code` to their own statuses (one table each). */
export type AudioDecodeErrorCode =
  | 'empty_input'
  | 'invalid_audio'
  | 'no_audio_stream'
  | 'ffmpeg_missing'
  | 'audio_too_long'
  /** No room in TMPDIR for the decoded audio: the server's problem, not the input's. */
  | 'no_scratch_space'
  | 'model_not_found'
  /** A pulled model file whose digest is not the hub's: a transfer or mirror fault. */
  | 'model_checksum_mismatch'
  | 'cuda_unavailable'
  /** A language the model does not know, or not English on an English-only model. */
  | 'invalid_language'
  /** translate on an English-only model. */
  | 'unsupported_task'
  /** Word timestamps asked of a model whose decoder does not expose the alignment heads. */
  | 'word_timestamps_unavailable'
  | 'invalid_option'
  /** The engine's thread stopped (a native crash, out of memory): the server's problem; the instance restarts. */
  | 'engine_failed';

/**
 * The caller's input an error is about, in the engine's own terms: the audio, or the option of
 * TranscribeOptions / WhisperOptions that was wrong. Adapters translate it to their field names.
 */
export type AudioDecodeErrorParam = 'input' | 'language' | 'task' | 'wordTimestamps' | 'model' | 'device' | 'computeType';

export class AudioDecodeError extends Error {
  constructor(
    readonly code: AudioDecodeErrorCode,
    message: string,
    readonly param: AudioDecodeErrorParam | null = null,
  ) {
    super(message);
    this.name = 'AudioDecodeError';
  }
}
