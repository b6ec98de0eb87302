import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Balancer } from './balancer.js';
import { POOLS } from './config.js';
import type { EndpointSource } from './discovery.js';

const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

export function createRouterMetrics(balancer: Balancer, source: EndpointSource) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    requests: new Counter({ name: 'audiodecode_router_requests_total', help: 'Requests by the pool that answered and outcome', labelNames: ['pool', 'outcome'], registers: [registry] }),
    demand: new Counter({ name: 'audiodecode_router_pool_demand_total', help: 'Requests received, by the pool they are meant for when every pool is up (the wake-up signal of a pool scaled to zero)', labelNames: ['pool'], registers: [registry] }),
    inFlight: new Gauge({ name: 'audiodecode_router_in_flight_requests', help: 'Requests received and not yet answered', registers: [registry] }),
    retries: new Counter({ name: 'audiodecode_router_retries_total', help: 'Upstream attempts after the first', registers: [registry] }),
    failovers: new Counter({ name: 'audiodecode_router_failovers_total', help: 'Requests answered by another pool than the first choice', registers: [registry] }),
    upstream: new Histogram({ name: 'audiodecode_router_upstream_seconds', help: 'Upstream latency by pool and status', labelNames: ['pool', 'status'], buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300], registers: [registry] }),
    breaker: new Gauge({
      name: 'audiodecode_router_breaker_state',
      help: 'Circuit breaker per endpoint: 0 closed, 1 half-open, 2 open',
      labelNames: ['endpoint'],
      registers: [registry],
      collect() {
        for (const url of balancer.known()) this.set({ endpoint: url }, BREAKER_VALUE[balancer.breaker(url)]);
      },
    }),
    readyEndpoints: new Gauge({
      name: 'audiodecode_router_ready_endpoints',
      help: 'Ready endpoints per pool, as discovered',
      labelNames: ['pool'],
      registers: [registry],
      collect() {
        for (const pool of POOLS) this.set({ pool }, source.ready(pool).length);
      },
    }),
  };
  // every pool's demand series exists from the start at 0: Prometheus' increase() cannot see the
  // first request of a series that appears already at 1, and that request is the one that wakes a pool
  for (const pool of POOLS) metrics.demand.inc({ pool }, 0);
  return metrics;
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;
