// The cross-request window scheduler's promises, as units: fair turns (a short clip never waits
// behind a long file), batches of one key, cancellation that frees the queue.
import { describe, expect, it } from 'vitest';
import { WindowScheduler } from '../src/pipeline/scheduler.js';

interface Window {
  request: string;
  index: number;
}

/** A scheduler whose batches are recorded, each taking a turn of the event loop like a real run. */
function recording(batchSize: number): { scheduler: WindowScheduler<Window, string>; batches: Window[][] } {
  const batches: Window[][] = [];
  const scheduler = new WindowScheduler<Window, string>(
    async (inputs) => {
      batches.push(inputs);
      await new Promise((r) => setImmediate(r));
      return inputs.map((w) => `${w.request}#${w.index}`);
    },
    () => batchSize,
  );
  return { scheduler, batches };
}

const jobs = (request: string, count: number, key = 'k'): { key: string; input: Window }[] => Array.from({ length: count }, (_, index) => ({ key, input: { request, index } }));

describe('WindowScheduler', () => {
  it('a short clip submitted after a long file is decoded in the next batch, not after the whole file', async () => {
    const { scheduler, batches } = recording(1);
    const long = scheduler.submit(jobs('long', 20));
    const short = scheduler.submit(jobs('short', 1));
    expect(await short).toEqual(['short#0']);
    // batch 1 was already running when the short clip arrived; the short one got the next turn
    expect(batches.findIndex((b) => b[0].request === 'short')).toBeLessThanOrEqual(1);
    expect(await long).toEqual(Array.from({ length: 20 }, (_, i) => `long#${i}`));
  });

  it("fills a batch with one window per request per turn, in each request's order", async () => {
    const { scheduler, batches } = recording(4);
    const running = scheduler.submit(jobs('first', 1));
    await new Promise((r) => queueMicrotask(() => r(undefined))); // 'first' is taken; a and b queue behind it
    const a = scheduler.submit(jobs('a', 3));
    const b = scheduler.submit(jobs('b', 3));
    await Promise.all([running, a, b]);
    // turns rotate which request goes first; within a batch each request's windows keep their order
    expect(batches.map((batch) => batch.map((w) => `${w.request}${w.index}`).sort())).toEqual([['first0'], ['a0', 'a1', 'b0', 'b1'], ['a2', 'b2']]);
  });

  it('windows one request submits together share a batch; an urgent one goes before its waiting windows', async () => {
    const { scheduler, batches } = recording(2);
    const session = scheduler.session();
    const first = [0, 1, 2].map((index) => session.submit({ key: 'k', input: { request: 's', index } }));
    const urgent = session.submit({ key: 'k', input: { request: 's', index: 9 } }, true);
    await Promise.all([...first, urgent]);
    expect(batches.map((b) => b.map((w) => w.index))).toEqual([[9, 0], [1, 2]]);
  });

  it('never mixes windows of different keys in one batch', async () => {
    const { scheduler, batches } = recording(8);
    await Promise.all([scheduler.submit(jobs('x', 3, 'greedy')), scheduler.submit(jobs('y', 3, 'beam5')), scheduler.submit(jobs('z', 2, 'greedy'))]);
    for (const batch of batches) expect(new Set(batch.map((w) => (w.request === 'y' ? 'beam5' : 'greedy'))).size).toBe(1);
    expect(batches.flat()).toHaveLength(8);
  });

  it('a cancelled request leaves the queue at once and its pending windows never run', async () => {
    const { scheduler, batches } = recording(1);
    const controller = new AbortController();
    const doomed = scheduler.submit(jobs('doomed', 10), controller.signal).catch((e: unknown) => e);
    const other = scheduler.submit(jobs('other', 2));
    await new Promise((r) => queueMicrotask(() => r(undefined)));
    expect(scheduler.queuedWindows).toBe(11); // one of the 12 is already running
    controller.abort(new Error('client gone'));
    expect(scheduler.queuedWindows).toBe(2);
    expect(((await doomed) as Error).message).toBe('client gone');
    expect(await other).toEqual(['other#0', 'other#1']);
    expect(batches.flat().filter((w) => w.request === 'doomed').length).toBeLessThanOrEqual(1);
    expect(scheduler.queuedWindows).toBe(0);
  });

  it("a failing batch fails only its own windows' requests", async () => {
    const scheduler = new WindowScheduler<Window, string>(
      async (inputs) => {
        if (inputs.some((w) => w.request === 'bad')) throw new Error('decoder failed');
        return inputs.map((w) => w.request);
      },
      () => 1,
    );
    const bad = scheduler.submit(jobs('bad', 1)).catch((e: unknown) => (e as Error).message);
    const good = scheduler.submit(jobs('good', 2));
    expect(await bad).toBe('decoder failed');
    expect(await good).toEqual(['good', 'good']);
  });
});
