// npm run bench: AudioDecode (sequential and batched) against transformers.js, faster-whisper,
// openai-whisper and whisper.cpp on the same machine, audio, weights and threads, in one run. Writes bench/results/latest.{md,json,svg} (BENCH_NAME for another name).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { cacheDir, projectRoot } from '../src/env.js';
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
/** Models that get the beam 5 job, comma-separated (default every one in BENCH_MODELS): beam 5 on base is the slowest part. */
const BEAM_MODELS = process.env.BENCH_BEAM_MODELS?.split(',') ?? MODELS;
/** Engines to run, comma-separated (default all). */
const ENGINE_FILTER = process.env.BENCH_ENGINES?.split(',');

const ENGINES = ['audiodecode', 'audiodecode-batched', 'transformers.js', 'faster-whisper', 'faster-whisper-batched', 'openai-whisper', 'whisper.cpp'] as const;
type Engine = (typeof ENGINES)[number];
/** The peers run from their own virtualenvs and converted files, which bench/peers.sh builds into the cache. */
const PEERS: readonly Engine[] = ['openai-whisper', 'whisper.cpp'];
type ComputeType = WorkerSpec['computeType'];

/**
 * The precision an engine runs a job kind at. openai-whisper computes in float32 on the CPU only: it has
 * float32 rows alone (its beam 5 row too), and the `vs openai-whisper` column holds our int8 rows against
 * it as well. whisper.cpp runs its own file types: q8_0 (labelled int8) for the int8 and beam 5 jobs, f16
 * (float16) for the float job, which then has no like-for-like comparator.
 */
function computeFor(engine: Engine, kind: 'int8' | 'float32'): ComputeType | undefined {
  if (engine === 'openai-whisper') return kind === 'float32' ? 'float32' : undefined;
  if (engine === 'whisper.cpp') return kind === 'float32' ? 'float16' : 'int8';
  return kind;
}

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
  computeType: ComputeType;
  beam: number;
  workloads: Workload[];
}

const job = (engine: Engine, model: string, kind: 'int8' | 'float32', beam: number, workloads: Workload[]): Job[] => {
  const computeType = computeFor(engine, kind);
  return computeType ? [{ engine, model, computeType, beam, workloads }] : [];
};
const BEAM_ENGINES: readonly Engine[] = ['audiodecode', 'faster-whisper', 'openai-whisper', 'whisper.cpp'];

// int8 is the CPU default, so it gets every workload; float32 and beam 5 the ones that show the trend.
// transformers.js has no beam search in its Whisper generation, and the batched modes run greedy here,
// so beam rows are ours, faster-whisper's, openai-whisper's (float32) and whisper.cpp's (q8_0).
const matrix: Job[] = MODELS.flatMap((model): Job[] =>
  QUICK
    ? ENGINES.flatMap((engine) => job(engine, model, engine === 'openai-whisper' ? 'float32' : 'int8', 1, [jfk]))
    : [
        ...(JOB_KINDS.has('int8') ? ENGINES.flatMap((engine) => job(engine, model, 'int8', 1, all)) : []),
        ...(JOB_KINDS.has('float32') ? ENGINES.flatMap((engine) => job(engine, model, 'float32', 1, trend)) : []),
        ...(JOB_KINDS.has('beam5') && BEAM_MODELS.includes(model) ? BEAM_ENGINES.flatMap((engine) => job(engine, model, engine === 'openai-whisper' ? 'float32' : 'int8', 5, trend)) : []),
      ],
);
const jobs = ENGINE_FILTER ? matrix.filter((j) => ENGINE_FILTER.includes(j.engine)) : matrix;

// the peers' environments and converted weights, built once into the cache (bench/peers.sh)
if (jobs.some((j) => PEERS.includes(j.engine))) {
  const built = spawnSync('bash', [join(projectRoot, 'bench', 'peers.sh'), ...MODELS], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error(`bench/peers.sh exited ${built.status}`);
}
const peersDir = join(cacheDir(), 'peers');

function workerCommand(job: Job): [string, string[]] {
  const python = (venv: string): string => join(venv, 'bin', 'python');
  if (job.engine.startsWith('faster-whisper')) return [python(join(cacheDir(), 'venv')), ['bench/worker_faster_whisper.py', join(cacheDir(), 'ct2', `faster-whisper-${job.model}`)]];
  if (job.engine === 'openai-whisper') return [python(join(peersDir, 'openai-whisper')), ['bench/worker_openai_whisper.py', join(peersDir, 'openai', `${job.model}.pt`)]];
  if (job.engine === 'whisper.cpp') return [python(join(peersDir, 'whisper.cpp')), ['bench/worker_whisper_cpp.py', join(peersDir, 'ggml')]];
  return [process.execPath, [workerScript(job.engine === 'transformers.js' ? 'worker-transformers' : 'worker-audiodecode')]];
}

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
  const [command, args] = workerCommand(job);
  return runWorker(command, [...args, JSON.stringify(spec)], { ...process.env, OMP_NUM_THREADS: String(THREADS) });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

// The greedy jobs first, beam 5 (the slowest) last; the table keeps the matrix's order. The results
// are written after every job, so an interrupted run keeps the rows it finished.
const order = [...jobs].sort((a, b) => Number(a.beam > 1) - Number(b.beam > 1));
const rowsOf = new Map<Job, Row[]>();
let rows: Row[] = [];
for (const job of order) {
  process.stderr.write(`bench: ${job.model} ${job.engine} ${job.computeType} beam ${job.beam}\n`);
  const { out, spawnedAt } = await spawnWorker(job);
  const done: Row[] = [];
  for (const r of out.results) {
    const workload = job.workloads.find((w) => w.name === r.name)!;
    const wall = median(r.walls);
    done.push({
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
  rowsOf.set(job, done);
  rows = jobs.flatMap((j) => rowsOf.get(j) ?? []);
  await report(rowsOf.size === jobs.length);
}

async function report(final: boolean): Promise<void> {
  // Like for like: the peer's row at the same model, workload, precision and beam. openai-whisper has
  // float32 rows only, and is every row's comparator at its beam (our int8 default against it is the
  // headline "x times OpenAI Whisper on CPU"; the header says so).
  const peer = (engine: Engine, r: Row): Row | undefined =>
    rows.find((p) => p.engine === engine && p.model === r.model && p.workload === r.workload && p.beam === r.beam && (engine === 'openai-whisper' || p.computeType === r.computeType));
  const ratio = (engine: Engine, r: Row): string => {
    const p = peer(engine, r);
    return p && r.engine !== engine ? `${(r.rtf / p.rtf).toFixed(2)}x` : '';
  };
  const peerWer = (engine: Engine, r: Row): string => {
    const p = peer(engine, r);
    return p && r.engine !== engine ? `${(p.wer * 100).toFixed(1)}%` : '';
  };
  const withWer = (engine: Engine, r: Row): string => `${ratio(engine, r)} ${peerWer(engine, r) && `(${peerWer(engine, r)})`}`;
  const header =
    '| model | engine | workload | compute | beam | audio s | wall s | RTF | WER | vs faster-whisper (its WER) | vs faster-whisper-batched (its WER) | vs transformers.js | vs openai-whisper, its float32 (its WER) | vs whisper.cpp (its WER) | peak RSS MB | cold start s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.model} | ${r.engine} | ${r.workload} | ${r.computeType} | ${r.beam} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${(r.wer * 100).toFixed(1)}% | ${withWer('faster-whisper', r)} | ${withWer('faster-whisper-batched', r)} | ${ratio('transformers.js', r)} | ${withWer('openai-whisper', r)} | ${withWer('whisper.cpp', r)} | ${r.peakRssMb} | ${r.coldStartS} |`,
  );
  const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
  const md = `# Benchmark (npm run bench)

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GiB, Node ${machine.node}, ${machine.date}; ${THREADS} threads for every engine.
Models: ${MODELS.join(', ')}: the same weights for all (Systran/faster-whisper-*, CTranslate2; ONNX converted by tools/convert_ct2.py); language given as English to every engine.
Temperature fallback on. Sequential engines without VAD (faster-whisper's vad_filter=False); the batched ones (audiodecode-batched,
faster-whisper-batched = BatchedInferencePipeline) cut Silero VAD chunks of at most 30 s and decode ${BATCH_SIZE} at a time.
${ENGINE_FILTER ? `Engines: ${ENGINE_FILTER.join(', ')} only (BENCH_ENGINES).\n` : ''}${rowsOf.size < jobs.length ? `Partial: ${rowsOf.size} of ${jobs.length} jobs finished.\n` : ''}Wall: median of ${QUICK ? 1 : RUNS} runs after a warm-up run of the same workload; cold start: process spawn to model ready;
RTF = audio s / wall s; peak RSS: the engine process's maximum over all its workloads.
Every engine runs with the images' allocator setting (${Object.entries(imageAllocatorEnv()).map(([k, v]) => `${k}=${v}`).join(', ')}; Dockerfile.cpu).
${short.name}: ${short.files.length} short files submitted at once (AudioDecode batches their windows; the peers take them one by one).
Ratios are RTF over the peer's RTF on the same model, workload, precision and beam; the peer's WER beside it.
Except openai-whisper, which runs float32 only on the CPU (fp16 is CUDA only): \`vs openai-whisper\` compares every row, int8 ones
included, with openai-whisper's float32 row at the same beam (int8 rows: our CPU default against OpenAI's reference as it runs on a CPU).
whisper.cpp (pywhispercpp 1.5.1 = whisper.cpp 1.8.5; ggml converted by tools/peers/ct2_to_ggml.py) runs q8_0, labelled int8
and compared with int8 rows, and f16, labelled float16 (no like-for-like comparator: no engine here runs float16 on the CPU);
it conditions on the previous text (no_context=False) as the others do; its temperature fallback and best_of are its defaults.
openai-whisper 20250625 (torch 2.9.1, checkpoint by tools/peers/ct2_to_openai.py): model.transcribe's defaults, fp16=False.

${header}
${lines.join('\n')}
`;
  const svg = await rtfChartSvg(rows);
  writeResults(OUT_NAME, md, { machine, rows }, final);
  writeFileSync(join(resultsDir, `${OUT_NAME}.svg`), svg);
}
