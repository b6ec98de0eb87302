/** Typed errors the engine raises; adapters map `code` to HTTP statuses. */
export type AudioDecodeErrorCode =
  | 'empty_input'
  | 'invalid_audio'
  | 'no_audio_stream'
  | 'ffmpeg_missing'
  | 'audio_too_long'
  /** No room in TMPDIR for the decoded audio: the server's problem, not the input's. */
  | 'no_scratch_space'
  | 'model_not_found'
  | 'cuda_unavailable'
  | 'invalid_option';

export class AudioDecodeError extends Error {
  constructor(
    readonly code: AudioDecodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AudioDecodeError';
  }
}
