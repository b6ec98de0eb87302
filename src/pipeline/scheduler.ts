// Dynamic batching across concurrent transcriptions: every request's windows join one queue and
// are taken round-robin, a window per request per turn, so a 3 s clip is never stuck behind a
// 10 min file, and windows that arrive together are decoded as one batch.
export interface WindowJob<T> {
  /** Windows with equal keys can share a batch (same prompt length and decoding settings). */
  key: string;
  input: T;
}

interface Pending<T, R> {
  job: WindowJob<T>;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** One request's place in the queue: it submits windows one by one, as it learns what to decode next. */
export interface SchedulerSession<T, R> {
  /** Queue one window; `urgent` puts it before the session's other waiting windows (a follow-up the caller is waiting on). */
  submit(job: WindowJob<T>, urgent?: boolean): Promise<R>;
}

export class WindowScheduler<T, R> {
  private readonly queues = new Map<number, Pending<T, R>[]>();
  private nextSession = 0;
  private turn = 0;
  private running = false;
  private pumpQueued = false;
  private queued = 0;

  constructor(
    private readonly runBatch: (inputs: T[]) => Promise<R[]>,
    private readonly batchSize: () => number,
    private readonly onBatch?: (size: number) => void,
    /** Told the number of waiting windows whenever it changes (a metric another thread reads). */
    private readonly onQueueDepth?: (windows: number) => void,
  ) {}

  /** Windows waiting, over all requests. */
  get queuedWindows(): number {
    return this.queued;
  }

  private adjustQueued(delta: number): void {
    this.queued += delta;
    this.onQueueDepth?.(this.queued);
  }

  /** A request's session; aborting `signal` rejects its waiting windows and any it submits later. */
  session(signal?: AbortSignal): SchedulerSession<T, R> {
    const id = this.nextSession++;
    const state: { cancelled?: { reason: unknown } } = {};
    if (signal) {
      const cancel = (): void => {
        state.cancelled = { reason: signal.reason ?? new Error('aborted') };
        this.cancel(id, state.cancelled.reason);
      };
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
    }
    return { submit: (job, urgent = false) => (state.cancelled ? Promise.reject(state.cancelled.reason) : this.enqueue(id, job, urgent)) };
  }

  /** Queue one request's windows at once; resolves with their results in order. */
  submit(jobs: WindowJob<T>[], signal?: AbortSignal): Promise<R[]> {
    const session = this.session(signal);
    return Promise.all(jobs.map((job) => session.submit(job)));
  }

  private enqueue(id: number, job: WindowJob<T>, urgent: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(id) ?? [];
      this.queues.set(id, queue);
      if (urgent) queue.unshift({ job, resolve, reject });
      else queue.push({ job, resolve, reject });
      this.adjustQueued(1);
      // the batch is taken once the caller's synchronous submits are all in, so they can share it
      if (!this.pumpQueued) {
        this.pumpQueued = true;
        queueMicrotask(() => {
          this.pumpQueued = false;
          void this.pump();
        });
      }
    });
  }

  private cancel(id: number, reason: unknown): void {
    const queue = this.queues.get(id);
    if (!queue) return;
    this.queues.delete(id);
    this.adjustQueued(-queue.length);
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
    if (batch.length > 0) this.adjustQueued(-batch.length);
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
