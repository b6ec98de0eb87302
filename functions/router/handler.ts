// The router's HTTP adapter: same OpenAI-compatible routes as an instance, forwarded to a pool.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendError } from '../shared/http-errors.js';
import { InFlight } from '../shared/in-flight.js';
import { Balancer } from './balancer.js';
import { POOLS, type PoolName, type RouterConfig } from './config.js';
import type { EndpointSource } from './discovery.js';
import { createRouterMetrics } from './metrics.js';
import { poolOrder } from './policy.js';
import { forward } from './proxy.js';

type Req = IncomingMessage & { rawBody?: Buffer; path?: string };

export class Router {
  readonly balancer: Balancer;
  readonly metrics;
  draining = false;
  private readonly admitted = new InFlight();

  constructor(
    readonly config: RouterConfig,
    readonly source: EndpointSource,
  ) {
    this.balancer = new Balancer(config.breakerFailures, config.breakerCooldownS * 1000);
    this.metrics = createRouterMetrics(this.balancer, source);
  }

  ready(): boolean {
    return POOLS.some((p) => this.source.ready(p).some((u) => this.balancer.available(u)));
  }

  admit(req: IncomingMessage, res: ServerResponse): void {
    if (this.draining) throw new HttpError(503, 'draining', 'the router is shutting down; retry', null, { 'Retry-After': '1' });
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > this.config.maxUploadBytes) {
      throw new HttpError(413, 'file_too_large', `the upload is ${length} bytes, over the limit of ${this.config.maxUploadBytes} bytes`, 'file', { Connection: 'close' });
    }
    this.admitted.enter();
    res.once('close', () => this.admitted.leave());
  }

  drain(): Promise<void> {
    this.draining = true;
    return this.admitted.drain(this.config.drainGraceS);
  }

  handler() {
    return async (req: Req, res: ServerResponse): Promise<void> => {
      const path = req.path ?? new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'GET' && path === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
        return;
      }
      if (req.method === 'GET' && path === '/readyz') {
        const pools = Object.fromEntries(POOLS.map((p) => [p, this.source.ready(p).map((u) => ({ url: u, breaker: this.balancer.breaker(u), load: this.balancer.load(u) }))]));
        const ready = this.ready() && !this.draining;
        res.writeHead(ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: this.draining ? 'draining' : ready ? 'ready' : 'no_endpoints', pools }));
        return;
      }
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType }).end(await this.metrics.registry.metrics());
        return;
      }
      if (req.method !== 'POST' || (path !== '/v1/audio/transcriptions' && path !== '/v1/audio/translations')) {
        sendError(res, new HttpError(404, 'not_found', `no route ${req.method} ${path}: use POST /v1/audio/transcriptions or /v1/audio/translations`));
        return;
      }
      const asked = req.headers['x-audiodecode-pool'];
      if (asked !== undefined && asked !== 'gpu' && asked !== 'cpu') {
        sendError(res, new HttpError(400, 'invalid_pool', `X-AudioDecode-Pool '${asked}' must be 'gpu' or 'cpu'`));
        return;
      }
      const body = req.rawBody ?? Buffer.alloc(0);
      const order = poolOrder(asked as PoolName | undefined, body.length, this.source, this.balancer, this.config);
      const deadline = AbortSignal.timeout(this.config.requestTimeoutS * 1000);
      const result = await forward(req, body, order, this.source, this.balancer, this.metrics, deadline);
      if ('error' in result && !result.last) {
        this.metrics.requests.inc({ pool: 'none', outcome: 'unavailable' });
        const status = deadline.aborted ? 504 : 503;
        sendError(res, new HttpError(status, deadline.aborted ? 'timeout' : 'no_instance', `no transcription instance could take the request (${result.attempts} attempts; ${result.error}); retry later`, null, { 'Retry-After': '2' }));
        return;
      }
      const answer = 'error' in result ? result.last! : result;
      if (answer.pool !== order[0]) this.metrics.failovers.inc();
      this.metrics.requests.inc({ pool: answer.pool, outcome: answer.status < 400 ? 'ok' : answer.status < 500 ? 'client_error' : 'error' });
      const headers: Record<string, string> = {};
      answer.headers.forEach((v, k) => {
        if (!['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date'].includes(k)) headers[k] = v;
      });
      headers['x-audiodecode-pool'] = answer.pool;
      headers['x-audiodecode-instance'] = answer.headers.get('x-audiodecode-instance') ?? new URL(answer.endpoint).host;
      headers['x-audiodecode-attempts'] = String(answer.attempts);
      res.writeHead(answer.status, headers).end(answer.body);
    };
  }
}
