// The one table from engine errors to HTTP answers, as units (no model, no server).
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AudioDecodeError, type AudioDecodeErrorCode } from '../src/index.js';
import { ENGINE_STATUS, HttpError, sendError, toHttpError } from '../functions/shared/http-errors.js';

const CLIENT_FAULTS: [AudioDecodeErrorCode, number][] = [
  ['empty_input', 400],
  ['invalid_audio', 415],
  ['no_audio_stream', 422],
  ['audio_too_long', 413],
  ['invalid_language', 400],
  ['unsupported_task', 400],
  ['word_timestamps_unavailable', 400],
  ['invalid_option', 400],
];
const SERVER_FAULTS: [AudioDecodeErrorCode, number][] = [
  ['ffmpeg_missing', 500],
  ['no_scratch_space', 503],
  ['model_not_found', 503],
  ['model_checksum_mismatch', 503],
  ['cuda_unavailable', 503],
  ['engine_failed', 503],
];

/** What sendError wrote: a stand-in for a ServerResponse that records status, headers and body. */
function captured(err: HttpError): { status: number; headers: Record<string, unknown>; body: { error: Record<string, unknown> } } {
  const out = { status: 0, headers: {} as Record<string, unknown>, body: '' };
  const res = {
    headersSent: false,
    writeHead(status: number, headers: Record<string, unknown>) {
      out.status = status;
      out.headers = headers;
      return this;
    },
    end(body: string) {
      out.body = body;
    },
  } as unknown as ServerResponse;
  sendError(res, err);
  return { ...out, body: JSON.parse(out.body) };
}

describe('engine errors over HTTP', () => {
  it.each(CLIENT_FAULTS)('%s is a %i in the OpenAI shape, of type invalid_request_error', (code, status) => {
    const answer = captured(toHttpError(new AudioDecodeError(code, 'what went wrong', 'input')));
    expect(answer.status).toBe(status);
    expect(answer.headers['Content-Type']).toBe('application/json');
    expect(answer.body.error).toEqual({ message: expect.stringMatching(/^what went wrong\./), type: 'invalid_request_error', param: 'file', code });
  });

  it.each(SERVER_FAULTS)("%s is this server's fault: %i, server_error, no param blamed on the request", (code, status) => {
    const answer = captured(toHttpError(new AudioDecodeError(code, 'the server cannot', 'model')));
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ type: 'server_error', param: null, code });
  });

  it('every engine code is classified here as the client\'s fault or the server\'s', () => {
    expect(Object.keys(ENGINE_STATUS).sort()).toEqual([...CLIENT_FAULTS, ...SERVER_FAULTS].map(([c]) => c).sort());
  });

  it("names the request field the engine's param comes from, without guessing from the code", () => {
    const field = (param: ConstructorParameters<typeof AudioDecodeError>[2]): string | null => toHttpError(new AudioDecodeError('invalid_option', 'x', param)).param;
    expect(field('language')).toBe('language');
    expect(field('input')).toBe('file');
    expect(field('wordTimestamps')).toBe('timestamp_granularities[]');
    expect(field('task')).toBeNull();
    expect(field(null)).toBeNull();
  });

  it('adds what to do where the client can act on it', () => {
    expect(toHttpError(new AudioDecodeError('invalid_audio', 'not audio', 'input')).message).toMatch(/Send audio ffmpeg can decode/);
    expect(toHttpError(new AudioDecodeError('audio_too_long', 'too long', 'input')).message).toMatch(/shorter files/);
  });

  it('anything else is a 500 internal_error with a JSON body', () => {
    const answer = captured(toHttpError(new TypeError('undefined is not a function')));
    expect(answer.status).toBe(500);
    expect(answer.body.error).toMatchObject({ type: 'server_error', code: 'internal_error' });
  });

  it('passes an HttpError through unchanged, with its headers', () => {
    const answer = captured(toHttpError(new HttpError(429, 'queue_full', 'the queue is full', null, { 'Retry-After': '2' })));
    expect(answer.status).toBe(429);
    expect(answer.headers['Retry-After']).toBe('2');
    expect(answer.body.error.type).toBe('rate_limit_error');
  });
});
