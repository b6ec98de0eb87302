import { describe, expect, it } from 'vitest';
import { mergeRegions, speechRegions, SpeechTimeline, DEFAULT_VAD } from '../src/pipeline/vad.js';

const FRAME = 512;

describe('speech regions (Silero algorithm)', () => {
  it('finds one padded region per burst of speech and drops short gaps only when below min silence', () => {
    // 2 s speech, 3 s silence, 1 s speech at 31.25 frames/s
    const probs = Float32Array.from({ length: 200 }, (_, i) => (i < 62 || (i >= 156 && i < 187) ? 0.9 : 0.05));
    const regions = speechRegions(probs, 200 * FRAME, DEFAULT_VAD);
    expect(regions.length).toBe(2);
    expect(regions[0].start).toBe(0);
    expect(regions[0].end).toBe(62 * FRAME + 6400); // + 400 ms pad
    expect(regions[1].start).toBe(156 * FRAME - 6400);
  });

  it('merges neighbouring regions into chunks no longer than the limit', () => {
    const s = 16000;
    const chunks = mergeRegions([{ start: 0, end: 10 * s }, { start: 12 * s, end: 25 * s }, { start: 26 * s, end: 40 * s }, { start: 41 * s, end: 110 * s }], 30 * s);
    for (const c of chunks) expect(c.end - c.start).toBeLessThanOrEqual(30 * s);
    expect(chunks[0]).toEqual({ start: 0, end: 25 * s });
    expect(chunks.reduce((n, c) => n + (c.end - c.start), 0)).toBeGreaterThanOrEqual(10 * s + 13 * s + 14 * s + 69 * s);
  });

  it('maps times on the concatenated speech back to the original audio', () => {
    const audio = new Float32Array(16000 * 10);
    const timeline = new SpeechTimeline(audio, [{ start: 16000, end: 32000 }, { start: 80000, end: 96000 }]);
    expect(timeline.length).toBe(32000);
    expect(timeline.toOriginal(0.5)).toBeCloseTo(1.5, 6);
    expect(timeline.toOriginal(1.5)).toBeCloseTo(5.5, 6);
  });

  it('reads the speech end to end from the audio, across region edges, leaving the audio as it was', () => {
    const audio = Float32Array.from({ length: 16000 * 10 }, (_, i) => i);
    const regions = [{ start: 100, end: 16000 }, { start: 20000, end: 20000 }, { start: 20000, end: 50000 }, { start: 50000, end: 90000 }];
    const timeline = new SpeechTimeline(audio, regions);
    const laidOut = regions.flatMap((r) => [...audio.subarray(r.start, r.end)]);
    expect(timeline.length).toBe(laidOut.length);
    expect([...timeline.slice()]).toEqual(laidOut);
    // a range that starts inside one region and ends inside a later one, and one past the end
    expect([...timeline.slice(15_890, 15_910)]).toEqual(laidOut.slice(15_890, 15_910));
    expect([...timeline.slice(85_890, 85_910)]).toEqual([...laidOut.slice(85_890), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(audio[20000]).toBe(20000);
  });
});
