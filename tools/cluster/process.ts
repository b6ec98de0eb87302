// A child process of the cluster harness: output to a log file, stopped by its own pid with
// SIGTERM, then SIGKILL after a grace period. Every component and pod process goes through here,
// so teardown ends exactly what the harness started.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';

export interface Managed {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** The last lines of its log, for failure messages. */
  tail(lines?: number): string;
  stop(graceMs?: number): Promise<void>;
}

export function launch(name: string, command: string, args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; logFile: string }): Managed {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const proc = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.pipe(log, { end: false });
  proc.stderr!.pipe(log, { end: false });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('error', (err) => {
      log.write(`harness: ${name} failed to start: ${String(err)}\n`);
      resolve({ code: -1, signal: null });
    });
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    proc,
    logFile: opts.logFile,
    exited,
    running: () => !done,
    tail(lines = 30) {
      try {
        return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop(graceMs = 10_000) {
      if (done) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      await once(log.end(), 'finish').catch(() => undefined);
    },
  };
}

/** Poll `check` until it returns a value other than undefined/false, or fail with `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
