// Router configuration from environment variables (the README's router table mirrors this).
import { envNumber as num } from '../shared/env-config.js';

export type PoolName = 'gpu' | 'cpu';
export const POOLS: PoolName[] = ['gpu', 'cpu'];

export interface RouterConfig {
  discovery: 'static' | 'kubernetes';
  /** static: comma-separated base URLs per pool */
  staticEndpoints: Record<PoolName, string[]>;
  /** kubernetes: namespace, the pools' Service names (EndpointSlices carry kubernetes.io/service-name) and port name */
  namespace: string;
  services: Record<PoolName, string>;
  portName: string;
  /** Outstanding requests per GPU endpoint above which the GPU pool counts as busy. */
  gpuBusyInFlight: number;
  /** Uploads at most this large are "short clips": they go to CPU when the GPU pool is busy. */
  shortClipBytes: number;
  maxUploadBytes: number;
  requestTimeoutS: number;
  /** Consecutive failures that open an endpoint's breaker, and how long it stays open. */
  breakerFailures: number;
  breakerCooldownS: number;
  drainGraceS: number;
  port: number;
}

function list(name: string): string[] {
  return (process.env[name] ?? '').split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
}

export function loadRouterConfig(): RouterConfig {
  const discovery = (process.env.ROUTER_DISCOVERY ?? 'static') as RouterConfig['discovery'];
  if (discovery !== 'static' && discovery !== 'kubernetes') throw new Error(`ROUTER_DISCOVERY=${discovery} must be static or kubernetes`);
  return {
    discovery,
    staticEndpoints: { gpu: list('ROUTER_GPU_ENDPOINTS'), cpu: list('ROUTER_CPU_ENDPOINTS') },
    namespace: process.env.ROUTER_NAMESPACE ?? process.env.POD_NAMESPACE ?? 'default',
    services: { gpu: process.env.ROUTER_GPU_SERVICE ?? 'audiodecode-gpu', cpu: process.env.ROUTER_CPU_SERVICE ?? 'audiodecode-cpu' },
    portName: process.env.ROUTER_PORT_NAME ?? 'http',
    gpuBusyInFlight: num('ROUTER_GPU_BUSY_IN_FLIGHT', 24),
    shortClipBytes: num('ROUTER_SHORT_CLIP_BYTES', 1_000_000),
    maxUploadBytes: num('AUDIODECODE_MAX_UPLOAD_BYTES', 26_214_400),
    requestTimeoutS: num('AUDIODECODE_REQUEST_TIMEOUT_S', 300),
    breakerFailures: num('ROUTER_BREAKER_FAILURES', 3),
    breakerCooldownS: num('ROUTER_BREAKER_COOLDOWN_S', 10),
    drainGraceS: num('AUDIODECODE_DRAIN_GRACE_S', 30),
    port: num('PORT', 8080),
  };
}
