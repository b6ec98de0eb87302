// What sharing a window's encoder state across its beam hypotheses buys, end to end, in one run.
//
//     npx tsx tools/probes/beam_rows.ts [base|tiny.en] [int8|float32]
//
// Beam 5 over real 30 s windows of ../shared/audio/hifitts/longform.flac, one window at a time (the
// sequential mode) and four at once (the batched mode), decoded twice on the same session: with the
// decoder reading one audio row per window (sharesAudioRows, the product) and with the same graph
// fed B copies of it (what models converted before the change did). Runs alternate, medians of 3.
// Prints one JSON object: milliseconds, decoder steps and whether both wrote the same tokens.
// Needs the fixture (npm run models:fixture). A probe, not a test: its figures depend on the CPU.
import { join } from 'node:path';
import { decodeAudio } from '../../src/audio/ffmpeg.js';
import { beamDecodeBatch } from '../../src/decode/beam.js';
import { sharedDir } from '../../src/env.js';
import { CHUNK_FRAMES, sliceWindow, TAIL_PADDING } from '../../src/features/log-mel.js';
import type { WhisperOnnx } from '../../src/model/layouts.js';
import { resolveRuntime } from '../../src/model/runtime.js';
import { loadEngine, releaseEngine } from '../../src/pipeline/engine.js';

const [model = 'base', compute = 'int8'] = process.argv.slice(2);
const BEAM = 5;
const REPEATS = 3;

/** The same session, claiming the older decoder's contract, so beam.ts copies the audio B times. */
function copyingAudio(model: WhisperOnnx): WhisperOnnx {
  return new Proxy(model, {
    get(target, prop) {
      if (prop === 'sharesAudioRows') return false;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const engine = await loadEngine(model, resolveRuntime('cpu', compute as 'int8' | 'float32'), 'native');
if (!engine.model.sharesAudioRows) throw new Error(`${model}'s decoder predates shared audio rows: rebuild it (npm run models:fixture)`);
const samples = await decodeAudio(join(sharedDir(), 'audio', 'hifitts', 'longform.flac'));
const mel = await engine.mel.compute(samples, TAIL_PADDING);
const windows = [0, 1, 2, 3].map((i) => sliceWindow(mel, i * CHUNK_FRAMES, CHUNK_FRAMES));
const sot = engine.tokenizer.sotSequence('en', 'transcribe');
const options = { filters: engine.filters.timed, temperature: 0, maxNewTokens: 224, beamSize: BEAM };

const results: Record<string, unknown>[] = [];
for (const count of [1, 4]) {
  const features = new Float32Array(count * windows[0].length);
  windows.slice(0, count).forEach((w, i) => features.set(w, i * w.length));
  const audio = await engine.model.encode(features, count, CHUNK_FRAMES);
  const prompts = Array.from({ length: count }, () => sot);
  const ways = { shared: engine.model, copied: copyingAudio(engine.model) };
  const ms: Record<keyof typeof ways, number[]> = { shared: [], copied: [] };
  const tokens: Record<keyof typeof ways, string> = { shared: '', copied: '' };
  let steps = 0;
  for (let r = 0; r < REPEATS + 1; r++) {
    for (const way of ['copied', 'shared'] as const) {
      const timings = { steps: 0, ms: 0 };
      const decoded = await beamDecodeBatch(ways[way], engine.tokenizer, audio, prompts, options, timings);
      if (r === 0) continue; // warm-up
      ms[way].push(timings.ms);
      tokens[way] = JSON.stringify(decoded.map((d) => d.tokens));
      steps = timings.steps;
    }
  }
  engine.model.releaseAudio(audio);
  const shared = median(ms.shared);
  const copied = median(ms.copied);
  results.push({ windows: count, steps, copiedMs: Math.round(copied), sharedMs: Math.round(shared), speedup: Number((copied / shared).toFixed(2)), sameTokens: tokens.shared === tokens.copied });
}
await releaseEngine(engine);
console.log(JSON.stringify({ model, compute, beam: BEAM, threads: engine.runtime.threads, audio: 'hifitts/longform.flac, windows 0-3 (30 s each)', results }, null, 1));
