// No words lost to the VAD gate at ordinary recording levels (a distant microphone is -20 dB):
// our Silero probabilities and speech regions are faster-whisper's on the same audio, frame by
// frame, and the transcript at every level keeps the words of the 0 dB one, in both modes.
import { diffArrays } from 'diff';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../src/audio/ffmpeg.js';
import { cacheDir } from '../src/env.js';
import { BATCHED_VAD, DEFAULT_VAD, SileroVad, type VadOptions } from '../src/pipeline/vad.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { normalizeText, wordErrorRate } from '../src/text/wer.js';
import { audioPath, referenceText, scratch, TEST_MODEL } from './helpers.js';

const LEVELS_DB = [0, -10, -20, -30];
const CLIPS = ['jfk.wav', 'hifitts/longform.flac'];
const dir = scratch();
const atLevel = (clip: string, db: number): string => {
  const out = join(dir, `${clip.replace(/\W/g, '_')}${db}.wav`);
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', audioPath(clip), '-af', `volume=${db}dB`, '-ar', '16000', '-ac', '1', '-c:a', 'pcm_f32le', out]);
  return out;
};

/** faster-whisper's own Silero run (the fixture's venv): probabilities and regions of each file. */
function fasterWhisperVad(files: string[], o: VadOptions): { probs: number[]; regions: [number, number][] }[] {
  const script = `
import json, sys, numpy as np
from faster_whisper.audio import decode_audio
from faster_whisper.vad import VadOptions, get_speech_timestamps, get_vad_model
o = json.loads(sys.argv[1]); out = []
for f in sys.argv[2:]:
    a = decode_audio(f)
    probs = get_vad_model()(np.pad(a, (0, 512 - a.shape[0] % 512))).reshape(-1)
    ts = get_speech_timestamps(a, VadOptions(threshold=o['threshold'], min_speech_duration_ms=o['minSpeechMs'], max_speech_duration_s=o['maxSpeechSeconds'], min_silence_duration_ms=o['minSilenceMs'], speech_pad_ms=o['speechPadMs']))
    out.append({'probs': probs.tolist(), 'regions': [[t['start'], t['end']] for t in ts]})
print(json.dumps(out))`;
  const options = { ...o, maxSpeechSeconds: Number.isFinite(o.maxSpeechSeconds) ? o.maxSpeechSeconds : 1e9 };
  return JSON.parse(execFileSync(join(cacheDir(), 'venv', 'bin', 'python'), ['-c', script, JSON.stringify(options), ...files], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

describe('VAD at -0 to -30 dB (Silero v6, as faster-whisper runs it)', () => {
  const files = CLIPS.flatMap((clip) => LEVELS_DB.map((db) => ({ clip, db, path: atLevel(clip, db) })));
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load();
  });
  afterAll(() => vad?.release());

  it.each([
    ['sequential', DEFAULT_VAD],
    ['batched', BATCHED_VAD],
  ] as const)('probabilities frame by frame and %s speech regions equal faster-whisper\'s at every level', async (_mode, options) => {
    const theirs = fasterWhisperVad(files.map((f) => f.path), options);
    for (const [i, f] of files.entries()) {
      const audio = await decodeAudio(f.path);
      const ours = await vad.probabilities(audio);
      expect(ours.length, `${f.clip} ${f.db} dB`).toBe(theirs[i].probs.length);
      let maxDiff = 0;
      for (let k = 0; k < ours.length; k++) maxDiff = Math.max(maxDiff, Math.abs(ours[k] - theirs[i].probs[k]));
      expect(maxDiff, `${f.clip} ${f.db} dB`).toBeLessThan(1e-3);
      const regions = await vad.speechRegions(audio, options);
      expect(regions.map((r) => [r.start, r.end]), `${f.clip} ${f.db} dB`).toEqual(theirs[i].regions);
    }
  }, 120_000);
});

describe('words lost in one place', () => {
  it('counts a dropped phrase, not words heard differently', () => {
    const jfk = referenceText('jfk.wav');
    expect(wordsLostInOnePlace(jfk, jfk.replace('Americans, ask not what your ', ''))).toBe(5);
    expect(wordsLostInOnePlace(jfk, jfk.replace('ask not what your country', 'ask knot watt yore county'))).toBe(0);
    expect(wordsLostInOnePlace(jfk, jfk)).toBe(0);
  });
});

describe.each([false, true])('transcripts at every level, batched=%s (int8)', (batched) => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 8, log: () => undefined });
  afterAll(() => whisper.close());

  it.each(CLIPS)('%s keeps the words of the 0 dB transcript at -10, -20 and -30 dB', async (clip) => {
    const texts: string[] = [];
    for (const db of LEVELS_DB) texts.push((await whisper.transcribeFile(atLevel(clip, db), { language: 'en' })).text);
    const wer = texts.map((text) => wordErrorRate(referenceText(clip), text));
    const summary = `WER ${wer.map((w) => (100 * w).toFixed(1)).join(' / ')} %`;
    // A gate that drops speech leaves a run of the 0 dB words with nothing in their place (Silero
    // v5 lost "Americans ask not what your", 5 words, from jfk.wav at -20 dB). A quieter voice only
    // makes the model hear some words differently: words replaced, not lost. Measured, tiny.en on
    // longform, int8: at most 3 words lost in one place (sequential, -30 dB, "went up to it and
    // handled it i" heard as "went unhandled it and"), 1 batched; float32: 1 in either mode.
    for (const [i, db] of LEVELS_DB.entries()) {
      expect(wordsLostInOnePlace(texts[0], texts[i]), `${clip} at ${db} dB: ${summary}`).toBeLessThanOrEqual(4);
    }
    // and the rest stays the model's own accuracy: WER moves with the level as faster-whisper's does
    // on the same weights (0.6 sequential, 0.8 points batched by -30 dB), and int8 rounds differently
    // per CPU. Measured over the four levels, int8, in three runs on AMD EPYC machines: sequential
    // 3.9-5.5 %, batched 5.0-7.9 % (at most 2.2 points above its 0 dB WER); float32 4.3-5.4 % and
    // 5.2-6.5 %. Bounded at 3 points.
    for (const [i, db] of LEVELS_DB.entries()) expect(wer[i] - wer[0], `${clip} at ${db} dB: ${summary}`).toBeLessThanOrEqual(0.03);
  }, 240_000);

  it('30 s of silence is still empty', async () => {
    const silence = join(dir, 'silence.wav');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '30', silence]);
    const result = await whisper.transcribeFile(silence, { language: 'en' });
    expect(result.text).toBe('');
    expect(result.duration).toBeCloseTo(30, 1);
  });
});

/** The most words of `before` that `after` lost in one place: per run of edits, words removed minus words put in their place. */
function wordsLostInOnePlace(before: string, after: string): number {
  let most = 0;
  let run = 0;
  for (const change of diffArrays(normalizeText(before), normalizeText(after))) {
    if (change.added || change.removed) run += change.removed ? change.count : -change.count;
    else [most, run] = [Math.max(most, run), 0]; // a run of edits ends at words both share
  }
  return Math.max(most, run);
  return most;
}
