// The function's configuration, from environment variables (the README's table mirrors this).
import { DEFAULT_MODEL, type ComputeType, type Device } from '../../src/index.js';
import { envNumber as int, optionalEnvNumber as optionalInt } from '../shared/env-config.js';

export interface ServiceConfig {
  model: string;
  device: Device;
  computeType: ComputeType;
  batchSize?: number;
  beamSize: number;
  threads?: number;
  maxQueue: number;
  maxUploadBytes: number;
  maxAudioSeconds: number;
  requestTimeoutS: number;
  drainGraceS: number;
  port: number;
  /** Pool name this instance reports in X-AudioDecode-Pool (the router's GPU/CPU pools). */
  pool: string;
}

function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const raw = (process.env[name] ?? fallback) as T;
  if (!allowed.includes(raw)) throw new Error(`${name}=${raw} must be one of ${allowed.join(', ')}`);
  return raw;
}

export function loadConfig(): ServiceConfig {
  return {
    model: process.env.AUDIODECODE_MODEL ?? DEFAULT_MODEL,
    device: oneOf('AUDIODECODE_DEVICE', ['auto', 'cpu', 'cuda'] as const, 'auto'),
    computeType: oneOf('AUDIODECODE_COMPUTE_TYPE', ['auto', 'float32', 'float16', 'int8'] as const, 'auto'),
    batchSize: optionalInt('AUDIODECODE_BATCH_SIZE'),
    beamSize: Math.max(1, int('AUDIODECODE_BEAM_SIZE', 1)),
    threads: optionalInt('AUDIODECODE_THREADS'),
    maxQueue: int('AUDIODECODE_MAX_QUEUE', 64),
    maxUploadBytes: int('AUDIODECODE_MAX_UPLOAD_BYTES', 26_214_400),
    maxAudioSeconds: int('AUDIODECODE_MAX_AUDIO_SECONDS', 3600),
    requestTimeoutS: int('AUDIODECODE_REQUEST_TIMEOUT_S', 300),
    drainGraceS: int('AUDIODECODE_DRAIN_GRACE_S', 30),
    port: int('PORT', 8080),
    pool: process.env.AUDIODECODE_POOL ?? 'default',
  };
}
