// npm run bench:server: requests/s and aggregate RTF of one transcription function at 1, 4 and
// 16 concurrent clients, with dynamic batching (batch 8) and without it (batch 1).
// Writes bench/results/concurrency.{md,json}.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '../src/env.js';
import { wordErrorRate } from '../src/text/wer.js';
import { startFunction } from '../tools/local-stack.js';
import { writeResults } from './results.js';

const manifest = JSON.parse(readFileSync(join(sharedDir(), 'audio', 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; text: string; duration: number }[];
const clips = manifest.map((c) => ({ bytes: readFileSync(join(sharedDir(), 'audio', 'hifitts', c.audio)), text: c.text, duration: c.duration }));
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 48);

interface Row {
  batchSize: number;
  clients: number;
  requests: number;
  wallSeconds: number;
  requestsPerSecond: number;
  audioSeconds: number;
  aggregateRtf: number;
  p50LatencyS: number;
  p95LatencyS: number;
  meanWer: number;
}

const rows: Row[] = [];
for (const batchSize of [1, 8]) {
  const server = await startFunction('transcribe', { AUDIODECODE_BATCH_SIZE: String(batchSize), AUDIODECODE_MAX_QUEUE: '64' });
  try {
    for (const clients of [1, 4, 16]) {
      let next = 0;
      const latencies: number[] = [];
      const wers: number[] = [];
      let audio = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = next++; i < REQUESTS; i = next++) {
            const clip = clips[i % clips.length];
            const form = new FormData();
            form.append('file', new Blob([clip.bytes]), 'clip.flac');
            const t = performance.now();
            const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
            if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
            const { text } = (await res.json()) as { text: string };
            latencies.push((performance.now() - t) / 1000);
            wers.push(wordErrorRate(clip.text, text));
            audio += clip.duration;
          }
        }),
      );
      const wall = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const row: Row = {
        batchSize,
        clients,
        requests: REQUESTS,
        wallSeconds: +wall.toFixed(2),
        requestsPerSecond: +(REQUESTS / wall).toFixed(2),
        audioSeconds: +audio.toFixed(1),
        aggregateRtf: +(audio / wall).toFixed(1),
        p50LatencyS: +latencies[Math.floor(latencies.length / 2)].toFixed(2),
        p95LatencyS: +latencies[Math.floor(latencies.length * 0.95)].toFixed(2),
        meanWer: +(wers.reduce((a, b) => a + b, 0) / wers.length).toFixed(3),
      };
      rows.push(row);
      process.stderr.write(`bench:server ${JSON.stringify(row)}\n`);
    }
  } finally {
    await server.stop();
  }
}

const md = [
  '# Concurrency benchmark (npm run bench:server)',
  '',
  `One transcription function on this machine (tiny.en int8, CPU, 2 threads), ${REQUESTS} requests of short human speech clips (hifitts, 1.5-10 s) per row, spread over N concurrent clients.`,
  '',
  '| batch size | clients | requests/s | aggregate RTF | p50 latency s | p95 latency s | mean WER |',
  '|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.batchSize} | ${r.clients} | ${r.requestsPerSecond} | ${r.aggregateRtf} | ${r.p50LatencyS} | ${r.p95LatencyS} | ${(r.meanWer * 100).toFixed(1)}% |`),
  '',
].join('\n');
writeResults('concurrency', md, { rows });
