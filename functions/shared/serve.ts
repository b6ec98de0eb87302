// The launcher the images run: a plain node:http server around a function's listener (the same
// one functions-framework serves), and a drain on SIGTERM: /readyz turns 503, new requests get 503,
// accepted ones finish (up to the drain grace), then the process exits 0. functions-framework's
// own server cannot do the second (it exits at once), and it reads every body before the function
// runs, unbounded by our upload limits.
//   node dist/functions/shared/serve.js transcribe|router
import { createServer, STATUS_CODES } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { App } from './app.js';
import { errorBody, HttpError } from './http-errors.js';

/** What a function module exports for the launcher. */
export interface Servable {
  app: App;
  config: { port: number; drainGraceS: number };
  /** Let go of what the function holds beyond its requests (the router's discovery watch). */
  close?(): Promise<void>;
}

export async function serve(name: string, fn: Servable): Promise<void> {
  // no Host header is no reason for Node to answer a bare 400 of its own: nothing here routes by host
  const server = createServer({ requireHostHeader: false }, fn.app.listener);
  server.keepAliveTimeout = 65_000; // above typical load-balancer idle timeouts
  // uploads have their own idle and total bounds (shared/body.ts); Node's whole-request timeout
  // would answer them with a bare 408 of its own, not an OpenAI-shaped one
  server.requestTimeout = 0;
  // a request Node cannot even parse (broken framing, oversized headers) still gets a JSON answer
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const [status, code] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout'] : [400, 'malformed_request'];
    const body = JSON.stringify(errorBody(new HttpError(status, code, `the HTTP request could not be read (${err.code ?? err.message}); send a well-formed HTTP/1.1 request`)));
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  const host = process.env.HOST ?? '0.0.0.0';
  await new Promise<void>((done) => server.listen(fn.config.port, host, done));
  process.stderr.write(`audiodecode: ${name} listening on http://${host}:${fn.config.port}\n`);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`audiodecode: ${signal}: draining\n`);
    await fn.app.drain(fn.config.drainGraceS);
    await fn.close?.();
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

const targets: Record<string, string> = { transcribe: '../transcribe/index.js', router: '../router/index.js' };

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const target = process.argv[2] ?? 'transcribe';
  if (!targets[target]) throw new Error(`unknown target '${target}': one of ${Object.keys(targets).join(', ')}`);
  await serve(target, (await import(targets[target])) as Servable);
}
