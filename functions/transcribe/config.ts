// The function's configuration, from environment variables (the README's table mirrors this).
import { COMPUTE_TYPES, DEFAULT_MODEL, DEVICES, type ComputeType, type Device } from '../../src/index.js';
import { envChoice, envNumber, optionalEnvNumber } from '../shared/env-config.js';
import { loadServerConfig, type ServerConfig } from '../shared/server-config.js';

export interface ServiceConfig extends ServerConfig {
  model: string;
  device: Device;
  computeType: ComputeType;
  batchSize?: number;
  beamSize: number;
  threads?: number;
  /** Requests admitted to inference at once; more get 429. */
  maxQueue: number;
  maxAudioSeconds: number;
  /** Pool name this instance reports in X-AudioDecode-Pool (the router's GPU/CPU pools). */
  pool: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  return {
    ...loadServerConfig(env),
    model: env.AUDIODECODE_MODEL || DEFAULT_MODEL,
    device: envChoice('AUDIODECODE_DEVICE', DEVICES, 'auto', env),
    computeType: envChoice('AUDIODECODE_COMPUTE_TYPE', COMPUTE_TYPES, 'auto', env),
    batchSize: optionalEnvNumber('AUDIODECODE_BATCH_SIZE', env),
    beamSize: Math.max(1, envNumber('AUDIODECODE_BEAM_SIZE', 1, env)),
    threads: optionalEnvNumber('AUDIODECODE_THREADS', env),
    maxQueue: envNumber('AUDIODECODE_MAX_QUEUE', 64, env),
    maxAudioSeconds: envNumber('AUDIODECODE_MAX_AUDIO_SECONDS', 3600, env),
    pool: env.AUDIODECODE_POOL || 'default',
  };
}
