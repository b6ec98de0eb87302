// npm run bench: AudioDecode (sequential and batched) against transformers.js and faster-whisper on
// the same machine, audio, weights and threads, in one run. Writes bench/results/latest.{md,json,svg} (BENCH_NAME for another name).
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
/** The models to measure, comma-separated: the fast test model and the default. */
const MODELS = (process.env.BENCH_MODELS ?? 'tiny.en,base').split(',');
/** Windows per batch in both batched engines (faster-whisper's default, 8). */
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 8);

/** The kinds of job to run, comma-separated (default all): int8 (greedy, every workload), float32, beam5. */
const JOB_KINDS = new Set((process.env.BENCH_JOBS ?? 'int8,float32,beam5').split(','));
/** Results file name under bench/results (default latest): a part of the matrix run on its own keeps the rest. */
const OUT_NAME = process.env.BENCH_NAME ?? 'latest';
/** Workload names to keep, comma-separated (default all), e.g. to leave out longform-10min on a slow machine. */
const WORKLOADS = process.env.BENCH_WORKLOADS?.split(',');

const ENGINES = ['audiodecode', 'audiodecode-batched', 'transformers.js', 'faster-whisper', 'faster-whisper-batched'] as const;
type Engine = (typeof ENGINES)[number];

export interface Row {
  engine: Engine;
  model: string;
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
const kept = (ws: Workload[]): Workload[] => (WORKLOADS ? ws.filter((w) => WORKLOADS.includes(w.name)) : ws);
const all = kept([jfk, gettysburg, longform, ...(WORKLOADS && !WORKLOADS.includes('longform-10min') ? [] : [tenMinuteClip()]), short]);
const trend = kept([jfk, gettysburg, longform]);

interface Job {
  engine: Engine;
  model: string;
  computeType: 'int8' | 'float32';
  beam: number;
  workloads: Workload[];
}

// int8 is the CPU default, so it gets every workload; float32 and beam 5 the ones that show the trend.
// transformers.js has no beam search in its Whisper generation, so beam rows are ours and faster-whisper's.
const jobs: Job[] = MODELS.flatMap((model): Job[] =>
  QUICK
    ? ENGINES.map((engine) => ({ engine, model, computeType: 'int8', beam: 1, workloads: [jfk] }))
    : [
        ...(JOB_KINDS.has('int8') ? ENGINES.map((engine): Job => ({ engine, model, computeType: 'int8', beam: 1, workloads: all })) : []),
        ...(JOB_KINDS.has('float32') ? ENGINES.map((engine): Job => ({ engine, model, computeType: 'float32', beam: 1, workloads: trend })) : []),
        ...(JOB_KINDS.has('beam5') ? (['audiodecode', 'faster-whisper'] as const).map((engine): Job => ({ engine, model, computeType: 'int8', beam: 5, workloads: trend })) : []),
      ],
);

function spawnWorker(job: Job): Promise<{ out: WorkerOutput; spawnedAt: number }> {
  const batched = job.engine.endsWith('-batched');
  const spec: WorkerSpec = {
    model: job.model,
    // every workload is English: given to every engine alike, so no engine spends time detecting it
    language: 'en',
    computeType: job.computeType,
    threads: THREADS,
    runs: QUICK ? 1 : RUNS,
    beam: job.beam,
    batched,
    batchSize: batched ? BATCH_SIZE : undefined,
    workloads: job.workloads.map((w) => ({ name: w.name, files: w.files, concurrent: w.concurrent })),
  };
  const [command, args] = job.engine.startsWith('faster-whisper')
    ? [join(cacheDir(), 'venv', 'bin', 'python'), ['bench/worker_faster_whisper.py', join(cacheDir(), 'ct2', `faster-whisper-${job.model}`), JSON.stringify(spec)]]
    : [process.execPath, [workerScript(job.engine === 'transformers.js' ? 'worker-transformers' : 'worker-audiodecode'), JSON.stringify(spec)]];
  return runWorker(command, args, { ...process.env, OMP_NUM_THREADS: String(THREADS) });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

const rows: Row[] = [];
for (const job of jobs) {
  process.stderr.write(`bench: ${job.model} ${job.engine} ${job.computeType} beam ${job.beam}\n`);
  const { out, spawnedAt } = await spawnWorker(job);
  for (const r of out.results) {
    const workload = job.workloads.find((w) => w.name === r.name)!;
    const wall = median(r.walls);
    rows.push({
      engine: job.engine,
      model: job.model,
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

const peer = (engine: Engine, r: Row): Row | undefined => rows.find((p) => p.engine === engine && p.model === r.model && p.workload === r.workload && p.computeType === r.computeType && p.beam === r.beam);
const ratio = (engine: Engine, r: Row): string => {
  const p = peer(engine, r);
  return p && r.engine !== engine ? `${(r.rtf / p.rtf).toFixed(2)}x` : '';
};
const peerWer = (engine: Engine, r: Row): string => {
  const p = peer(engine, r);
  return p && r.engine !== engine ? `${(p.wer * 100).toFixed(1)}%` : '';
};
const header =
  '| model | engine | workload | compute | beam | audio s | wall s | RTF | WER | vs faster-whisper (its WER) | vs faster-whisper-batched (its WER) | vs transformers.js | peak RSS MB | cold start s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';
const lines = rows.map(
  (r) =>
    `| ${r.model} | ${r.engine} | ${r.workload} | ${r.computeType} | ${r.beam} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${(r.wer * 100).toFixed(1)}% | ${ratio('faster-whisper', r)} ${peerWer('faster-whisper', r) && `(${peerWer('faster-whisper', r)})`} | ${ratio('faster-whisper-batched', r)} ${peerWer('faster-whisper-batched', r) && `(${peerWer('faster-whisper-batched', r)})`} | ${ratio('transformers.js', r)} | ${r.peakRssMb} | ${r.coldStartS} |`,
);
const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
const md = `# Benchmark (npm run bench)

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}, ${machine.date}; ${THREADS} threads for every engine.
Models: ${MODELS.join(', ')}: the same weights for all (Systran/faster-whisper-*, CTranslate2; ONNX converted by tools/convert_ct2.py); language given as English to every engine.
Temperature fallback on. Sequential engines without VAD (faster-whisper's vad_filter=False); the batched ones (audiodecode-batched,
faster-whisper-batched = BatchedInferencePipeline) cut Silero VAD chunks of at most 30 s and decode ${BATCH_SIZE} at a time.
Wall: median of ${QUICK ? 1 : RUNS} runs after a warm-up run of the same workload; cold start: process spawn to model ready;
RTF = audio s / wall s; peak RSS: the engine process's maximum over all its workloads.
Every engine runs with the images' allocator setting (${Object.entries(imageAllocatorEnv()).map(([k, v]) => `${k}=${v}`).join(', ')}; Dockerfile.cpu).
${short.name}: ${short.files.length} short files submitted at once (AudioDecode batches their windows; the peers take them one by one).
Ratios are RTF over the peer's RTF on the same model, workload, precision and beam; the peer's WER beside it.

${header}
${lines.join('\n')}
`;
const svg = await rtfChartSvg(rows);
writeResults(OUT_NAME, md, { machine, rows });
writeFileSync(join(resultsDir, `${OUT_NAME}.svg`), svg);
