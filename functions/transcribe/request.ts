// Reads an OpenAI-style transcription request: multipart form (busboy) or a raw audio body.
import busboy from 'busboy';
import { FORMATS, type Format } from '../../src/index.js';
import { HttpError } from '../shared/http-errors.js';

export type ResponseFormat = 'json' | 'text' | 'srt' | 'vtt' | 'verbose_json';
const RESPONSE_FORMATS: ResponseFormat[] = ['json', 'text', 'srt', 'vtt', 'verbose_json'];

export interface TranscriptionRequest {
  audio: Uint8Array;
  model?: string;
  language?: string;
  prompt?: string;
  responseFormat: ResponseFormat;
  temperature: number;
  granularities: string[];
  /** stream=true: segments as server-sent events as they are final (OpenAI's streaming transcription events). */
  stream: boolean;
}

/** The engine format that renders each OpenAI response_format. */
export function engineFormat(f: ResponseFormat): Format {
  const map: Record<ResponseFormat, Format> = { json: 'json', text: 'txt', srt: 'srt', vtt: 'vtt', verbose_json: 'verbose_json' };
  return FORMATS.includes(map[f]) ? map[f] : 'json';
}

/** Fields and the one `file` of a multipart/form-data body, or a 400 that says what is wrong with it. */
function parseMultipart(body: Buffer, headers: Record<string, string | string[] | undefined>): Promise<{ fields: Record<string, string[]>; file?: Buffer }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string[]> = {};
    const files: Buffer[] = [];
    let settled = false;
    const fail = (err: HttpError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const malformed = (err: Error): void => fail(new HttpError(400, 'invalid_multipart', `malformed multipart/form-data: ${err.message}; send a complete form with a 'file' field`, 'file'));
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: headers as busboy.BusboyConfig['headers'], limits: { files: 2, fields: 50, fieldSize: 64 * 1024 } });
    } catch (err) {
      malformed(err as Error);
      return;
    }
    parser.on('field', (name, value) => (fields[name] ??= []).push(value));
    parser.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', malformed); // a part cut short ("Unexpected end of form")
      stream.on('end', () => {
        if (name === 'file') files.push(Buffer.concat(chunks));
      });
    });
    parser.on('filesLimit', () => fail(new HttpError(400, 'multiple_files', "the form carries more than one file: send exactly one, in the field 'file'", 'file')));
    parser.on('error', malformed);
    parser.on('close', () => {
      if (settled) return;
      if (files.length > 1) return fail(new HttpError(400, 'multiple_files', "the form carries more than one 'file' field: send exactly one", 'file'));
      settled = true;
      resolve({ fields, file: files[0] });
    });
    parser.end(body);
  });
}

function one(fields: Record<string, string[]>, name: string): string | undefined {
  return fields[name]?.[fields[name].length - 1];
}

/**
 * `body` is the whole request body (already bounded in size); a multipart form with a `file`, or
 * the audio itself (Content-Type audio/*, video/* or application/octet-stream, fields in the query).
 */
export async function readTranscriptionRequest(body: Buffer, contentType: string, headers: Record<string, string | string[] | undefined>, query: URLSearchParams): Promise<TranscriptionRequest> {
  let fields: Record<string, string[]> = {};
  let audio: Buffer | undefined;
  if (contentType.startsWith('multipart/form-data')) {
    ({ fields, file: audio } = await parseMultipart(body, headers));
    if (!audio) throw new HttpError(400, 'missing_file', "no 'file' field in the form: send the audio as multipart field 'file'", 'file');
  } else if (contentType.startsWith('audio/') || contentType.startsWith('video/') || contentType === 'application/octet-stream') {
    audio = body;
    for (const [k, v] of query) (fields[k] ??= []).push(v);
  } else {
    throw new HttpError(415, 'unsupported_content_type', `Content-Type '${contentType || 'none'}' is not accepted: send multipart/form-data with a 'file' field, or the audio itself with Content-Type audio/*`);
  }
  if (!audio || audio.length === 0) throw new HttpError(400, 'empty_file', 'the uploaded file is empty (0 bytes)', 'file');

  const responseFormat = (one(fields, 'response_format') ?? 'json') as ResponseFormat;
  if (!RESPONSE_FORMATS.includes(responseFormat)) {
    throw new HttpError(400, 'invalid_response_format', `response_format '${responseFormat}' is not one of ${RESPONSE_FORMATS.join(', ')}`, 'response_format');
  }
  const temperatureRaw = one(fields, 'temperature');
  const temperature = temperatureRaw === undefined ? 0 : Number(temperatureRaw);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 1) {
    throw new HttpError(400, 'invalid_temperature', `temperature '${temperatureRaw}' must be a number between 0 and 1`, 'temperature');
  }
  const language = one(fields, 'language');
  if (language !== undefined && !/^[a-z]{2,3}$/.test(language)) {
    throw new HttpError(400, 'invalid_language', `language '${language}' is not an ISO-639-1 code such as 'en'`, 'language');
  }
  const granularities = [...(fields['timestamp_granularities[]'] ?? []), ...(fields['timestamp_granularities'] ?? [])];
  for (const g of granularities) {
    if (g !== 'segment' && g !== 'word') throw new HttpError(400, 'invalid_timestamp_granularities', `timestamp_granularities '${g}' must be 'segment' or 'word'`, 'timestamp_granularities[]');
  }
  if (granularities.length > 0 && responseFormat !== 'verbose_json') {
    throw new HttpError(400, 'invalid_timestamp_granularities', `timestamp_granularities need response_format=verbose_json, not '${responseFormat}'`, 'timestamp_granularities[]');
  }
  const streamRaw = one(fields, 'stream');
  if (streamRaw !== undefined && streamRaw !== 'true' && streamRaw !== 'false') {
    throw new HttpError(400, 'invalid_stream', `stream '${streamRaw}' must be true or false`, 'stream');
  }
  return { audio: new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength), model: one(fields, 'model'), language, prompt: one(fields, 'prompt'), responseFormat, temperature, granularities, stream: streamRaw === 'true' };
}
