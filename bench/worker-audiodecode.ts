// One AudioDecode benchmark process: load (cold start), then per workload one warm-up run and
// `runs` timed runs. argv[2]: a WorkerSpec as JSON. stdout: one WorkerOutput JSON line.
import { readFileSync } from 'node:fs';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import type { WorkerOutput, WorkerResult, WorkerSpec } from './protocol.js';

const spec = JSON.parse(process.argv[2]) as WorkerSpec;
const whisper = new WhisperInference({
  model: spec.model,
  device: 'cpu',
  computeType: spec.computeType,
  threads: spec.threads,
  useBatchedInference: spec.batched ?? false,
  batchSize: spec.batchSize,
  log: () => undefined,
});
await whisper.load();
const readyAt = Date.now() / 1000;
// Like the peers' runs: no VAD gate in front of sequential decoding (faster-whisper's vad_filter=False);
// batched mode is VAD-chunked by design.
const options = { beamSize: spec.beam, vadFilter: spec.batched ? true : false, language: spec.language };

async function run(files: string[], concurrent: boolean): Promise<{ text: string; audioSeconds: number }> {
  const results = concurrent
    ? await Promise.all(files.map((f) => whisper.transcribeFile(f, options)))
    : await files.reduce(async (done, f) => [...(await done), await whisper.transcribeFile(f, options)], Promise.resolve([] as Awaited<ReturnType<typeof whisper.transcribeFile>>[]));
  return { text: results.map((r) => r.text).join(' '), audioSeconds: results.reduce((s, r) => s + r.duration, 0) };
}

const results: WorkerResult[] = [];
for (const w of spec.workloads) {
  // Page the files in (the OS cache), as the peers' first read would; decoding is timed below as part
  // of each run. Not a full decode: an hour of float samples here would count in the peak RSS.
  for (const f of w.files) readFileSync(f);
  const warmStarted = performance.now();
  const warm = await run(w.files, w.concurrent ?? false);
  const warmWall = (performance.now() - warmStarted) / 1000;
  const walls: number[] = [];
  for (let i = 0; i < spec.runs; i++) {
    const started = performance.now();
    await run(w.files, w.concurrent ?? false);
    walls.push((performance.now() - started) / 1000);
  }
  results.push({ name: w.name, audioSeconds: warm.audioSeconds, walls, warmWall, text: warm.text });
}
const output: WorkerOutput = { readyAt, peakRssMb: process.resourceUsage().maxRSS / 1024, results };
process.stdout.write(JSON.stringify(output) + '\n');
await whisper.close();
