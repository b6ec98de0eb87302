// A caller's transcript must not depend on what other callers send at the same moment: every clip
// decoded alone and decoded in batches with others gives the same text and the same timestamps.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhisperInference, type TranscriptionResult } from '../src/index.js';
import { audioDir, audioPath, scratch } from './helpers.js';

interface Clip {
  name: string;
  path: string;
}

/** Clips of different loudness (-24 to +6 dB) and length (1.5 s to 45 s, so some span two windows). */
function makeClips(): Clip[] {
  const dir = scratch();
  const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string }[];
  const clip = (i: number): string => join(audioDir, 'hifitts', manifest[i].audio);
  const clips: Clip[] = [];
  const gains = [-24, -12, -6, 0, 6];
  for (let i = 0; i < 10; i++) {
    const gain = gains[i % gains.length];
    const path = join(dir, `short-${i}.wav`);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', clip(i * 7), '-af', `volume=${gain}dB`, path]);
    clips.push({ name: `hifitts[${i * 7}] at ${gain} dB`, path });
  }
  // three clips joined, 10-25 s
  for (let i = 0; i < 3; i++) {
    const path = join(dir, `joined-${i}.wav`);
    const inputs = [0, 1, 2].flatMap((k) => ['-i', clip(20 + i * 3 + k)]);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', `concat=n=3:v=0:a=1,volume=${gains[i + 1]}dB`, path]);
    clips.push({ name: `three hifitts clips joined at ${gains[i + 1]} dB`, path });
  }
  const long = join(dir, 'gettysburg-45s.wav');
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', audioPath('gettysburg.wav'), '-t', '45', '-af', 'volume=-6dB', long]);
  clips.push({ name: 'gettysburg, first 45 s at -6 dB', path: long });
  return clips;
}

const timed = (r: TranscriptionResult): { text: string; segments: [number, number, string][] } => ({ text: r.text, segments: r.segments.map((s) => [s.start, s.end, s.text]) });

describe.each([
  ['tiny.en', 'int8'],
  ['base', 'int8'],
  ['tiny.en', 'float32'],
] as const)('batch invariance, %s %s', (model, computeType) => {
  let clips: Clip[];
  let whisper: WhisperInference;
  const batchSizes: number[] = [];
  beforeAll(async () => {
    clips = makeClips();
    whisper = new WhisperInference({ model, computeType, useBatchedInference: true, batchSize: 8, threads: 2, onBatch: (n) => batchSizes.push(n) });
    await whisper.load();
  });
  afterAll(async () => {
    await whisper?.close();
  });

  it('every clip decoded alone equals the same clip decoded in batches with the others: text and timestamps', async () => {
    const alone: TranscriptionResult[] = [];
    for (const c of clips) alone.push(await whisper.transcribeFile(c.path, { language: 'en' }));
    batchSizes.length = 0;
    const together = await Promise.all(clips.map((c) => whisper.transcribeFile(c.path, { language: 'en' })));
    // the clips really shared batches: windows of different requests decoded together
    expect(Math.max(...batchSizes)).toBeGreaterThan(1);
    clips.forEach((c, i) => {
      expect(alone[i].text.length, c.name).toBeGreaterThan(0);
      expect(timed(together[i]), c.name).toEqual(timed(alone[i]));
    });
  }, 300_000);
});
