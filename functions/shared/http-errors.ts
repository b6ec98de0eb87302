// Errors in OpenAI's shape, { error: { message, type, param, code } }, with their HTTP status.
import type { ServerResponse } from 'node:http';
import { AudioDecodeError, type AudioDecodeErrorCode, type AudioDecodeErrorParam } from '../../src/index.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The status of each engine error: 4xx where the request was at fault, 5xx where this server is. */
export const ENGINE_STATUS: Record<AudioDecodeErrorCode, number> = {
  empty_input: 400,
  invalid_audio: 415,
  no_audio_stream: 422,
  audio_too_long: 413,
  invalid_language: 400,
  unsupported_task: 400,
  word_timestamps_unavailable: 400,
  invalid_option: 400,
  ffmpeg_missing: 500,
  no_scratch_space: 503,
  model_not_found: 503,
  model_checksum_mismatch: 503,
  cuda_unavailable: 503,
  engine_failed: 503,
};

/** The request field (OpenAI's name) of each engine input; null where no field of the request chose it. */
const REQUEST_FIELD: Record<AudioDecodeErrorParam, string | null> = {
  input: 'file',
  language: 'language',
  wordTimestamps: 'timestamp_granularities[]',
  task: null, // the route chose it (translations)
  model: null, // the instance serves its one model; `model` in a request is accepted and not used
  device: null,
  computeType: null,
};

/** What a client can do about each engine error, appended to its message. */
const ENGINE_HINT: Partial<Record<AudioDecodeErrorCode, string>> = {
  invalid_audio: 'Send audio ffmpeg can decode: flac, mp3, mp4, m4a, ogg, opus, wav or webm.',
  no_audio_stream: 'Send a file with an audio track.',
  audio_too_long: 'Split the audio into shorter files.',
};

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AudioDecodeError) {
    const status = ENGINE_STATUS[err.code];
    const sentence = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
    const hint = ENGINE_HINT[err.code];
    const param = status < 500 && err.param ? REQUEST_FIELD[err.param] : null;
    return new HttpError(status, err.code, hint ? `${sentence} ${hint}` : sentence, param);
  }
  return new HttpError(500, 'internal_error', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** OpenAI's error body. */
export function errorBody(err: HttpError): { error: { message: string; type: string; param: string | null; code: string } } {
  return { error: { message: err.message, type: errorType(err.status), param: err.param, code: err.code } };
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(err));
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...err.headers });
  res.end(body);
}
