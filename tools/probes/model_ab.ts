// Two model directories side by side on the same audio, in one process, runs alternating: the
// engine's own stage times (encode, generate) and WER of each. For a converter change, where the
// machine's speed drifts more between two bench runs than the change moves it.
//
//     npx tsx tools/probes/model_ab.ts FILE REFERENCE.txt DIR_A DIR_B [sequential|batched] [runs=3]
//
// int8 on the CPU, language en, batch 8 in batched mode; one warm-up run each, then `runs` timed
// runs of A then B; prints each side's times per run, their medians and the WER. A probe, not a
// test: its figures depend on the CPU.
import { readFileSync } from 'node:fs';
import { WhisperInference } from '../../src/index.js';
import { wordErrorRate } from '../../src/text/wer.js';

const [file, referenceFile, dirA, dirB, mode = 'batched', runsArg = '3'] = process.argv.slice(2);
if (!file || !referenceFile || !dirA || !dirB) throw new Error('usage: model_ab.ts FILE REFERENCE.txt DIR_A DIR_B [sequential|batched] [runs]');
const reference = readFileSync(referenceFile, 'utf8');
const runs = Number(runsArg);
const sides = [dirA, dirB].map((model) => ({
  model,
  whisper: new WhisperInference({ model, device: 'cpu', computeType: 'int8', useBatchedInference: mode === 'batched', batchSize: 8 }),
  encode: [] as number[],
  generate: [] as number[],
  wer: 0,
}));
for (const side of sides) side.wer = wordErrorRate(reference, (await side.whisper.transcribeFile(file, { language: 'en' })).text);
for (let r = 0; r < runs; r++) {
  for (const side of sides) {
    const { timings } = await side.whisper.transcribeFile(file, { language: 'en' });
    side.encode.push(timings.encode / 1000);
    side.generate.push(timings.generate / 1000);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (xs: number[]): number[] => xs.map((x) => +x.toFixed(2));
console.log(JSON.stringify({ file, mode, runs, sides: sides.map((s) => ({ model: s.model, wer: +(100 * s.wer).toFixed(2), encodeS: seconds(s.encode), generateS: seconds(s.generate), medianEncodeS: +median(s.encode).toFixed(2), medianGenerateS: +median(s.generate).toFixed(2) })) }, null, 1));
for (const side of sides) await side.whisper.close();
