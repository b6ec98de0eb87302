// Where onnxruntime is configured: execution provider, threads, precision. One place only.
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { AudioDecodeError } from '../errors.js';

/** The devices and precisions a caller may ask for (the CLI's choices and the function's settings read these). */
export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
export const COMPUTE_TYPES = ['auto', 'float32', 'float16', 'int8'] as const;
export type Device = (typeof DEVICES)[number];
export type ComputeType = (typeof COMPUTE_TYPES)[number];

export interface RuntimeChoice {
  device: 'cpu' | 'cuda';
  computeType: Exclude<ComputeType, 'auto'>;
  threads: number;
  /** Said once when `auto` fell back to CPU, so callers can log why. */
  notice?: string;
}

/**
 * The CUDA provider is compiled into onnxruntime-node's binding, but its shared library is only
 * present when the package was installed with ONNXRUNTIME_NODE_INSTALL=cuda12.
 */
export function cudaAvailable(): boolean {
  if (!ort.listSupportedBackends().some((b) => b.name === 'cuda')) return false;
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
}

const CUDA_MISSING =
  'the CUDA execution provider is not installed in onnxruntime-node: reinstall it with ONNXRUNTIME_NODE_INSTALL=cuda12 (Dockerfile.gpu does) on a machine with CUDA 12 and cuDNN 9';

/**
 * Cores this process may use: the container's CPU limit (cgroup v2 cpu.max) when one is set, else
 * the CPUs it may run on. Node's availableParallelism() ignores CPU quotas, which would give a pod
 * limited to 2 CPUs on a 64-core node 64 threads.
 */
export function usableCores(): number {
  const cores = availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== 'max') return Math.max(1, Math.min(cores, Math.ceil(Number(quota) / Number(period))));
  } catch {
    // no cgroup v2 limit readable: not in a container, or cgroup v1
  }
  return cores;
}

export function resolveRuntime(device: Device, computeType: ComputeType, threads?: number): RuntimeChoice {
  let resolved: 'cpu' | 'cuda';
  let notice: string | undefined;
  if (device === 'cuda') {
    if (!cudaAvailable()) throw new AudioDecodeError('cuda_unavailable', `device 'cuda' requested, but ${CUDA_MISSING}`, 'device');
    resolved = 'cuda';
  } else if (device === 'auto') {
    resolved = cudaAvailable() ? 'cuda' : 'cpu';
    if (resolved === 'cpu') notice = `device 'auto': no CUDA (${CUDA_MISSING}); running on CPU`;
  } else resolved = 'cpu';
  const type = computeType === 'auto' ? (resolved === 'cuda' ? 'float16' : 'int8') : computeType;
  return { device: resolved, computeType: type, threads: threads ?? usableCores(), notice };
}

/**
 * Threads for one session. Every session owns an intra-op pool, and by default a pool's threads
 * spin for a while after each run: the encoder's then steal the cores from the decoder's first
 * steps and the other way round. Without spinning (2 cores, int8): 4-min long-form RTF 33 -> 37,
 * 20 concurrent short files 8.5 -> 9.4.
 */
export function threadOptions(threads: number): ort.InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

export function sessionOptions(choice: RuntimeChoice): ort.InferenceSession.SessionOptions {
  return {
    ...threadOptions(choice.threads),
    executionProviders: choice.device === 'cuda' ? [{ name: 'cuda' }, 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    // Off on CPU: the arena keeps the peak of every shape it has seen (the encoder's attention, the
    // growing KV cache), 120 MB more RSS over 4 min of audio, and measured no faster
    // (hifitts long-form, int8, 2 threads: RTF 21 with or without it).
    enableCpuMemArena: choice.device === 'cuda',
    enableMemPattern: true,
  };
}

export { ort };
