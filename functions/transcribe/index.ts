// The transcription function. As a functions-framework function:
//   npx functions-framework --target=transcribe --source=dist/functions/transcribe/index.js
// and, as the images run it, through the launcher: node dist/functions/shared/serve.js transcribe.
// Loading this module starts loading the model; /readyz answers 503 until it is loaded and warm.
import { http } from '@google-cloud/functions-framework';
import { createApp } from '../shared/app.js';
import { loadConfig } from './config.js';
import { transcriptionRoutes } from './handler.js';
import { TranscriptionService } from './service.js';

export const service = new TranscriptionService(loadConfig());
void service.start();

export const app = createApp({
  metricPrefix: 'audiodecode',
  registry: service.metrics.registry,
  routes: transcriptionRoutes(service),
  admission: service,
  config: service.config,
  readiness: (draining) => ({
    ready: service.state === 'ready',
    body: { status: draining ? 'draining' : service.state, inFlight: service.inFlight, queuedWindows: service.whisper.queuedWindows, ...(service.failure ? { error: service.failure } : {}) },
  }),
  headers: () => ({ 'X-AudioDecode-Pool': service.config.pool, 'X-AudioDecode-Instance': service.instance, 'X-AudioDecode-In-Flight': String(service.inFlight) }),
});

http('transcribe', app.listener);
export const config = service.config;
/** After the drain (serve.ts): end the engine's thread between two model runs, then the process exits. */
export const close = (): Promise<void> => service.whisper.close();
