// Starts real function processes on 127.0.0.1 (tests, benchmarks, the load tests), and stops them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { projectRoot } from '../src/env.js';

export interface RunningServer {
  url: string;
  port: number;
  proc: ChildProcess;
  logs: () => string;
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** The fast model tests and the smoke stack run unless they name another (the product default is DEFAULT_MODEL). */
export const TEST_MODEL = 'tiny.en';

/** `target` is served by functions/shared/serve.ts, exactly as the images run it. */
export async function startFunction(target: 'transcribe' | 'router', env: Record<string, string> = {}): Promise<RunningServer> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'functions/shared/serve.ts', target], {
    cwd: projectRoot,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), AUDIODECODE_MODEL: TEST_MODEL, AUDIODECODE_DEVICE: 'cpu', AUDIODECODE_THREADS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${target} exited ${proc.exitCode ?? proc.signalCode}: ${output}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${target} not ready in 60 s: ${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    proc,
    logs: () => output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const [code] = await once(proc, 'exit');
      return code as number | null;
    },
  };
}
