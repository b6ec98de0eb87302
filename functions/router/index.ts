// The router. As a functions-framework function: `--target=router`; as the images run it:
// node dist/functions/shared/serve.js router (bounded uploads, drain on SIGTERM).
import { http } from '@google-cloud/functions-framework';
import { createApp } from '../shared/app.js';
import { loadRouterConfig } from './config.js';
import { KubernetesEndpoints, StaticEndpoints, type EndpointSource } from './discovery.js';
import { Router } from './handler.js';

export const config = loadRouterConfig();
const source: EndpointSource = config.discovery === 'kubernetes' ? KubernetesEndpoints.fromEnvironment(config) : new StaticEndpoints(config.staticEndpoints);
export const router = new Router(config, source);
void source.start().catch((err: unknown) => process.stderr.write(`router: discovery failed to start: ${String(err)}\n`));

export const app = createApp({
  metricPrefix: 'audiodecode_router',
  registry: router.metrics.registry,
  routes: router.routes(),
  admission: router,
  config,
  readiness: (draining) => router.readiness(draining),
});

http('router', app.listener);

export function close(): Promise<void> {
  return source.stop();
}
