// The HTTP front both functions share: health, readiness and metrics (never behind a body or a
// key), the route table, API keys, and admission in two stages. An upload holds an upload slot
// while its body arrives (bounded in count, size, pauses and time) and an inference slot only
// once it is complete, so slow clients cannot take the slots of the requests that are ready.
// Every answer it gives itself is OpenAI-shaped JSON.
//
// The same listener serves under functions-framework (`http(name, app.listener)`, where the
// framework has already read the body into `rawBody`) and under the launcher (serve.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ClientGone, readBody, serverBusy } from './body.js';
import { ByteBudget } from './byte-budget.js';
import { HttpError, sendError, toHttpError } from './http-errors.js';
import { InFlight } from './in-flight.js';
import type { ServerConfig } from './server-config.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  body: Buffer;
  /** Aborted when the client goes away before the answer is complete. */
  signal: AbortSignal;
}

export interface Route {
  path: string;
  /** Handles a POST whose body has been read and admitted; sends its own answer. */
  handle(ctx: RouteContext): Promise<void>;
}

export interface Admission {
  /** Refuse at once, before the body is read (loading, draining, queue already full): throws an HttpError. */
  precheck(): void;
  /** Take a slot once the body is in (throws an HttpError when none is left); returns its release. */
  acquire(): () => void;
}

export interface AppSpec {
  /** Prefix of the app's own metrics (audiodecode, audiodecode_router). */
  metricPrefix: string;
  registry: Registry;
  routes: Route[];
  admission: Admission;
  config: ServerConfig;
  /** /readyz: status 200 when ready, 503 otherwise, and a JSON body. */
  readiness(draining: boolean): { ready: boolean; body: object };
  /** Headers every answer carries (pool, instance). */
  headers?(): Record<string, string>;
}

export interface App {
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Refuse new requests, then resolve once every accepted one is answered (or after graceS). */
  drain(graceS: number): Promise<void>;
  readonly draining: boolean;
}

const ROUTES_HINT = 'use POST /v1/audio/transcriptions or /v1/audio/translations';

export function createApp(spec: AppSpec): App {
  const { config } = spec;
  const uploads = new InFlight((n) => uploading.set(n));
  const accepted = new InFlight();
  const uploading = new Gauge({ name: `${spec.metricPrefix}_uploads_in_progress`, help: 'Request bodies being received', registers: [spec.registry] });
  const buffered = new Gauge({ name: `${spec.metricPrefix}_buffered_bytes`, help: 'Bytes of request bodies held in memory', registers: [spec.registry] });
  const budget = new ByteBudget(config.maxBufferedBytes, (n) => buffered.set(n));
  const errors = new Counter({ name: `${spec.metricPrefix}_error_answers_total`, help: 'Answers that were OpenAI-shaped errors, by code', labelNames: ['code'], registers: [spec.registry] });
  let draining = false;

  const answer = (res: ServerResponse, status: number, body: object | string, type = 'application/json'): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) }).end(text);
  };
  const refuse = (res: ServerResponse, err: HttpError): void => {
    errors.inc({ code: err.code });
    sendError(res, err);
  };

  async function upload(route: Route, req: IncomingMessage & { rawBody?: Buffer }, res: ServerResponse, path: string): Promise<void> {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > config.maxUploadBytes) {
      throw new HttpError(413, 'file_too_large', `the upload is ${length} bytes, over the limit of ${config.maxUploadBytes} bytes`, 'file', { Connection: 'close' });
    }
    if (draining) throw new HttpError(503, 'draining', 'this instance is shutting down; retry on another instance', null, { 'Retry-After': '1' });
    spec.admission.precheck();
    if (uploads.count >= config.maxUploads) {
      throw new HttpError(429, 'too_many_uploads', `${config.maxUploads} uploads are being received already; retry after a moment`, null, { 'Retry-After': '2' });
    }
    accepted.enter();
    // one close listener, attached before anything is awaited: a client can be gone (and the
    // response closed) by the time its body has been read, and whatever it holds must come back
    const controller = new AbortController();
    const held: { release?: () => void } = {};
    let closed = false;
    let bufferedBytes = 0;
    const take = (n: number): boolean => {
      if (closed || !budget.take(n)) return false;
      bufferedBytes += n;
      return true;
    };
    const socket = req.socket;
    const gone = (): void => {
      if (closed) return;
      closed = true;
      socket?.off('close', gone);
      accepted.leave();
      held.release?.();
      budget.give(bufferedBytes);
      bufferedBytes = 0;
      if (!res.writableEnded) controller.abort(new HttpError(499, 'client_closed', 'the client closed the connection'));
    };
    res.once('close', gone);
    // a pipelined request's response waits for the one before it, and when the connection drops
    // meanwhile it never closes: the socket's close is the only sign that it is gone
    socket?.once('close', gone);
    // a stated length is reserved whole before a byte is read; a chunked body chunk by chunk
    if (length > 0 && !take(length)) throw serverBusy();
    uploads.enter();
    let body: Buffer;
    try {
      body = await readBody(req, {
        maxBytes: config.maxUploadBytes,
        idleTimeoutMs: config.uploadIdleTimeoutS * 1000,
        deadlineMs: config.uploadTimeoutS * 1000,
        statedBytes: length > 0 ? length : undefined,
        take,
      });
    } finally {
      uploads.leave();
    }
    if (closed) throw new ClientGone();
    held.release = spec.admission.acquire();
    await route.handle({ req, res, path, body, signal: controller.signal });
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    for (const [k, v] of Object.entries(spec.headers?.() ?? {})) res.setHeader(k, v);
    if (req.method === 'GET' && path === '/healthz') return answer(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      const { ready, body } = spec.readiness(draining);
      return answer(res, ready && !draining ? 200 : 503, body);
    }
    if (req.method === 'GET' && path === '/metrics') {
      void spec.registry.metrics().then((text) => answer(res, 200, text, spec.registry.contentType), (err: unknown) => sendError(res, toHttpError(err)));
      return;
    }
    const fail = (err: unknown): void => {
      if (err instanceof ClientGone) return; // nobody is left to answer
      const httpError = toHttpError(err);
      if (httpError.status >= 500 && httpError.status !== 503 && httpError.status !== 504) process.stderr.write(`audiodecode: ${httpError.message}\n`);
      if (!res.writableEnded && !res.destroyed) refuse(res, httpError);
      req.resume(); // a body we will not read is dropped, so the client can read the answer
    };
    if (path.startsWith('/v1/') && config.apiKeys && !config.apiKeys.allows(req.headers.authorization)) {
      return fail(new HttpError(401, 'invalid_api_key', 'missing or wrong API key: send it as Authorization: Bearer KEY (the openai SDK sends its apiKey so)', null, { 'WWW-Authenticate': 'Bearer' }));
    }
    const route = spec.routes.find((r) => r.path === path);
    if (!route) return fail(new HttpError(404, 'not_found', `no route ${req.method} ${path}: ${ROUTES_HINT}`));
    if (req.method !== 'POST') return fail(new HttpError(405, 'method_not_allowed', `${path} takes POST, not ${req.method}`, null, { Allow: 'POST' }));
    upload(route, req, res, path).catch(fail);
  };

  return {
    listener,
    get draining() {
      return draining;
    },
    async drain(graceS: number) {
      draining = true;
      await accepted.drain(graceS);
    },
  };
}
