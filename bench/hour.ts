// npm run bench:hour: how memory grows with length. One hour of real speech (bench/clips.ts
// hourClip), transcribed once per mode, each in a fresh process (int8, greedy, BENCH_THREADS):
// wall time, RTF, WER and the process's peak RSS. Writes bench/results/hour.{md,json}.
import { wordErrorRate } from '../src/text/wer.js';
import { hourClip } from './clips.js';
import { writeResults } from './results.js';
import { audiodecodeWorker } from './spawn.js';

const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const MODEL = process.env.BENCH_MODEL ?? 'tiny.en';
const clip = hourClip();
const rows = [];
for (const mode of ['sequential', 'batched'] as const) {
  process.stderr.write(`bench:hour ${mode}\n`);
  // runs: 0, so the one (warm-up) run is the measurement: an hour twice would say nothing more
  const out = await audiodecodeWorker({ model: MODEL, language: 'en', computeType: 'int8', threads: THREADS, runs: 0, beam: 1, batched: mode === 'batched', workloads: [{ name: clip.name, files: clip.files }] });
  const [r] = out.results;
  rows.push({
    mode,
    audioSeconds: +r.audioSeconds.toFixed(1),
    wallSeconds: +r.warmWall!.toFixed(1),
    rtf: +(r.audioSeconds / r.warmWall!).toFixed(1),
    wer: +wordErrorRate(clip.reference, r.text).toFixed(4),
    peakRssMb: Math.round(out.peakRssMb),
  });
}
const md = [
  '# One hour of audio (npm run bench:hour)',
  '',
  `${MODEL} int8, CPU, ${THREADS} threads, greedy; ${clip.files[0].split('/').pop()} (the human long-form clip 15 times, Opus 24 kb/s), one run per mode in a fresh process (decode included; sequential without a VAD gate, as in npm run bench).`,
  '',
  '| mode | audio s | wall s | RTF | WER | peak RSS MB |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.mode} | ${r.audioSeconds} | ${r.wallSeconds} | ${r.rtf} | ${(r.wer * 100).toFixed(1)}% | ${r.peakRssMb} |`),
  '',
].join('\n');
writeResults('hour', md, { rows });
