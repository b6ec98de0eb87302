// Forward one buffered request to the pools in order, retrying on another instance (then the
// other pool) on a connection error, 5xx unavailability or 429, until the deadline. The answer
// that is kept comes back with its body unread, so a stream (stream=true) passes through as it comes.
import type { IncomingMessage } from 'node:http';
import type { Balancer } from './balancer.js';
import type { PoolName } from './config.js';
import type { EndpointSource } from './discovery.js';
import type { RouterMetrics } from './metrics.js';

/** Not forwarded: hop-by-hop headers, and the client's key (the router sends its own). */
const NOT_FORWARDED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'expect', 'upgrade', 'authorization']);

export interface Upstream {
  response: Response;
  pool: PoolName;
  endpoint: string;
  attempts: number;
  /** Called once the answer's body has been passed on (or abandoned): the endpoint's load and latency. */
  finish(ok: boolean): void;
}

/** Statuses that say "not this instance, try another" (429: busy; 502/503: unavailable or draining). */
function retryable(status: number): boolean {
  return status === 429 || status === 502 || status === 503;
}

export interface Forwarded {
  answer?: Upstream;
  /** Why no instance answered, when none did. */
  error?: string;
  attempts: number;
}

export async function forward(req: IncomingMessage, body: Buffer, pools: PoolName[], source: EndpointSource, balancer: Balancer, metrics: RouterMetrics, signal: AbortSignal, upstreamKey?: string): Promise<Forwarded> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !NOT_FORWARDED.has(k)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  if (upstreamKey) headers.set('authorization', `Bearer ${upstreamKey}`);
  let attempts = 0;
  let last: Upstream | undefined;
  let lastError = 'no ready endpoint in any pool';
  for (const pool of pools) {
    const tried = new Set<string>();
    for (let url = balancer.pick(source.ready(pool), tried); url; url = balancer.pick(source.ready(pool), tried)) {
      if (signal.aborted) break;
      tried.add(url);
      if (attempts++ > 0) metrics.retries.inc();
      balancer.begin(url);
      const started = performance.now();
      try {
        // the body goes out as a one-chunk stream with its length stated: fetch copies a buffer
        // body whole (one more copy of every upload held), a stream it sends as it is
        headers.set('content-length', String(body.byteLength));
        const response = await fetch(url + (req.url ?? '/'), { method: req.method, headers, body: oneChunk(body), signal, duplex: 'half' } as unknown as RequestInit);
        const reported = Number(response.headers.get('x-audiodecode-in-flight') ?? NaN);
        const status = response.status;
        let finished = false;
        const finish = (ok: boolean): void => {
          if (finished) return;
          finished = true;
          metrics.upstream.observe({ pool, status: String(status) }, (performance.now() - started) / 1000);
          // 429 means busy, not broken: retry elsewhere without counting against the breaker
          balancer.end(url, ok && (status < 500 || status === 504), reported);
        };
        const answer: Upstream = { response, pool, endpoint: url, attempts, finish };
        if (!retryable(status)) return { answer, attempts };
        // a refusal is small: read it, so the connection is free, and keep it in case no one else answers
        const refusal = Buffer.from(await response.arrayBuffer());
        finish(true);
        last = { ...answer, response: new Response(refusal, { status, headers: response.headers }) };
        lastError = `${url} answered ${status}`;
      } catch (err) {
        balancer.end(url, false);
        lastError = `${url}: ${(err as Error).cause ?? (err as Error).message}`;
        if (signal.aborted) break;
      }
    }
  }
  if (signal.aborted) lastError = 'deadline passed';
  return { answer: last, error: lastError, attempts };
}

async function* oneChunk(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}
