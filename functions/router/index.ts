// functions-framework entry point for the router: `--target=router`.
import { http } from '@google-cloud/functions-framework';
import { loadRouterConfig } from './config.js';
import { KubernetesEndpoints, StaticEndpoints, type EndpointSource } from './discovery.js';
import { Router } from './handler.js';

const config = loadRouterConfig();
const source: EndpointSource = config.discovery === 'kubernetes' ? KubernetesEndpoints.fromEnvironment(config) : new StaticEndpoints(config.staticEndpoints);
export const router = new Router(config, source);
void source.start().catch((err: unknown) => process.stderr.write(`router: discovery failed to start: ${String(err)}\n`));

http('router', router.handler() as Parameters<typeof http>[1]);

export const guard = {
  needsAdmission: (method: string | undefined, path: string) => method === 'POST' && path.startsWith('/v1/audio/'),
  admit: (req: Parameters<Router['admit']>[0], res: Parameters<Router['admit']>[1]) => router.admit(req, res),
  maxBodyBytes: config.maxUploadBytes,
  drain: async () => {
    await router.drain();
    await source.stop();
  },
  port: config.port,
};
