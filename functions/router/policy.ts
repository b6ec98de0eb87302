// Which pool first: a pool the client asked for; else GPU unless it has no available endpoint or
// is overloaded (every GPU endpoint at ROUTER_GPU_BUSY_IN_FLIGHT or more), in which case CPU;
// a short clip goes to CPU already when the GPU pool is half that busy. The other pool follows as failover.
import type { Balancer } from './balancer.js';
import type { PoolName, RouterConfig } from './config.js';
import type { EndpointSource } from './discovery.js';

/**
 * The pool a request is meant for when every pool is up: the one asked for, else GPU. Counted as
 * demand (audiodecode_router_pool_demand_total), so a pool scaled to zero, whose own pods report
 * nothing, still wakes when work for it arrives while the other pool takes it.
 */
export function preferredPool(requested: PoolName | undefined): PoolName {
  return requested ?? 'gpu';
}

export function poolOrder(requested: PoolName | undefined, bodyBytes: number, source: EndpointSource, balancer: Balancer, config: Pick<RouterConfig, 'gpuBusyInFlight' | 'shortClipBytes'>): PoolName[] {
  if (requested) return [requested];
  const gpu = source.ready('gpu').filter((u) => balancer.available(u));
  if (gpu.length === 0) return ['cpu', 'gpu'];
  const lightest = Math.min(...gpu.map((u) => balancer.load(u)));
  if (lightest >= config.gpuBusyInFlight) return ['cpu', 'gpu'];
  if (bodyBytes <= config.shortClipBytes && lightest >= Math.ceil(config.gpuBusyInFlight / 2) && source.ready('cpu').length > 0) return ['cpu', 'gpu'];
  return ['gpu', 'cpu'];
}
