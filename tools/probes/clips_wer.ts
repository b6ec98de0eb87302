// int8 against float32 on many short clips, ours beside faster-whisper's on the same weights, in one run.
//
//     npx tsx tools/probes/clips_wer.ts [base|tiny.en] [sequential|batched]
//
// Every clip of ../shared/audio/hifitts (80 clips of read speech, 2-10 s each) transcribed one at a
// time, sequential mode (faster-whisper's WhisperModel.transcribe, no VAD) or batched (its
// BatchedInferencePipeline, batch 8, against ours at batch 8), greedy with the temperature fallback, English, 1 thread: by our engine at
// int8 and float32, and by faster-whisper (the fixture's venv) at int8 and float32. Prints each
// side's pooled WER, and how many clips its int8 transcript differs from its own float32 one in
// (normalized words) with the word distance between the two: the int8 error level of each engine,
// on more words than one long clip's WER, where a single rounding moves whole words. A probe, not a
// test: int8 figures depend on the CPU.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WhisperInference } from '../../src/index.js';
import { cacheDir } from '../../src/env.js';
import { normalizeText, wordErrorRate } from '../../src/text/wer.js';

const model = process.argv[2] ?? 'tiny.en';
const mode = process.argv[3] ?? 'sequential';
if (mode !== 'sequential' && mode !== 'batched') throw new Error('usage: clips_wer.ts [base|tiny.en] [sequential|batched]');
const clipsDir = resolve(import.meta.dirname, '../../../shared/audio/hifitts');
const manifest = JSON.parse(readFileSync(join(clipsDir, 'manifest.json'), 'utf8')) as { audio: string; text: string }[];
const paths = manifest.map((m) => join(clipsDir, m.audio));

async function ours(computeType: 'int8' | 'float32'): Promise<string[]> {
  const whisper = new WhisperInference({ model, device: 'cpu', computeType, threads: 1, useBatchedInference: mode === 'batched', batchSize: 8, log: () => undefined });
  const texts: string[] = [];
  for (const path of paths) texts.push((await whisper.transcribeFile(path, { language: 'en' })).text);
  await whisper.close();
  return texts;
}

const FASTER_WHISPER = `
import json, sys
from faster_whisper import BatchedInferencePipeline, WhisperModel
ct2, compute_type, mode, paths = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.stdin.read())
m = WhisperModel(ct2, device="cpu", compute_type=compute_type, cpu_threads=1)
common = dict(beam_size=1, temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], language="en")
texts = []
for p in paths:
    if mode == "batched":
        segments, _ = BatchedInferencePipeline(m).transcribe(p, batch_size=8, **common)
    else:
        segments, _ = m.transcribe(p, vad_filter=False, **common)
    texts.append("".join(s.text for s in segments).strip())
print(json.dumps(texts))
`;

function fasterWhisper(computeType: 'int8' | 'float32'): string[] {
  const python = join(cacheDir(), 'venv', 'bin', 'python');
  const ct2 = join(cacheDir(), 'ct2', `faster-whisper-${model}`);
  const run = spawnSync(python, ['-c', FASTER_WHISPER, ct2, computeType, mode], { input: JSON.stringify(paths), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`faster-whisper failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

const reference = manifest.map((m) => m.text).join(' ');
const percent = (x: number): number => +(100 * x).toFixed(2);
const report: Record<string, unknown> = { model, mode, clips: manifest.length };
for (const [engine, transcribe] of [['audiodecode', ours], ['faster-whisper', async (c: 'int8' | 'float32') => fasterWhisper(c)]] as const) {
  const int8 = await transcribe('int8');
  const float32 = await transcribe('float32');
  const differing = int8.filter((t, i) => normalizeText(t).join(' ') !== normalizeText(float32[i]).join(' ')).length;
  report[engine] = {
    werInt8: percent(wordErrorRate(reference, int8.join(' '))),
    werFloat32: percent(wordErrorRate(reference, float32.join(' '))),
    clipsInt8DiffersFromFloat32: differing,
    int8WordDistanceFromFloat32: percent(wordErrorRate(float32.join(' '), int8.join(' '))),
  };
}
console.log(JSON.stringify(report, null, 1));
