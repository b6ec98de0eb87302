// npm run bench: AudioDecode against faster-whisper on the same machine, audio, weights and
// threads, in one run. Writes bench/results/latest.{md,json}.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { cacheDir, projectRoot, sharedDir } from '../src/env.js';
import { wordErrorRate } from '../src/text/wer.js';
import { readFileSync } from 'node:fs';

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CLIPS = (process.env.BENCH_CLIPS ?? 'jfk.wav,gettysburg.wav,hifitts/longform.flac').split(',');
const clipPaths = CLIPS.map((c) => join(sharedDir(), 'audio', c));
const reference = (clip: string): string => readFileSync(clip.replace(/\.\w+$/, '.txt'), 'utf8');

interface WorkerOutput {
  readyAt: number;
  peakRssMb: number;
  results: { clip: string; audioSeconds: number; walls: number[]; text: string }[];
}

export interface Row {
  engine: 'audiodecode' | 'audiodecode-batched' | 'transformers.js' | 'faster-whisper';
  workload: string;
  computeType: string;
  threads: number;
  beam: number;
  audioSeconds: number;
  wallSeconds: number;
  rtf: number;
  wer: number;
  peakRssMb: number;
  coldStartS: number;
}

function run(command: string, args: string[]): Promise<{ out: WorkerOutput; spawnedAt: number }> {
  return new Promise((resolve, reject) => {
    const spawnedAt = Date.now() / 1000;
    const env = { ...process.env, OMP_NUM_THREADS: String(THREADS) };
    const child = spawn(command, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${command} ${args.join(' ')} exited ${code}`));
      resolve({ out: JSON.parse(stdout.trim().split('\n').pop()!), spawnedAt });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function rows(engine: Row['engine'], computeType: string, { out, spawnedAt }: { out: WorkerOutput; spawnedAt: number }): Row[] {
  return out.results.map((r) => {
    const wall = median(r.walls);
    return {
      engine,
      workload: r.clip.split('/').pop()!.replace(/\.\w+$/, ''),
      computeType,
      threads: THREADS,
      beam: 1,
      audioSeconds: round(r.audioSeconds, 2),
      wallSeconds: round(wall, 3),
      rtf: round(r.audioSeconds / wall, 1),
      wer: round(wordErrorRate(reference(r.clip), r.text), 4),
      peakRssMb: Math.round(out.peakRssMb),
      coldStartS: round(out.readyAt - spawnedAt, 2),
    };
  });
}

function round(x: number, digits: number): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}

const venvPython = join(cacheDir(), 'venv', 'bin', 'python');
const ct2Dir = join(cacheDir(), 'ct2', 'faster-whisper-tiny.en');
const all: Row[] = [];
for (const computeType of ['int8', 'float32']) {
  process.stderr.write(`bench: audiodecode ${computeType}\n`);
  all.push(...rows('audiodecode', computeType, await run(process.execPath, ['--import', 'tsx', 'bench/worker-audiodecode.ts', computeType, String(THREADS), String(RUNS), ...clipPaths])));
  process.stderr.write(`bench: transformers.js ${computeType}\n`);
  all.push(...rows('transformers.js', computeType, await run(process.execPath, ['--import', 'tsx', 'bench/worker-transformers.ts', computeType, String(THREADS), String(RUNS), ...clipPaths])));
  process.stderr.write(`bench: faster-whisper ${computeType}\n`);
  all.push(...rows('faster-whisper', computeType, await run(venvPython, ['bench/worker_faster_whisper.py', ct2Dir, computeType, String(THREADS), String(RUNS), ...clipPaths])));
}

const peer = (engine: Row['engine'], r: Row): Row | undefined => all.find((p) => p.engine === engine && p.workload === r.workload && p.computeType === r.computeType);
const ratio = (engine: Row['engine'], r: Row): string => {
  const p = peer(engine, r);
  return p && r.engine !== engine ? `${(r.rtf / p.rtf).toFixed(2)}x` : '';
};
const header = '| engine | workload | compute | threads | beam | audio s | wall s | RTF | vs faster-whisper | vs transformers.js | WER | peak RSS MB | cold start s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|';
const lines = all.map(
  (r) =>
    `| ${r.engine} | ${r.workload} | ${r.computeType} | ${r.threads} | ${r.beam} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${ratio('faster-whisper', r)} | ${ratio('transformers.js', r)} | ${(r.wer * 100).toFixed(1)}% | ${r.peakRssMb} | ${r.coldStartS} |`,
);
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
const md = `# Benchmark (npm run bench)\n\nMachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}, ${machine.date}.\nModel: tiny.en (same weights: Systran/faster-whisper-tiny.en, converted). Greedy, temperature fallback on, no VAD. Wall: median of ${RUNS} warm runs; cold start: process spawn to model ready; RTF = audio s / wall s.\n\n${header}\n${lines.join('\n')}\n`;
mkdirSync(join(projectRoot, 'bench', 'results'), { recursive: true });
writeFileSync(join(projectRoot, 'bench', 'results', 'latest.md'), md);
writeFileSync(join(projectRoot, 'bench', 'results', 'latest.json'), JSON.stringify({ machine, rows: all }, null, 2) + '\n');
process.stdout.write(md);
