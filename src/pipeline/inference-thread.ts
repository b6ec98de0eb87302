// The thread side of ThreadedWhisperInference (threaded.ts): one WhisperInference, driven by messages.
import { parentPort, workerData } from 'node:worker_threads';
import { serializeError, type FromThread, type ThreadInit, type ToThread } from './threaded.js';
import { WhisperInference } from './whisper-inference.js';

const port = parentPort!;
const { options, queueDepth } = workerData as ThreadInit;
const send = (message: FromThread): void => port.postMessage(message);
const whisper = new WhisperInference({
  ...options,
  onBatch: (size) => send({ type: 'batch', size }),
  onQueueDepth: (windows) => Atomics.store(queueDepth, 0, windows),
});
const running = new Map<number, AbortController>();

async function answer(id: number, work: (signal: AbortSignal) => Promise<FromThread & { type: 'done' }>): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  try {
    send(await work(controller.signal));
  } catch (err) {
    if (!controller.signal.aborted) send({ type: 'failed', id, error: serializeError(err) });
  } finally {
    running.delete(id);
  }
}

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'warmup':
      return void answer(message.id, async () => (await whisper.warmup(), { type: 'done', id: message.id }));
    case 'transcribe': {
      const { id, input, options, streams, reportsProgress } = message;
      return void answer(id, async (signal) => ({
        type: 'done',
        id,
        result: await whisper.transcribe(input, {
          ...options,
          signal,
          onSegment: streams ? (segment) => send({ type: 'segment', id, segment }) : undefined,
          onProgress: reportsProgress ? (done, total) => send({ type: 'progress', id, done, total }) : undefined,
        }),
      }));
    }
    case 'abort':
      return running.get(message.id)?.abort(new Error('cancelled by the caller'));
    case 'close':
      // what is still running is abandoned, not failed one by one: the owner answers for it (threaded.ts)
      for (const controller of running.values()) controller.abort(new Error('the instance is shutting down'));
      return void whisper.close().finally(() => process.exit(0)); // ends this thread only
    default:
      // a message this thread does not know is a bug on one side: end the thread loudly, and the owner
      // fails every request with engine_failed (threaded.ts) rather than leaving them waiting
      throw new Error(`inference thread: unknown message ${JSON.stringify((message as { type?: unknown }).type)}`);
  }
});
