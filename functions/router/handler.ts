// The router's routes: the same OpenAI-compatible paths as an instance, forwarded to a pool. The
// body has been read and admitted by shared/app.ts; answers (streams included) pass through.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Admission, Route, RouteContext } from '../shared/app.js';
import { HttpError } from '../shared/http-errors.js';
import { InFlight } from '../shared/in-flight.js';
import { Balancer } from './balancer.js';
import { POOLS, type PoolName, type RouterConfig } from './config.js';
import type { EndpointSource } from './discovery.js';
import { createRouterMetrics } from './metrics.js';
import { poolOrder, preferredPool } from './policy.js';
import { forward } from './proxy.js';

const PATHS = ['/v1/audio/transcriptions', '/v1/audio/translations'];
const NOT_PASSED_BACK = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

export class Router implements Admission {
  readonly balancer: Balancer;
  readonly metrics;
  private readonly admitted: InFlight;

  constructor(
    readonly config: RouterConfig,
    readonly source: EndpointSource,
  ) {
    this.balancer = new Balancer(config.breakerFailures, config.breakerCooldownS * 1000);
    this.metrics = createRouterMetrics(this.balancer, source);
    this.admitted = new InFlight((n) => this.metrics.inFlight.set(n));
  }

  ready(): boolean {
    return POOLS.some((p) => this.source.ready(p).some((u) => this.balancer.available(u)));
  }

  readiness(draining: boolean): { ready: boolean; body: object } {
    const pools = Object.fromEntries(POOLS.map((p) => [p, this.source.ready(p).map((u) => ({ url: u, breaker: this.balancer.breaker(u), load: this.balancer.load(u) }))]));
    const ready = this.ready();
    return { ready, body: { status: draining ? 'draining' : ready ? 'ready' : 'no_endpoints', pools } };
  }

  precheck(): void {}

  acquire(): () => void {
    this.admitted.enter();
    let released = false;
    return () => {
      if (!released) this.admitted.leave();
      released = true;
    };
  }

  routes(): Route[] {
    return PATHS.map((path) => ({ path, handle: (ctx: RouteContext) => this.route(ctx) }));
  }

  private async route({ req, res, body, signal }: RouteContext): Promise<void> {
    const asked = req.headers['x-audiodecode-pool'];
    if (asked !== undefined && asked !== 'gpu' && asked !== 'cpu') throw new HttpError(400, 'invalid_pool', `X-AudioDecode-Pool '${asked}' must be 'gpu' or 'cpu'`);
    this.metrics.demand.inc({ pool: preferredPool(asked as PoolName | undefined) });
    const order = poolOrder(asked as PoolName | undefined, body.length, this.source, this.balancer, this.config);
    const deadline = AbortSignal.any([AbortSignal.timeout(this.config.requestTimeoutS * 1000), signal]);
    const { answer, error, attempts } = await forward(req, body, order, this.source, this.balancer, this.metrics, deadline, this.config.upstreamApiKey);
    if (!answer) {
      this.metrics.requests.inc({ pool: 'none', outcome: 'unavailable' });
      const timedOut = deadline.aborted && !signal.aborted;
      throw new HttpError(timedOut ? 504 : 503, timedOut ? 'timeout' : 'no_instance', `no transcription instance could take the request (${attempts} attempts; ${error}); retry later`, null, { 'Retry-After': '2' });
    }
    const { response } = answer;
    if (answer.pool !== order[0]) this.metrics.failovers.inc();
    this.metrics.requests.inc({ pool: answer.pool, outcome: response.status < 400 ? 'ok' : response.status < 500 ? 'client_error' : 'error' });
    const headers: Record<string, string> = {};
    response.headers.forEach((v, k) => {
      if (!NOT_PASSED_BACK.has(k)) headers[k] = v;
    });
    headers['x-audiodecode-pool'] = answer.pool;
    headers['x-audiodecode-instance'] = response.headers.get('x-audiodecode-instance') ?? new URL(answer.endpoint).host;
    headers['x-audiodecode-attempts'] = String(answer.attempts);
    res.writeHead(response.status, headers);
    try {
      if (response.body) await pipeline(Readable.fromWeb(response.body as WebReadableStream), res);
      else res.end();
      answer.finish(true);
    } catch {
      // the client or the instance went away mid-answer: nothing left to send
      answer.finish(signal.aborted); // the client leaving is no fault of the instance
      res.destroy();
    }
  }
}
