// The HTTP adapter: routes, OpenAI request/response shapes, timeouts and disconnects.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { render, toVerboseJson } from '../../src/index.js';
import { HttpError, sendError, toHttpError } from '../shared/http-errors.js';
import { engineFormat, readTranscriptionRequest } from './request.js';
import type { TranscriptionService } from './service.js';

type Req = IncomingMessage & { rawBody?: Buffer; body?: unknown; path?: string; query?: Record<string, unknown> };

const admitted = new WeakSet<IncomingMessage>();

export function isTranscriptionRoute(method: string | undefined, path: string): boolean {
  return method === 'POST' && (path === '/v1/audio/transcriptions' || path === '/v1/audio/translations');
}

/**
 * Admission before the body is read (called by the launcher's guard, and by the handler itself
 * when served by a bare functions-framework): 503 loading/draining, 413 by Content-Length, 429.
 * The slot is released when the response closes, however it ends.
 */
export function admit(service: TranscriptionService, req: IncomingMessage, res: ServerResponse): void {
  if (admitted.has(req)) return;
  const length = req.headers['content-length'];
  if (Number(length ?? 0) > service.config.maxUploadBytes) {
    throw new HttpError(413, 'file_too_large', `the upload is ${length} bytes, over the limit of ${service.config.maxUploadBytes} bytes`, 'file', { Connection: 'close' });
  }
  service.admit();
  admitted.add(req);
  res.once('close', () => service.release());
}

function pathOf(req: Req): string {
  return req.path ?? new URL(req.url ?? '/', 'http://x').pathname;
}

export function createHandler(service: TranscriptionService) {
  const { metrics } = service;
  return async (req: Req, res: ServerResponse): Promise<void> => {
    const path = pathOf(req);
    res.setHeader('X-AudioDecode-Pool', service.config.pool);
    res.setHeader('X-AudioDecode-Instance', service.instance);
    res.setHeader('X-AudioDecode-In-Flight', String(service.inFlight));
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (req.method === 'GET' && path === '/readyz') {
      const ready = service.state === 'ready';
      res.writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json', 'X-AudioDecode-In-Flight': String(service.inFlight) });
      res.end(JSON.stringify({ status: service.state, inFlight: service.inFlight, queuedWindows: service.whisper.queuedWindows, ...(service.failure ? { error: service.failure } : {}) }));
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(await metrics.registry.metrics());
      return;
    }
    if (!isTranscriptionRoute(req.method, path)) {
      sendError(res, new HttpError(404, 'not_found', `no route ${req.method} ${path}: use POST /v1/audio/transcriptions or /v1/audio/translations`));
      return;
    }
    const started = performance.now();
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new HttpError(504, 'timeout', `the transcription took longer than ${service.config.requestTimeoutS} s and was cancelled`)), service.config.requestTimeoutS * 1000);
    res.once('close', () => {
      if (!res.writableEnded) controller.abort(new HttpError(499, 'client_closed', 'the client closed the connection'));
    });
    let status = 200;
    try {
      admit(service, req, res);
      const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
      const body = req.rawBody ?? (Buffer.isBuffer(req.body) ? req.body : undefined);
      const request = await readTranscriptionRequest(body, contentType, req.headers, req.query ?? {});
      const task = path.endsWith('translations') ? 'translate' : 'transcribe';
      const result = await Promise.race([
        service.transcribe(request.audio, { language: request.language, prompt: request.prompt, temperature: request.temperature, task, wordTimestamps: request.granularities.includes('word'), signal: controller.signal }),
        new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true })),
      ]);
      metrics.audioSeconds.inc(result.duration);
      metrics.rtf.observe(result.rtf);
      res.setHeader('X-AudioDecode-In-Flight', String(service.inFlight - 1)); // the others, for the router's balancing
      res.setHeader('X-AudioDecode-Audio-Seconds', result.duration.toFixed(3));
      res.setHeader('X-AudioDecode-RTF', result.rtf.toFixed(2));
      if (request.responseFormat === 'verbose_json') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(toVerboseJson(result, task, request.granularities)));
      } else if (request.responseFormat === 'json') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ text: result.text }));
      } else {
        const type = request.responseFormat === 'vtt' ? 'text/vtt' : 'text/plain';
        res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8` }).end(render(result, engineFormat(request.responseFormat)));
      }
    } catch (err) {
      const reason = controller.signal.aborted ? controller.signal.reason : err;
      const httpError = toHttpError(reason);
      status = httpError.status;
      if (status >= 500 && status !== 503 && status !== 504) process.stderr.write(`audiodecode: ${httpError.message}\n`);
      if (!res.writableEnded && !res.destroyed) sendError(res, httpError);
    } finally {
      clearTimeout(timeout);
      metrics.requests.inc({ status: String(status) });
      metrics.latency.observe({ status: String(status) }, (performance.now() - started) / 1000);
    }
  };
}
