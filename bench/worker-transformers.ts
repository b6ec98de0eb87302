// The transformers.js peer, measured as bench/worker-audiodecode.ts measures AudioDecode: the same
// onnx-community files of the same weights, loaded locally (no hub), same threads, same decoded audio.
// argv: computeType threads runs clip...   stdout: one JSON line
import { env, pipeline } from '@huggingface/transformers';
import { join } from 'node:path';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { resolveModelDir } from '../src/model/resolve.js';

const [computeType, threads, runs, ...clips] = process.argv.slice(2);
const modelDir = resolveModelDir('tiny.en');
env.allowRemoteModels = false;
env.localModelPath = join(modelDir, '..');
const dtype = computeType === 'int8' ? 'q8' : 'fp32';
const asr = await pipeline('automatic-speech-recognition', modelDir.split('/').pop()!, {
  dtype,
  device: 'cpu',
  session_options: { intraOpNumThreads: Number(threads), interOpNumThreads: 1 },
} as Parameters<typeof pipeline>[2]);
const readyAt = Date.now() / 1000;

async function transcribe(clip: string): Promise<string> {
  const samples = await decodeAudio(clip); // decoding is part of each timed run, as for AudioDecode
  const out = (await asr(samples, { chunk_length_s: 30, stride_length_s: 5 } as never)) as { text: string };
  return out.text.trim();
}

const results = [];
for (const clip of clips) {
  const text = await transcribe(clip);
  const walls: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const started = performance.now();
    await transcribe(clip);
    walls.push((performance.now() - started) / 1000);
  }
  results.push({ clip, audioSeconds: (await decodeAudio(clip)).length / 16000, walls, text });
}
process.stdout.write(JSON.stringify({ readyAt, peakRssMb: process.resourceUsage().maxRSS / 1024, results }) + '\n');
