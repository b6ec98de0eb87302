// The transformers.js peer, measured as bench/worker-audiodecode.ts measures AudioDecode: the same
// onnx-community files of the same weights, loaded locally (no hub), same threads, same decoded audio.
// argv[2]: a WorkerSpec as JSON (beam must be 1). stdout: one WorkerOutput JSON line.
import { env, pipeline } from '@huggingface/transformers';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { resolveModelDir } from '../src/model/resolve.js';
import type { WorkerOutput, WorkerResult, WorkerSpec } from './protocol.js';

const spec = JSON.parse(process.argv[2]) as WorkerSpec;
const modelDir = resolveModelDir(spec.model);
env.allowRemoteModels = false;
env.localModelPath = join(modelDir, '..');
const asr = await pipeline('automatic-speech-recognition', modelDir.split('/').pop()!, {
  dtype: spec.computeType === 'int8' ? 'q8' : 'fp32',
  device: 'cpu',
  session_options: { intraOpNumThreads: spec.threads, interOpNumThreads: 1 },
} as Parameters<typeof pipeline>[2]);
const readyAt = Date.now() / 1000;

async function transcribe(file: string): Promise<{ text: string; audioSeconds: number }> {
  const samples = await decodeAudio(file); // decoding is part of each timed run, as for AudioDecode
  const language = spec.language && spec.model.endsWith('.en') ? {} : { language: spec.language, task: 'transcribe' };
  const out = (await asr(samples, { chunk_length_s: 30, stride_length_s: 5, ...language } as never)) as { text: string };
  return { text: out.text.trim(), audioSeconds: samples.length / 16000 };
}

async function run(files: string[]): Promise<{ text: string; audioSeconds: number }> {
  const parts = [];
  for (const f of files) parts.push(await transcribe(f)); // its pipeline takes one input at a time
  return { text: parts.map((p) => p.text).join(' '), audioSeconds: parts.reduce((s, p) => s + p.audioSeconds, 0) };
}

const results: WorkerResult[] = [];
for (const w of spec.workloads) {
  const warm = await run(w.files);
  const walls: number[] = [];
  for (let i = 0; i < spec.runs; i++) {
    const started = performance.now();
    await run(w.files);
    walls.push((performance.now() - started) / 1000);
  }
  results.push({ name: w.name, audioSeconds: warm.audioSeconds, walls, text: warm.text });
}
const output: WorkerOutput = { readyAt, peakRssMb: process.resourceUsage().maxRSS / 1024, results };
process.stdout.write(JSON.stringify(output) + '\n');
