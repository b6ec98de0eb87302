// The transcription routes: an OpenAI request in, the engine's result out in the asked format, or
// as server-sent events with stream=true. The body has been read and admitted by shared/app.ts.
import { render, showsSegmentTimes, toVerboseJson } from '../../src/index.js';
import type { Route, RouteContext } from '../shared/app.js';
import { HttpError, toHttpError } from '../shared/http-errors.js';
import { TranscriptEvents } from './events.js';
import { engineFormat, readTranscriptionRequest } from './request.js';
import type { TranscriptionService } from './service.js';

export const TRANSCRIPTION_PATHS = ['/v1/audio/transcriptions', '/v1/audio/translations'] as const;

export function transcriptionRoutes(service: TranscriptionService): Route[] {
  return TRANSCRIPTION_PATHS.map((path) => ({ path, handle: (ctx: RouteContext) => transcribe(service, ctx) }));
}

async function transcribe(service: TranscriptionService, { req, res, path, body, signal }: RouteContext): Promise<void> {
  const { metrics, config } = service;
  const started = performance.now();
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(new HttpError(504, 'timeout', `the transcription took longer than ${config.requestTimeoutS} s and was cancelled`)), config.requestTimeoutS * 1000);
  signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true }); // the client went away
  let status = 200;
  let events: TranscriptEvents | undefined;
  try {
    const url = new URL(req.url ?? '/', 'http://x');
    const request = await readTranscriptionRequest(body, String(req.headers['content-type'] ?? '').toLowerCase(), req.headers, url.searchParams);
    const task = path.endsWith('translations') ? 'translate' : 'transcribe';
    if (request.stream) events = new TranscriptEvents(res);
    const result = await Promise.race([
      service.transcribe(request.audio, {
        language: request.language,
        prompt: request.prompt,
        temperature: request.temperature,
        task,
        wordTimestamps: request.granularities.includes('word'),
        // a stream's segment events and the timed formats show segment times: timestamp tokens for them
        withTimestamps: request.stream || showsSegmentTimes(engineFormat(request.responseFormat)) || undefined,
        signal: controller.signal,
        onSegment: events && ((s) => events!.segment(s)),
      }),
      new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })),
    ]);
    metrics.audioSeconds.inc(result.duration);
    metrics.rtf.observe(result.rtf);
    if (!res.headersSent) {
      // a stream's headers left with its first event; its done event carries duration and RTF
      res.setHeader('X-AudioDecode-In-Flight', String(service.inFlight - 1)); // the others, for the router's balancing
      res.setHeader('X-AudioDecode-Audio-Seconds', result.duration.toFixed(3));
      res.setHeader('X-AudioDecode-RTF', result.rtf.toFixed(2));
    }
    const verbose = toVerboseJson(result, task, request.granularities);
    if (events) events.done(result, verbose);
    else if (request.responseFormat === 'verbose_json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(verbose));
    } else if (request.responseFormat === 'json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ text: result.text }));
    } else {
      const type = request.responseFormat === 'vtt' ? 'text/vtt' : 'text/plain';
      res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8` }).end(render(result, engineFormat(request.responseFormat)));
    }
  } catch (err) {
    const httpError = toHttpError(controller.signal.aborted ? controller.signal.reason : err);
    status = httpError.status;
    // a stream that has begun ends with an error event; before that, an ordinary JSON error answers
    if (events?.open) {
      events.fail(httpError);
      return;
    }
    throw httpError;
  } finally {
    clearTimeout(timeout);
    metrics.requests.inc({ status: String(status) });
    metrics.latency.observe({ status: String(status) }, (performance.now() - started) / 1000);
  }
}
