// What one decoder step costs against the rows in the batch and the length of the cache behind it.
//
//     npx tsx tools/probes/decoder_step.ts [tiny.en|base] [int8|float32]
//
// One real 30 s window (jfk.wav) is encoded once; the native decoder then takes a prompt of P
// tokens (P = 1, 100, 200, 300) on one row, the cache is copied into R rows (R = 1, 5: greedy, and
// beam 5 over one shared audio row), and 40 steps of one token follow, every other one reordering
// the rows as a beam does. Prints the median milliseconds per step of 3 runs of each (P, R): a
// step that copies its cache costs more the longer the prompt (decoders converted before the
// cache stayed in our buffers did: the graph's Concat and onnxruntime-node's copy of every fetched
// output). A probe, not a test: its figures depend on the CPU.
import { join } from 'node:path';
import { decodeAudio } from '../../src/audio/ffmpeg.js';
import { sharedDir } from '../../src/env.js';
import { CHUNK_FRAMES, sliceWindow, TAIL_PADDING } from '../../src/features/log-mel.js';
import { resolveRuntime } from '../../src/model/runtime.js';
import { loadEngine, releaseEngine } from '../../src/pipeline/engine.js';

const [model = 'tiny.en', compute = 'int8'] = process.argv.slice(2);
const PROMPTS = [1, 100, 200, 300];
const ROWS = [1, 5];
const STEPS = 40;
const RUNS = 3;

const engine = await loadEngine(model, resolveRuntime('cpu', compute as 'int8' | 'float32'), 'native');
const onnx = engine.model;
const samples = await decodeAudio(join(sharedDir(), 'audio', 'jfk.wav'));
const audio = await onnx.encode(sliceWindow(await engine.mel.compute(samples, TAIL_PADDING), 0, CHUNK_FRAMES), 1, CHUNK_FRAMES);
const text = engine.tokenizer.encodeText(' And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.');
const tokenAt = (i: number): number => text[i % text.length];

async function msPerStep(promptLength: number, rows: number): Promise<number> {
  const prompt = BigInt64Array.from({ length: promptLength }, (_, i) => BigInt(i === 0 ? engine.tokenizer.sot : tokenAt(i)));
  const first = await onnx.decode(prompt, promptLength, audio, null);
  let cache = onnx.selectCacheRows(first.cache, new Array<number>(rows).fill(0));
  const reorder = Array.from({ length: rows }, (_, r) => Math.max(0, r - 1)); // row r continues row r - 1
  const started = performance.now();
  for (let s = 0; s < STEPS; s++) {
    const step = await onnx.decode(new BigInt64Array(rows).fill(BigInt(tokenAt(promptLength + s))), 1, audio, cache);
    cache = rows > 1 && s % 2 === 1 ? onnx.selectCacheRows(step.cache, reorder) : step.cache;
  }
  return (performance.now() - started) / STEPS;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await msPerStep(1, 1); // warm-up
const results: { prompt: number; rows: number; msPerStep: number }[] = [];
for (const prompt of PROMPTS) {
  for (const rows of ROWS) {
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await msPerStep(prompt, rows));
    results.push({ prompt, rows, msPerStep: Number(median(runs).toFixed(2)) });
  }
}
onnx.releaseAudio(audio);
await releaseEngine(engine);
console.log(JSON.stringify({ model, compute, threads: engine.runtime.threads, steps: STEPS, results }));
