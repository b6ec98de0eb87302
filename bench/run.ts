// npm run bench: AudioDecode (sequential and batched) against transformers.js and faster-whisper on
// the same machine, audio, weights and threads, in one run. Writes bench/results/latest.{md,json,svg}.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../src/env.js';
import { wordErrorRate } from '../src/text/wer.js';
import { concurrentShortClips, sharedClip, tenMinuteClip, type Workload } from './clips.js';
import { rtfChartSvg } from './plot.js';
import type { WorkerOutput, WorkerSpec } from './protocol.js';
import { resultsDir, writeResults } from './results.js';
import { imageAllocatorEnv, runWorker, workerScript } from './spawn.js';

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** BENCH_QUICK=1: jfk only, one run (a plumbing check, not a result). */
const QUICK = process.env.BENCH_QUICK === '1';

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

const jfk = sharedClip('jfk', 'jfk.wav', 'jfk.txt');
const gettysburg = sharedClip('gettysburg', 'gettysburg.wav', 'gettysburg.txt');
const longform = sharedClip('longform-4min', 'hifitts/longform.flac', 'hifitts/longform.txt');
const short = concurrentShortClips(20);
const all = [jfk, gettysburg, longform, tenMinuteClip(), short];

interface Job {
  engine: Row['engine'];
  computeType: 'int8' | 'float32';
  beam: number;
  workloads: Workload[];
}

// int8 is the CPU default, so it gets every workload; float32 and beam 5 the ones that show the trend
const jobs: Job[] = QUICK
  ? (['audiodecode', 'audiodecode-batched', 'transformers.js', 'faster-whisper'] as const).map((engine) => ({ engine, computeType: 'int8', beam: 1, workloads: [jfk] }))
  : [
      ...(['audiodecode', 'audiodecode-batched', 'transformers.js', 'faster-whisper'] as const).map((engine): Job => ({ engine, computeType: 'int8', beam: 1, workloads: all })),
      ...(['audiodecode', 'audiodecode-batched', 'transformers.js', 'faster-whisper'] as const).map((engine): Job => ({ engine, computeType: 'float32', beam: 1, workloads: [jfk, gettysburg, longform] })),
      // transformers.js has no beam search in its Whisper generation, so beam rows are ours and faster-whisper's
      ...(['audiodecode', 'faster-whisper'] as const).map((engine): Job => ({ engine, computeType: 'int8', beam: 5, workloads: [jfk, gettysburg, longform] })),
    ];

function spawnWorker(job: Job): Promise<{ out: WorkerOutput; spawnedAt: number }> {
  const spec: WorkerSpec = {
    computeType: job.computeType,
    threads: THREADS,
    runs: QUICK ? 1 : RUNS,
    beam: job.beam,
    batched: job.engine === 'audiodecode-batched',
    workloads: job.workloads.map((w) => ({ name: w.name, files: w.files, concurrent: w.concurrent })),
  };
  const [command, args] =
    job.engine === 'faster-whisper'
      ? [join(cacheDir(), 'venv', 'bin', 'python'), ['bench/worker_faster_whisper.py', join(cacheDir(), 'ct2', 'faster-whisper-tiny.en'), JSON.stringify(spec)]]
      : [process.execPath, [workerScript(job.engine === 'transformers.js' ? 'worker-transformers' : 'worker-audiodecode'), JSON.stringify(spec)]];
  return runWorker(command, args, { ...process.env, OMP_NUM_THREADS: String(THREADS) });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

const rows: Row[] = [];
for (const job of jobs) {
  process.stderr.write(`bench: ${job.engine} ${job.computeType} beam ${job.beam}\n`);
  const { out, spawnedAt } = await spawnWorker(job);
  for (const r of out.results) {
    const workload = job.workloads.find((w) => w.name === r.name)!;
    const wall = median(r.walls);
    rows.push({
      engine: job.engine,
      workload: r.name,
      computeType: job.computeType,
      threads: THREADS,
      beam: job.beam,
      audioSeconds: round(r.audioSeconds, 2),
      wallSeconds: round(wall, 3),
      rtf: round(r.audioSeconds / wall, 1),
      wer: round(wordErrorRate(workload.reference, r.text), 4),
      peakRssMb: Math.round(out.peakRssMb),
      coldStartS: round(out.readyAt - spawnedAt, 2),
    });
  }
}

const peer = (engine: Row['engine'], r: Row): Row | undefined => rows.find((p) => p.engine === engine && p.workload === r.workload && p.computeType === r.computeType && p.beam === r.beam);
const ratio = (engine: Row['engine'], r: Row): string => {
  const p = peer(engine, r);
  return p && r.engine !== engine ? `${(r.rtf / p.rtf).toFixed(2)}x` : '';
};
const header = '| engine | workload | compute | threads | beam | audio s | wall s | RTF | vs faster-whisper | vs transformers.js | WER | peak RSS MB | cold start s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|';
const lines = rows.map(
  (r) =>
    `| ${r.engine} | ${r.workload} | ${r.computeType} | ${r.threads} | ${r.beam} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${ratio('faster-whisper', r)} | ${ratio('transformers.js', r)} | ${(r.wer * 100).toFixed(1)}% | ${r.peakRssMb} | ${r.coldStartS} |`,
);
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
const md = `# Benchmark (npm run bench)

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}, ${machine.date}.
Model: tiny.en, the same weights for all (Systran/faster-whisper-tiny.en; ONNX converted by tools/convert_ct2.py).
Temperature fallback on; no VAD except in audiodecode-batched, which cuts its chunks with Silero VAD.
Wall: median of ${QUICK ? 1 : RUNS} runs after a warm-up run of the same workload; cold start: process spawn to model ready;
RTF = audio s / wall s; peak RSS: the engine process's maximum over all its workloads.
Every engine runs with the images' allocator setting (${Object.entries(imageAllocatorEnv()).map(([k, v]) => `${k}=${v}`).join(', ')}; Dockerfile.cpu).
${short.name}: ${short.files.length} short files submitted at once (AudioDecode batches their windows; the peers take them one by one).

${header}
${lines.join('\n')}
`;
const svg = await rtfChartSvg(rows);
writeResults('latest', md, { machine, rows });
writeFileSync(join(resultsDir, 'latest.svg'), svg);
