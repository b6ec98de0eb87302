// Settings the transcription function and the router share, read from the environment in one
// place (the README's tables mirror these).
import { defaultBufferedBytes } from './byte-budget.js';
import { ApiKeys } from './api-keys.js';
import { envNumber } from './env-config.js';

export interface ServerConfig {
  port: number;
  /** Largest upload accepted (OpenAI's 25 MiB by default). */
  maxUploadBytes: number;
  /** Uploads being received at once; more are refused with 429 before their body is read. */
  maxUploads: number;
  /** An upload that sends nothing for this long, or takes longer than uploadTimeoutS in all, gets 408. */
  uploadIdleTimeoutS: number;
  uploadTimeoutS: number;
  requestTimeoutS: number;
  drainGraceS: number;
  /** null: the API is open. */
  apiKeys: ApiKeys | null;
  /** Bytes of request bodies held in memory at once; an upload that would pass it gets 503 (functions/shared/byte-budget.ts). */
  maxBufferedBytes: number;
}

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const requestTimeoutS = envNumber('AUDIODECODE_REQUEST_TIMEOUT_S', 300, env);
  return {
    port: envNumber('PORT', 8080, env),
    maxUploadBytes: envNumber('AUDIODECODE_MAX_UPLOAD_BYTES', 26_214_400, env),
    maxUploads: envNumber('AUDIODECODE_MAX_UPLOADS', 512, env),
    maxBufferedBytes: envNumber('AUDIODECODE_MAX_BUFFERED_BYTES', defaultBufferedBytes(), env),
    uploadIdleTimeoutS: envNumber('AUDIODECODE_UPLOAD_IDLE_TIMEOUT_S', 30, env),
    uploadTimeoutS: envNumber('AUDIODECODE_UPLOAD_TIMEOUT_S', 300, env),
    requestTimeoutS,
    // a drain shorter than a request may run cuts the longest ones
    drainGraceS: envNumber('AUDIODECODE_DRAIN_GRACE_S', requestTimeoutS, env),
    apiKeys: ApiKeys.fromEnvironment(env),
  };
}
