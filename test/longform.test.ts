import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSync } from 'subtitle';
import { render } from '../src/formats/index.js';
import type { Segment, TranscriptionResult } from '../src/pipeline/types.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { DEFAULT_MODEL } from '../src/model/resolve.js';
import { wordErrorRate } from '../src/text/wer.js';
import { audioPath, parity, referenceText, scratch, TEST_MODEL, transcode } from './helpers.js';

// tiny.en greedy on gettysburg: faster-whisper itself scores 13.2% (fp32) and 16.2% (int8) WER
// with these weights, so the bounds sit above what we measure with int8 (bench/results/latest.md),
// not at 10%; batched mode has no previous text to condition on.
const GETTYSBURG_MAX_WER = { sequential: 0.2, batched: 0.24 };

function expectOrderedInside(result: TranscriptionResult): void {
  let previousEnd = 0;
  for (const s of result.segments) {
    expect(s.start).toBeGreaterThanOrEqual(previousEnd - 1e-9);
    expect(s.end).toBeGreaterThanOrEqual(s.start);
    expect(s.end).toBeLessThanOrEqual(result.duration + 1e-9);
    previousEnd = s.end;
  }
}

describe.each([false, true])('long-form, batched=%s (int8)', (batched) => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 4, log: () => undefined });
  afterAll(() => whisper.close());

  // batched decodes text tokens only unless timestamps are asked for (faster-whisper's batched
  // default): one segment per VAD chunk; asked for, segments are timed inside the chunks
  it.each([
    ['gettysburg.wav', undefined],
    ['gettysburg.ogg', undefined],
    ['gettysburg.wav', true],
  ] as const)('transcribes %s (95 s) with bounded WER and ordered timestamps (withTimestamps %s)', async (clip, withTimestamps) => {
    const result = await whisper.transcribeFile(audioPath(clip), { withTimestamps });
    expect(result.duration).toBeGreaterThan(95);
    expect(wordErrorRate(referenceText(clip), result.text)).toBeLessThanOrEqual(GETTYSBURG_MAX_WER[batched ? 'batched' : 'sequential']);
    if (batched && !withTimestamps) {
      expect(result.segments.length).toBeGreaterThanOrEqual(4); // 95 s in chunks of at most 30 s
      for (const s of result.segments) expect(s.end - s.start).toBeLessThanOrEqual(30 + 1e-6);
    } else {
      expect(result.segments.length).toBeGreaterThan(4); // timed inside each window
    }
    expectOrderedInside(result);
    // the last words are there: nothing dropped at the end of the last window
    expect(result.text.toLowerCase()).toMatch(/shall not perish from/);
    // 49-52 s closes a VAD chunk where the model stops at a timestamp early; batched mode must
    // seek inside the chunk and decode the rest instead of dropping it
    expect(result.text.toLowerCase()).toMatch(/add or detract/);
    expect(result.segments[result.segments.length - 1].end).toBeGreaterThan(90);
  });

  it('gives empty text for 30 s of silence, not a hallucination', async () => {
    const result = await whisper.transcribe(new Float32Array(16000 * 30));
    expect(result.text).toBe('');
    expect(result.segments).toEqual([]);
    expect(result.duration).toBe(30);
  });

  it('keeps original timestamps around a long silence that VAD removes', async () => {
    const jfk = await (await import('../src/audio/ffmpeg.js')).decodeAudio(audioPath('jfk.wav'));
    const padded = new Float32Array(jfk.length + 16000 * 20);
    padded.set(jfk, 16000 * 20); // 20 s of silence, then the speech
    const result = await whisper.transcribe(padded);
    expect(wordErrorRate(referenceText('jfk.wav'), result.text)).toBeLessThanOrEqual(0.05);
    expect(result.segments[0].start).toBeGreaterThan(19);
    expect(result.segments[result.segments.length - 1].end).toBeLessThanOrEqual(31.01);
  });
});

describe('long-form parity with faster-whisper (fp32, greedy, no VAD)', () => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'float32', log: () => undefined });
  afterAll(() => whisper.close());

  it('seeks and conditions on previous text exactly as faster-whisper: same segments, same times', async () => {
    const expected = parity().longform;
    const result = await whisper.transcribeFile(audioPath(expected.clip), { vadFilter: false });
    expect(result.segments.map((s) => s.text)).toEqual(expected.segments.map((s) => s.text));
    result.segments.forEach((s, i) => {
      expect(s.start).toBeCloseTo(expected.segments[i].start, 2);
      // faster-whisper lets the last segment run past the end of the audio; we clamp it there
      expect(s.end).toBeCloseTo(Math.min(expected.segments[i].end, result.duration), 2);
    });
  });
});

describe('beam search parity with faster-whisper (base, fp32)', () => {
  const whisper = new WhisperInference({ model: DEFAULT_MODEL, device: 'cpu', computeType: 'float32', log: () => undefined });
  afterAll(() => whisper.close());

  // OpenAI's beam search kept other ended candidates than CTranslate2's, and here wrote "a portion at field, and a
  // final resting place" (13.6% WER) where faster-whisper writes "of that field, as a final resting place" (7.7%)
  it('beam 5 writes the words faster-whisper writes, under 10% WER on gettysburg', async () => {
    const expected = parity(DEFAULT_MODEL).beam;
    const result = await whisper.transcribeFile(audioPath(expected.clip), { beamSize: expected.beamSize, language: 'en', vadFilter: false });
    expect(wordErrorRate(expected.text, result.text)).toBe(0);
    expect(wordErrorRate(referenceText(expected.clip), result.text)).toBeLessThanOrEqual(0.1);
  });
});

describe('beam search', () => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', log: () => undefined });
  afterAll(() => whisper.close());

  // faster-whisper int8 beam 5 scores 12.5% on these weights (bench/results/latest.md); the bound leaves room for
  // the CPU's int8 rounding above what we measure (14.3% on an AMD EPYC). Beam against greedy is a close call that
  // int8 rounding tips either way (beam 12.5% vs greedy 11.4% on an AMD EPYC with VNNI, lower on others), so beam
  // may not be worse than greedy by more than two points (a few words), rather than strictly better
  it('beam 5 keeps jfk exact and gettysburg within faster-whisper\'s beam bound and two points of greedy', async () => {
    const jfk = await whisper.transcribeFile(audioPath('jfk.wav'), { beamSize: 5 });
    expect(wordErrorRate(referenceText('jfk.wav'), jfk.text)).toBe(0);
    const greedy = await whisper.transcribeFile(audioPath('gettysburg.wav'));
    const beam = await whisper.transcribeFile(audioPath('gettysburg.wav'), { beamSize: 5 });
    const greedyWer = wordErrorRate(referenceText('gettysburg.wav'), greedy.text);
    const beamWer = wordErrorRate(referenceText('gettysburg.wav'), beam.text);
    expect(beamWer).toBeLessThanOrEqual(0.16);
    expect(beamWer).toBeLessThanOrEqual(greedyWer + 0.02);
    expect(beam.text).not.toBe(greedy.text); // the beam explored: five hypotheses did not collapse onto greedy's path
    expectOrderedInside(beam);
  });
});

describe('subtitle output', () => {
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', log: () => undefined });
  afterAll(() => whisper.close());

  it('srt and vtt parse with a subtitle parser, cue for segment', async () => {
    const result = await whisper.transcribeFile(audioPath('gettysburg.ogg'));
    for (const format of ['srt', 'vtt'] as const) {
      const cues = parseSync(render(result, format)).filter((n) => n.type === 'cue');
      expect(cues.length).toBe(result.segments.length);
      cues.forEach((cue, i) => {
        const data = cue.data as { start: number; end: number; text: string };
        expect(data.start).toBe(Math.round(result.segments[i].start * 1000));
        expect(data.end).toBe(Math.round(result.segments[i].end * 1000));
        expect(data.text).toBe(result.segments[i].text.trim());
      });
    }
    const verbose = JSON.parse(render(result, 'verbose_json'));
    expect(verbose.segments.length).toBe(result.segments.length);
    expect(verbose.duration).toBeCloseTo(95.1, 0);
    expect(verbose.rtf).toBeGreaterThan(1);
  });
});

describe('the CLI', () => {
  it('transcribes a file to vtt on stdout, with RTF and stage timings on stderr', async () => {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'transcribe', audioPath('jfk.mp3'), '--compute-type', 'int8', '--device', 'cpu', '--format', 'vtt']);
    const cues = parseSync(stdout).filter((n) => n.type === 'cue');
    expect(cues.length).toBeGreaterThanOrEqual(1);
    expect(wordErrorRate(referenceText('jfk.mp3'), cues.map((c) => (c.data as { text: string }).text).join(' '))).toBe(0);
    const stages = stderr.match(/11\.0 s of audio in ([\d.]+) s \(RTF ([\d.]+)x; decode ([\d.]+), vad ([\d.]+), features ([\d.]+), encode ([\d.]+), generate ([\d.]+) s\)/);
    expect(stages, stderr).not.toBeNull();
    // decode is what the transcription waited for ffmpeg beyond the model load: on a first run
    // ffmpeg decodes while the model loads, so it may be all hidden (0.00); the other stages ran
    const [total, , decode, ...parts] = stages!.slice(1).map(Number);
    expect(parts.every((p) => p > 0)).toBe(true);
    parts.push(decode);
    // each figure is printed to 0.01 s: five parts and the total may each be 0.005 off
    expect(parts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(total + 6 * 0.005 + 1e-9);
  }, 60_000);
});

// Whisper base, the default model, at its CPU default (int8). Before int8 scaled each row, base int8
// derailed mid-clip on read English ('...it was the epocoİt E ocup provides...', WER 73% on a
// Xeon, faster-whisper 9.4%): these bounds would catch that with room to spare, and sit above what
// base float32 and faster-whisper score on the same weights (bench/results/latest.md).
describe.each([false, true])(`${DEFAULT_MODEL} int8, long-form, batched=%s`, (batched) => {
  const whisper = new WhisperInference({ model: DEFAULT_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 4, log: () => undefined });
  afterAll(() => whisper.close());

  it('4 minutes of human read speech: WER under 9%, nothing derailed', async () => {
    const result = await whisper.transcribeFile(audioPath('hifitts/longform.flac'), { language: 'en' });
    expect(wordErrorRate(referenceText('hifitts/longform.flac'), result.text)).toBeLessThan(0.09);
    expectOrderedInside(result);
    expect(result.segments.at(-1)!.end).toBeGreaterThan(235);
  });

  it('read English as a 44.1 kHz stereo mp3, language detected: WER under 10%', async () => {
    const mp3 = transcode(audioPath('multilingual.mp3'), join(scratch(), 'english-44k.mp3'), ['-t', '29.5', '-ar', '44100', '-ac', '2']);
    const result = await whisper.transcribeFile(mp3);
    expect(result.language).toBe('en');
    expect(wordErrorRate(referenceText('multilingual.mp3').split('\n')[0], result.text)).toBeLessThan(0.1);
  });
});

describe.each([false, true])('streaming segments, batched=%s (int8)', (batched) => {
  let batches = 0;
  const whisper = new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', useBatchedInference: batched, batchSize: 1, onBatch: () => batches++, log: () => undefined });
  afterAll(() => whisper.close());

  it('hands every segment to onSegment as soon as it is final: in time order, early, equal to the result', async () => {
    const seen: Segment[] = [];
    let windowsBeforeFirst = -1;
    let progressed = 0;
    const result = await whisper.transcribeFile(audioPath('hifitts/longform.flac'), {
      onSegment: (s) => {
        if (seen.length === 0) windowsBeforeFirst = batched ? batches : progressed;
        seen.push(structuredClone(s));
      },
      onProgress: () => progressed++,
    });
    expect(seen).toEqual(result.segments);
    expect(seen.map((s) => s.id)).toEqual(seen.map((_, i) => i));
    const windows = batched ? batches : progressed;
    expect(windows).toBeGreaterThan(6);
    // the first words came out while most of the 4 minutes was still to be decoded
    expect(windowsBeforeFirst, `${windowsBeforeFirst} of ${windows} windows`).toBeLessThan(windows / 3);
  });
});
