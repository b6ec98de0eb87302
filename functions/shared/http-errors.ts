// Errors in OpenAI's shape, { error: { message, type, param, code } }, with their HTTP status.
import type { ServerResponse } from 'node:http';
import { AudioDecodeError, type AudioDecodeErrorCode } from '../../src/index.js';

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

const ENGINE_STATUS: Record<AudioDecodeErrorCode, number> = {
  empty_input: 400,
  invalid_audio: 415,
  no_audio_stream: 422,
  ffmpeg_missing: 500,
  audio_too_long: 413,
  no_scratch_space: 503,
  model_not_found: 503,
  cuda_unavailable: 503,
  invalid_option: 400,
};

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof AudioDecodeError) {
    const hint =
      err.code === 'invalid_audio' || err.code === 'no_audio_stream'
        ? ' Send audio ffmpeg can decode: flac, mp3, mp4, m4a, ogg, opus, wav or webm.'
        : err.code === 'audio_too_long'
          ? ' Split the audio into shorter files.'
          : '';
    const sentence = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
    return new HttpError(ENGINE_STATUS[err.code], err.code, sentence + hint, err.code === 'invalid_option' ? 'language' : 'file');
  }
  return new HttpError(500, 'internal_error', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message: err.message, type: errorType(err.status), param: err.param, code: err.code } });
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...err.headers });
  res.end(body);
}
