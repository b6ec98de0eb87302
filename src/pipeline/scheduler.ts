// Dynamic batching across concurrent transcriptions: every request's windows join one queue and
// are taken round-robin, a window per request per turn, so a 3 s clip is never stuck behind a
// 10 min file, and windows that arrive together are decoded as one batch.
export interface WindowJob<T> {
  /** Windows with equal keys can share a batch (same prompt length and decoding settings). */
  key: string;
  input: T;
}

interface Pending<T, R> {
  request: number;
  job: WindowJob<T>;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class WindowScheduler<T, R> {
  private readonly queues = new Map<number, Pending<T, R>[]>();
  private nextRequest = 0;
  private turn = 0;
  private running = false;
  /** Windows waiting, over all requests. */
  queuedWindows = 0;

  constructor(
    private readonly runBatch: (inputs: T[]) => Promise<R[]>,
    private readonly batchSize: () => number,
    private readonly onBatch?: (size: number) => void,
  ) {}

  /** Queue one request's windows; resolves with their results in order. */
  submit(jobs: WindowJob<T>[], signal?: AbortSignal): Promise<R[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const request = this.nextRequest++;
    const queue: Pending<T, R>[] = [];
    const results = jobs.map((job) => new Promise<R>((resolve, reject) => queue.push({ request, job, resolve, reject })));
    this.queues.set(request, queue);
    this.queuedWindows += queue.length;
    const all = Promise.all(results);
    if (signal) {
      const cancel = (): void => this.cancel(request, signal.reason ?? new Error('aborted'));
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
      void all.finally(() => signal.removeEventListener('abort', cancel)).catch(() => undefined);
    }
    void this.pump();
    return all;
  }

  private cancel(request: number, reason: unknown): void {
    const queue = this.queues.get(request);
    if (!queue) return;
    this.queues.delete(request);
    this.queuedWindows -= queue.length;
    for (const p of queue) p.reject(reason);
  }

  /** Up to batchSize windows of one key, one per request per round, starting from a rotating request. */
  private take(): Pending<T, R>[] {
    const requests = [...this.queues.keys()];
    if (requests.length === 0) return [];
    const start = this.turn++ % requests.length;
    const order = [...requests.slice(start), ...requests.slice(0, start)];
    const key = this.queues.get(order[0])![0].job.key;
    const batch: Pending<T, R>[] = [];
    const limit = Math.max(1, this.batchSize());
    for (let progressed = true; progressed && batch.length < limit; ) {
      progressed = false;
      for (const r of order) {
        const queue = this.queues.get(r);
        if (!queue || queue.length === 0 || queue[0].job.key !== key || batch.length >= limit) continue;
        batch.push(queue.shift()!);
        progressed = true;
        if (queue.length === 0) this.queues.delete(r);
      }
    }
    this.queuedWindows -= batch.length;
    return batch;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let batch = this.take(); batch.length > 0; batch = this.take()) {
        this.onBatch?.(batch.length);
        try {
          const results = await this.runBatch(batch.map((p) => p.job.input));
          batch.forEach((p, i) => p.resolve(results[i]));
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
