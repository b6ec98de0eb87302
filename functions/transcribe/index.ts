// functions-framework entry point: `npx functions-framework --target=transcribe --source=dist/functions/transcribe/index.js`.
// Loading this module starts loading the model; /readyz answers 503 until it is loaded and warm.
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from './config.js';
import { admit, createHandler, isTranscriptionRoute } from './handler.js';
import { TranscriptionService } from './service.js';

export const service = new TranscriptionService(loadConfig());
void service.start();

http('transcribe', createHandler(service) as Parameters<typeof http>[1]);

/** What the launcher runs before functions-framework reads a body. */
export const guard = {
  needsAdmission: (method: string | undefined, path: string) => isTranscriptionRoute(method, path),
  admit: (req: Parameters<typeof admit>[1], res: Parameters<typeof admit>[2]) => admit(service, req, res),
  maxBodyBytes: service.config.maxUploadBytes,
  drain: () => service.drain(),
  port: service.config.port,
};
