// Benchmark worker processes: spawn one, read its one JSON line, fail loudly. The Node workers run
// compiled (the bench scripts build them into .bench-build), as the product runs from dist: under
// tsx each process would carry ~32 MB of transpiler in its peak RSS.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/env.js';
import type { WorkerOutput, WorkerSpec } from './protocol.js';

export function workerScript(name: string): string {
  const compiled = join(projectRoot, '.bench-build', 'bench', `${name}.js`);
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run the benchmark through npm (npm run bench, bench:longform, bench:hour compile the workers)`);
  return compiled;
}

/**
 * The allocator settings the images run with (Dockerfile.cpu's `ENV MALLOC_...` lines): every
 * engine's worker gets them alike, so the bench measures the product as it is deployed and the
 * peers under the same rules.
 */
export function imageAllocatorEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(projectRoot, 'Dockerfile.cpu'), 'utf8');
  return Object.fromEntries([...dockerfile.matchAll(/^ENV\s+(MALLOC_\w+)=(\S+)\s*$/gm)].map((m) => [m[1], m[2]]));
}

/** Run a worker to the end, with the images' allocator settings; `spawnedAt` (Unix seconds) is when the process was started. */
export function runWorker(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ out: WorkerOutput; spawnedAt: number }> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now() / 1000;
    const child = spawn(command, args, { cwd: projectRoot, env: { ...env, ...imageAllocatorEnv() }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${command} ${args[0]} exited ${code}`));
      resolve({ out: JSON.parse(stdout.trim().split('\n').pop()!) as WorkerOutput, spawnedAt });
    });
  });
}

export async function audiodecodeWorker(spec: WorkerSpec): Promise<WorkerOutput> {
  return (await runWorker(process.execPath, [workerScript('worker-audiodecode'), JSON.stringify(spec)])).out;
}
