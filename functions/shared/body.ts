// Reading a request body with bounds: a size limit (413 as soon as it is passed; chunked uploads
// carry no length to check up front), an idle timeout (408 when no byte came for a while) and a
// deadline for the whole body (408), so a slow or stalled client holds its upload slot for a
// bounded time. Written by hand: it is a few lines over the stream, and the bounds and their
// OpenAI-shaped errors are the whole point.
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.js';

export interface BodyLimits {
  maxBytes: number;
  /** Longest pause between two chunks of the body. */
  idleTimeoutMs: number;
  /** Longest time for the whole body. */
  deadlineMs: number;
  /**
   * The body's stated length (Content-Length), reserved by the caller: read straight into one
   * buffer of that size. Without it (chunked), each chunk asks `take` for its bytes first.
   */
  statedBytes?: number;
  take?: (bytes: number) => boolean;
}

/** What a body may not grow past: the bytes this process may hold for bodies are taken. */
export function serverBusy(): HttpError {
  return new HttpError(503, 'server_busy', 'this instance holds as many uploads in memory as it may; retry after a moment', null, { 'Retry-After': '1' });
}

/** The client went away before its body was complete: there is no one to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before the request body was complete');
  }
}

/** A body functions-framework's parsers already read (`rawBody`, its public field), else the stream's. */
export function readBody(req: IncomingMessage & { rawBody?: Buffer }, limits: BodyLimits): Promise<Buffer> {
  if (Buffer.isBuffer(req.rawBody)) {
    if (req.rawBody.length > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
    return Promise.resolve(req.rawBody);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const whole = limits.statedBytes ? Buffer.allocUnsafe(limits.statedBytes) : undefined;
    let size = 0;
    let settled = false;
    const finish = (err: Error | null, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      clearTimeout(deadline);
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      if (err) {
        if (err instanceof HttpError && err.status === 413) drainBounded(req, limits);
        else req.resume(); // what still arrives is dropped unread, so the client can read our answer
        reject(err);
      } else resolve(body!);
    };
    const timeout = (what: string): HttpError =>
      new HttpError(408, 'upload_timeout', `${what}: send the upload without pausing, or split the audio into smaller files`, 'file', { Connection: 'close' });
    const idle = setTimeout(() => finish(timeout(`no data arrived for ${limits.idleTimeoutMs / 1000} s`)), limits.idleTimeoutMs);
    const deadline = setTimeout(() => finish(timeout(`the upload took longer than ${limits.deadlineMs / 1000} s`)), limits.deadlineMs);
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      // the HTTP parser holds a body to its stated length, so `whole` always has room
      if (whole) chunk.copy(whole, size);
      else if (limits.take && !limits.take(chunk.length)) return finish(serverBusy());
      else chunks.push(chunk);
      size += chunk.length;
      idle.refresh();
    };
    const onEnd = (): void => finish(null, whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', () => finish(new ClientGone()));
    req.on('close', () => {
      if (!req.complete) finish(new ClientGone());
    });
  });
}

// A client still sending when it is refused must get to read the refusal: closing the socket
// with its bytes unread makes the kernel send a reset, which throws away the answer waiting in
// the client's buffer (fetch fails with EPIPE). So the 413 keeps the connection, and the rest of
// the body is read and dropped; a client that sends more than another limit's worth, or keeps
// sending past the upload deadline, is cut off.
function drainBounded(req: IncomingMessage, limits: BodyLimits): void {
  let dropped = 0;
  const cutOff = (): void => {
    req.socket.destroy();
  };
  const deadline = setTimeout(cutOff, limits.idleTimeoutMs);
  deadline.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limits.maxBytes) cutOff();
    else deadline.refresh();
  });
  req.once('end', () => clearTimeout(deadline));
  req.once('close', () => clearTimeout(deadline));
  req.resume();
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'file_too_large', `the upload is over the limit of ${maxBytes} bytes`, 'file');
}
