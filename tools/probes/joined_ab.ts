// Two model directories on long-form speech made of the 80 read clips laid end to end in several
// orders, sequential and batched: WER of each, per order and on average. One long clip's WER moves by
// whole words when one rounding tips a close call; each order cuts other windows and chunks, so the
// mean over orders tells two int8 schemes apart better than one file does.
//
//     npx tsx tools/probes/joined_ab.ts DIR_A DIR_B [orders=4]
//
// int8 on the CPU, language en, batch 8 in batched mode, 0.4 s of silence between clips; order k
// takes clip (i * STEP[k]) mod 80 at place i. A probe, not a test: its figures depend on the CPU.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { joinClips } from '../../bench/clips.js';
import { WhisperInference } from '../../src/index.js';
import { decodeAudio, SAMPLE_RATE } from '../../src/audio/ffmpeg.js';
import { wordErrorRate } from '../../src/text/wer.js';

const STEPS = [1, 7, 13, 29, 3, 11, 17, 19];
const [dirA, dirB, ordersArg = '4'] = process.argv.slice(2);
if (!dirA || !dirB) throw new Error('usage: joined_ab.ts DIR_A DIR_B [orders]');
const clipsDir = resolve(import.meta.dirname, '../../../shared/audio/hifitts');
const manifest = JSON.parse(readFileSync(join(clipsDir, 'manifest.json'), 'utf8')) as { audio: string; text: string }[];
const clips = await Promise.all(manifest.map((m) => decodeAudio(join(clipsDir, m.audio))));
const gap = Math.round(0.4 * SAMPLE_RATE);
const joined = STEPS.slice(0, Number(ordersArg)).map((step) => {
  const order = manifest.map((_, i) => (i * step) % manifest.length);
  return { step, audio: joinClips(clips, order, gap), reference: order.map((i) => manifest[i].text).join(' ') };
});

const percent = (x: number): number => +(100 * x).toFixed(2);
const report: Record<string, unknown>[] = [];
for (const batched of [false, true]) {
  for (const model of [dirA, dirB]) {
    const whisper = new WhisperInference({ model, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 8, log: () => undefined });
    const wers: number[] = [];
    for (const { audio, reference } of joined) wers.push(wordErrorRate(reference, (await whisper.transcribe(audio, { language: 'en' })).text));
    await whisper.close();
    report.push({ mode: batched ? 'batched' : 'sequential', model, steps: joined.map((j) => j.step), wer: wers.map(percent), meanWer: percent(wers.reduce((a, b) => a + b, 0) / wers.length) });
  }
}
console.log(JSON.stringify(report, null, 1));
