// npm run bench:longform: sequential against batched inference (batch 1, 4, 8, 16) on gettysburg
// (95 s) and a 10-minute clip: RTF, WER and peak RSS, one process per configuration.
// Writes bench/results/longform.{md,json}.
import { wordErrorRate } from '../src/text/wer.js';
import { sharedClip, tenMinuteClip } from './clips.js';
import type { WorkerOutput } from './protocol.js';
import { writeResults } from './results.js';
import { audiodecodeWorker } from './spawn.js';

const THREADS = process.env.BENCH_THREADS ?? '2';
const MODEL = process.env.BENCH_MODEL ?? 'tiny.en';
const workloads = [sharedClip('gettysburg', 'gettysburg.wav', 'gettysburg.txt'), tenMinuteClip()];
const configs = [{ mode: 'sequential' }, ...[1, 4, 8, 16].map((b) => ({ mode: 'batched', batchSize: b }))] as { mode: string; batchSize?: number }[];

function worker(config: { mode: string; batchSize?: number }): Promise<WorkerOutput> {
  return audiodecodeWorker({ model: MODEL, language: 'en', computeType: 'int8', threads: Number(THREADS), runs: 1, beam: 1, batched: config.mode === 'batched', batchSize: config.batchSize, workloads: workloads.map((w) => ({ name: w.name, files: w.files })) });
}

const rows = [];
for (const config of configs) {
  process.stderr.write(`bench:longform ${config.mode} ${config.batchSize ?? ''}\n`);
  const out = await worker(config);
  for (const [i, r] of out.results.entries()) {
    rows.push({
      workload: workloads[i].name,
      mode: config.mode,
      batchSize: config.batchSize ?? null,
      audioSeconds: +r.audioSeconds.toFixed(1),
      wallSeconds: +r.walls[0].toFixed(2),
      rtf: +(r.audioSeconds / r.walls[0]).toFixed(1),
      wer: +wordErrorRate(workloads[i].reference, r.text).toFixed(4),
      peakRssMb: Math.round(out.peakRssMb),
    });
  }
}
const md = [
  '# Long-form: sequential vs batched (npm run bench:longform)',
  '',
  `${MODEL} int8, CPU, ${THREADS} threads, greedy; one warm-up run, then one timed run per workload; peak RSS is the process maximum over both workloads.`,
  '',
  '| workload | mode | batch | audio s | wall s | RTF | WER | peak RSS MB |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.workload} | ${r.mode} | ${r.batchSize ?? '-'} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${(r.wer * 100).toFixed(1)}% | ${r.peakRssMb} |`),
  '',
].join('\n');
writeResults('longform', md, { rows });
