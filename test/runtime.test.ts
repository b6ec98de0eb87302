import { describe, expect, it } from 'vitest';
import { AudioDecodeError } from '../src/errors.js';
import { cudaAvailable, resolveRuntime, sessionOptions } from '../src/model/runtime.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { TEST_MODEL } from './helpers.js';

// This machine has no GPU: these tests pin down what a CPU-only install says and does.
describe.skipIf(cudaAvailable())('device selection without CUDA', () => {
  it("'cuda' fails with a message that says how to get the CUDA provider", () => {
    let err: unknown;
    try {
      resolveRuntime('cuda', 'auto');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AudioDecodeError);
    expect((err as AudioDecodeError).code).toBe('cuda_unavailable');
    expect((err as Error).message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
  });

  it("'auto' falls back to CPU int8 and says so", async () => {
    const notices: string[] = [];
    const whisper = new WhisperInference({ model: TEST_MODEL, device: 'auto', log: (m) => notices.push(m) });
    const info = await whisper.describe();
    expect(info.device).toBe('cpu');
    expect(info.computeType).toBe('int8');
    expect(info.batchSize).toBe(1);
    expect(notices.join('\n')).toMatch(/no CUDA.*running on CPU/);
    await whisper.close();
  });
});

describe('runtime choices', () => {
  it('picks float16 and batch 24 for CUDA, and puts the CUDA provider first', () => {
    const cuda = { device: 'cuda' as const, computeType: 'float16' as const, threads: 4 };
    const options = sessionOptions(cuda);
    expect(options.executionProviders?.[0]).toEqual({ name: 'cuda' });
    expect(new WhisperInference({ model: TEST_MODEL }).batchSize(cuda)).toBe(24);
  });

  it('pins intra-op threads and full graph optimization on CPU', () => {
    const options = sessionOptions(resolveRuntime('cpu', 'auto', 3));
    expect(options.intraOpNumThreads).toBe(3);
    // each session's pool would otherwise spin after its run, taking the cores from the next session
    expect(options.extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
    expect(options.graphOptimizationLevel).toBe('all');
    expect(options.executionProviders).toEqual(['cpu']);
  });
});
