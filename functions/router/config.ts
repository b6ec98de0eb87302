// Router configuration from environment variables (the README's router table mirrors this).
import { envChoice, envNumber as num } from '../shared/env-config.js';
import { loadServerConfig, type ServerConfig } from '../shared/server-config.js';

export type PoolName = 'gpu' | 'cpu';
export const POOLS: PoolName[] = ['gpu', 'cpu'];

export interface RouterConfig extends ServerConfig {
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
  /** Consecutive failures that open an endpoint's breaker, and how long it stays open. */
  breakerFailures: number;
  breakerCooldownS: number;
  /** The key the router sends to the pools (their AUDIODECODE_API_KEYS), whatever key the client sent. */
  upstreamApiKey?: string;
}

function list(name: string, env: NodeJS.ProcessEnv): string[] {
  return (env[name] ?? '').split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean);
}

export function loadRouterConfig(env: NodeJS.ProcessEnv = process.env): RouterConfig {
  return {
    ...loadServerConfig(env),
    discovery: envChoice('ROUTER_DISCOVERY', ['static', 'kubernetes'] as const, 'static', env),
    staticEndpoints: { gpu: list('ROUTER_GPU_ENDPOINTS', env), cpu: list('ROUTER_CPU_ENDPOINTS', env) },
    namespace: env.ROUTER_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
    services: { gpu: env.ROUTER_GPU_SERVICE ?? 'audiodecode-gpu', cpu: env.ROUTER_CPU_SERVICE ?? 'audiodecode-cpu' },
    portName: env.ROUTER_PORT_NAME ?? 'http',
    gpuBusyInFlight: num('ROUTER_GPU_BUSY_IN_FLIGHT', 24, env),
    shortClipBytes: num('ROUTER_SHORT_CLIP_BYTES', 1_000_000, env),
    breakerFailures: num('ROUTER_BREAKER_FAILURES', 3, env),
    breakerCooldownS: num('ROUTER_BREAKER_COOLDOWN_S', 10, env),
    upstreamApiKey: env.ROUTER_UPSTREAM_API_KEY || undefined,
  };
}
