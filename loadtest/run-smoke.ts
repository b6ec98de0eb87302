// npm run loadtest:smoke: the local stack (router + a "gpu" and a "cpu" pool, all on this CPU)
// on 127.0.0.1, the bounded k6 smoke scenario against it, and k6's exit code (99 = a missed
// threshold). Summaries and k6's HTML dashboard report go to loadtest/results/.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot, sharedDir } from '../src/env.js';
import { freePort, startFunction, type RunningServer } from '../tools/local-stack.js';

const k6 = execFileSync('bash', [join(projectRoot, 'tools', 'install-k6.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const results = join(projectRoot, 'loadtest', 'results');
mkdirSync(results, { recursive: true });

const instance = { AUDIODECODE_THREADS: '1', AUDIODECODE_BATCH_SIZE: '4' };
const stack: RunningServer[] = [];
let code = 1;
try {
  // the "gpu" pool is a stand-in on this CPU (no GPU here); the router cannot tell
  const [gpu, cpu] = await Promise.all([
    startFunction('transcribe', { ...instance, AUDIODECODE_POOL: 'gpu', AUDIODECODE_INSTANCE: 'gpu-standin-1' }),
    startFunction('transcribe', { ...instance, AUDIODECODE_POOL: 'cpu', AUDIODECODE_INSTANCE: 'cpu-1' }),
  ]);
  stack.push(gpu, cpu);
  const router = await startFunction('router', { ROUTER_GPU_ENDPOINTS: gpu.url, ROUTER_CPU_ENDPOINTS: cpu.url });
  stack.push(router);
  const cpuFloor = process.env.RTF_MIN_CPU ?? '3';
  const dashboardPort = String(await freePort());
  code = await new Promise<number>((resolve) => {
    const run = spawn(k6, ['run', '--quiet', join('loadtest', 'smoke.js')], {
      cwd: projectRoot,
      stdio: 'inherit',
      env: {
        ...process.env,
        BASE_URL: router.url,
        AUDIO_DIR: join(sharedDir(), 'audio'),
        RESULTS_DIR: results,
        RTF_MIN_CPU: cpuFloor,
        RTF_MIN_GPU: process.env.RTF_MIN_GPU ?? cpuFloor, // the stand-in GPU pool is a CPU
        K6_WEB_DASHBOARD: 'true',
        K6_WEB_DASHBOARD_HOST: '127.0.0.1',
        K6_WEB_DASHBOARD_PORT: dashboardPort,
        K6_WEB_DASHBOARD_EXPORT: join(results, 'smoke-report.html'),
        K6_NO_USAGE_REPORT: 'true',
      },
    });
    run.on('close', (c) => resolve(c ?? 1));
  });
} finally {
  await Promise.all(stack.map((s) => s.stop()));
}
process.stderr.write(`loadtest:smoke: k6 exited ${code}\n`);
process.exit(code);
