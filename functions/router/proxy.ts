// Forward one buffered request to the pools in order, retrying on another instance (then the
// other pool) on a connection error, 5xx unavailability or 429, until the deadline.
import type { IncomingMessage } from 'node:http';
import type { Balancer } from './balancer.js';
import type { PoolName } from './config.js';
import type { EndpointSource } from './discovery.js';
import type { RouterMetrics } from './metrics.js';

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'expect', 'upgrade']);

export interface Upstream {
  status: number;
  headers: Headers;
  body: Buffer;
  pool: PoolName;
  endpoint: string;
  attempts: number;
}

/** Statuses that say "not this instance, try another" (429: busy; 502/503: unavailable or draining). */
function retryable(status: number): boolean {
  return status === 429 || status === 502 || status === 503;
}

export async function forward(req: IncomingMessage, body: Buffer, pools: PoolName[], source: EndpointSource, balancer: Balancer, metrics: RouterMetrics, signal: AbortSignal): Promise<Upstream | { error: string; attempts: number; last?: Upstream }> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  let attempts = 0;
  let last: Upstream | undefined;
  let lastError = 'no ready endpoint in any pool';
  for (const pool of pools) {
    const tried = new Set<string>();
    for (let url = balancer.pick(source.ready(pool), tried); url; url = balancer.pick(source.ready(pool), tried)) {
      if (signal.aborted) return { error: 'deadline passed', attempts, last };
      tried.add(url);
      if (attempts++ > 0) metrics.retries.inc();
      balancer.begin(url);
      const started = performance.now();
      try {
        const res = await fetch(url + (req.url ?? "/"), { method: req.method, headers, body: new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength), signal });
        const payload = Buffer.from(await res.arrayBuffer());
        const reported = Number(res.headers.get('x-audiodecode-in-flight') ?? NaN);
        metrics.upstream.observe({ pool, status: String(res.status) }, (performance.now() - started) / 1000);
        // 429 means busy, not broken: retry elsewhere without counting against the breaker
        balancer.end(url, res.status < 500 || res.status === 504, reported);
        const answer: Upstream = { status: res.status, headers: res.headers, body: payload, pool, endpoint: url, attempts };
        if (!retryable(res.status)) return answer;
        last = answer;
        lastError = `${url} answered ${res.status}`;
      } catch (err) {
        balancer.end(url, false);
        lastError = `${url}: ${(err as Error).cause ?? (err as Error).message}`;
        if (signal.aborted) return { error: 'deadline passed', attempts, last };
      }
    }
  }
  return { error: lastError, attempts, last };
}
