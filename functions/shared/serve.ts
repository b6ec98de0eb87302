// Launcher: serves a registered functions-framework function behind an admission guard, and
// drains on SIGTERM. Two things the bare `functions-framework` CLI cannot do: it reads every
// request body into memory before the function runs (so an oversized upload could not be
// refused early), and it exits at once on SIGTERM (so in-flight requests would be lost).
//   node dist/functions/shared/serve.js transcribe|router
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { HttpError, sendError, toHttpError } from './http-errors.js';

export interface Guard {
  needsAdmission(method: string | undefined, path: string): boolean;
  /** Largest request body accepted on admitted routes. */
  maxBodyBytes: number;
  admit(req: IncomingMessage, res: ServerResponse): void;
  drain(): Promise<void>;
  port: number;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type ParsedRequest = IncomingMessage & { rawBody?: Buffer; body?: unknown; _body?: boolean };

/**
 * Read the body up to `limit` bytes, or answer 413 the moment it grows past it (chunked uploads
 * carry no length to check up front); past the limit nothing more is kept. The buffer is handed on as body-parser's already-parsed
 * body (`_body`), so functions-framework does not read it a second time.
 */
function readBounded(req: ParsedRequest, res: ServerResponse, limit: number, then: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on('data', (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > limit) {
      refused = true;
      chunks.length = 0;
      // answer now; the rest still flows in and is dropped, so the client can read the answer
      sendError(res, new HttpError(413, 'file_too_large', `the upload is over the limit of ${limit} bytes`, 'file'));
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (refused) return;
    req.rawBody = Buffer.concat(chunks, size);
    req.body = req.rawBody;
    req._body = true;
    then();
  });
  req.on('error', () => undefined); // a client gone mid-upload: the response's close releases its slot
}

export async function serve(target: string, guard: Guard): Promise<void> {
  // functions-framework's own express app (its parsers, execution context, error handling)
  const app = getTestServer(target).listeners('request')[0] as Listener;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (guard.needsAdmission(req.method, path)) {
      try {
        guard.admit(req, res);
      } catch (err) {
        sendError(res, toHttpError(err));
        req.resume(); // discard the body we refused, without buffering it
        return;
      }
      readBounded(req, res, guard.maxBodyBytes, () => app(req, res));
      return;
    }
    app(req, res);
  });
  server.keepAliveTimeout = 65_000; // above typical load-balancer idle timeouts
  const host = process.env.HOST ?? '0.0.0.0';
  await new Promise<void>((resolve) => server.listen(guard.port, host, resolve));
  process.stderr.write(`audiodecode: ${target} listening on http://${host}:${guard.port}\n`);
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`audiodecode: ${signal}: draining\n`);
    await guard.drain();
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
  const mod = (await import(targets[target])) as { guard: Guard };
  await serve(target, mod.guard);
}
