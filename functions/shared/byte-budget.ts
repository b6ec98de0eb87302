// Request bodies are held in memory (the router keeps each one to resend it on failover), so the
// bytes held at once are bounded, or enough concurrent uploads push the process past its memory
// limit: 24 uploads of 19.7 MB took an unbounded router to 1.17 GB against the chart's 512 Mi.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** Bytes of request bodies a process may hold at once: AUDIODECODE_MAX_BUFFERED_BYTES, else a quarter of its memory limit. */
export function defaultBufferedBytes(): number {
  // a quarter: refused bodies are read and dropped, and wait for the garbage collector (about
  // 130 MB measured in test/router-memory.test.ts), and the rest is the runtime's own
  return Math.floor(memoryLimit() / 4);
}

/** The container's memory limit (cgroup v2 memory.max, or v1), else the machine's memory. */
function memoryLimit(): number {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const value = Number(readFileSync(file, 'utf8').trim());
      // 'max' (NaN) or v1's "unlimited" (close to 2^63): no limit set
      if (Number.isFinite(value) && value > 0 && value < totalmem()) return value;
    } catch {
      // not readable: not in a container, or the other cgroup version
    }
  }
  return totalmem();
}

export class ByteBudget {
  private held = 0;

  constructor(
    readonly limit: number,
    private readonly onChange: (held: number) => void = () => undefined,
  ) {}

  /** Take `n` bytes if they fit; false (nothing taken) if they do not. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    this.onChange(this.held);
    return true;
  }

  give(n: number): void {
    this.held -= n;
    this.onChange(this.held);
  }
}
