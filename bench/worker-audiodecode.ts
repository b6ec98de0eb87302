// One benchmark process: load once (cold start), warm up, then time each clip `runs` times.
// argv: computeType threads runs clip...   stdout: one JSON line
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';

const [computeType, threads, runs, ...clips] = process.argv.slice(2);
const batchSize = process.env.BENCH_BATCH_SIZE ? Number(process.env.BENCH_BATCH_SIZE) : undefined;
const beamSize = Number(process.env.BENCH_BEAM ?? 1);
const whisper = new WhisperInference({
  device: 'cpu',
  computeType: computeType as 'int8',
  threads: Number(threads),
  useBatchedInference: process.env.BENCH_BATCHED === '1',
  batchSize,
  log: () => undefined,
});
await whisper.load();
const readyAt = Date.now() / 1000; // the parent measures cold start from its spawn time
const results = [];
for (const clip of clips) {
  await decodeAudio(clip); // page the file in; decoding is timed below as part of each run
  const warm = await whisper.transcribeFile(clip, { beamSize });
  const walls: number[] = [];
  for (let i = 0; i < Number(runs); i++) {
    const started = performance.now();
    await whisper.transcribeFile(clip, { beamSize });
    walls.push((performance.now() - started) / 1000);
  }
  results.push({ clip, audioSeconds: warm.duration, walls, text: warm.text });
}
process.stdout.write(JSON.stringify({ readyAt, peakRssMb: process.resourceUsage().maxRSS / 1024, results }) + '\n');
await whisper.close();
