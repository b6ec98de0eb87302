// The local stack the smoke and capacity runs drive: a router in front of a "gpu" pool (a stand-in
// on this CPU, named as such) and a "cpu" pool, one instance each, all on 127.0.0.1.
import { startFunction, type RunningServer } from '../../tools/local-stack.js';

export interface LocalStack {
  url: string;
  stop(): Promise<void>;
}

/** `env` goes to both instances (AUDIODECODE_MODEL, ...); one thread each, as the two share 2 cores. */
export async function startLocalStack(env: Record<string, string> = {}): Promise<LocalStack> {
  const instance = { AUDIODECODE_THREADS: '1', AUDIODECODE_BATCH_SIZE: '4', ...env };
  const started: RunningServer[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const pools = await Promise.allSettled([
      startFunction('transcribe', { ...instance, AUDIODECODE_POOL: 'gpu', AUDIODECODE_INSTANCE: 'gpu-standin-1' }),
      startFunction('transcribe', { ...instance, AUDIODECODE_POOL: 'cpu', AUDIODECODE_INSTANCE: 'cpu-1' }),
    ]);
    for (const p of pools) if (p.status === 'fulfilled') started.push(p.value);
    for (const p of pools) if (p.status === 'rejected') throw p.reason;
    const [gpu, cpu] = started;
    const router = await startFunction('router', { ROUTER_GPU_ENDPOINTS: gpu.url, ROUTER_CPU_ENDPOINTS: cpu.url });
    started.push(router);
    return { url: router.url, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
