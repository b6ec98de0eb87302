// Silero VAD v6 as faster-whisper runs it (its model file, its 64-sample context, its padding),
// on our onnxruntime-node, and the speech-region algorithm of Silero's get_speech_timestamps as
// faster-whisper uses it. This export of the model takes a sequence of frames in one call (the
// LSTM state runs along the first axis), so a block of frames costs one session run, not one each.
import { resolveVadModel } from '../model/vad-file.js';
import { asSource, AudioSource } from '../audio/source.js';
import { CHUNK_SECONDS } from '../features/log-mel.js';
import { ort, threadOptions } from '../model/runtime.js';

const WINDOW = 512; // samples per VAD frame at 16 kHz
const CONTEXT = 64; // each frame sees the previous frame's last 64 samples
const BLOCK_FRAMES = 1024; // frames per session run (33 s of audio): bounded memory on any length

export interface VadOptions {
  threshold: number;
  minSpeechMs: number;
  maxSpeechSeconds: number;
  minSilenceMs: number;
  speechPadMs: number;
}

/** faster-whisper's defaults for its sequential vad_filter. */
export const DEFAULT_VAD: VadOptions = { threshold: 0.5, minSpeechMs: 0, maxSpeechSeconds: Infinity, minSilenceMs: 2000, speechPadMs: 400 };

/** faster-whisper's BatchedInferencePipeline VAD settings: chunks of at most 30 s cut at short silences. */
export const BATCHED_VAD: VadOptions = { ...DEFAULT_VAD, maxSpeechSeconds: CHUNK_SECONDS, minSilenceMs: 160 };

export interface Region {
  start: number; // samples
  end: number;
}

export class SileroVad {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(): Promise<SileroVad> {
    const session = await ort.InferenceSession.create(resolveVadModel(), { ...threadOptions(1), graphOptimizationLevel: 'all' });
    return new SileroVad(session);
  }

  /**
   * Speech probability of each 512-sample frame (32 ms). Like faster-whisper, the audio is padded
   * to a whole frame plus up to one (a length that is a multiple of 512 gets one frame of zeros).
   */
  async probabilities(audio: Float32Array | AudioSource): Promise<Float32Array> {
    const samples = asSource(audio);
    const frames = Math.floor(samples.length / WINDOW) + 1;
    const probs = new Float32Array(frames);
    let h: ort.Tensor = new ort.Tensor('float32', new Float32Array(128), [1, 1, 128]);
    let c: ort.Tensor = new ort.Tensor('float32', new Float32Array(128), [1, 1, 128]);
    const block = new Float32Array(BLOCK_FRAMES * WINDOW);
    const input = new Float32Array(BLOCK_FRAMES * (CONTEXT + WINDOW));
    const tail = new Float32Array(CONTEXT); // the last frame's end, zeros before the first
    for (let first = 0; first < frames; first += BLOCK_FRAMES) {
      const count = Math.min(BLOCK_FRAMES, frames - first);
      samples.read(block, 0, first * WINDOW, (first + BLOCK_FRAMES) * WINDOW); // past the end reads as zeros
      for (let f = 0; f < count; f++) {
        const row = f * (CONTEXT + WINDOW);
        input.set(f === 0 ? tail : block.subarray(f * WINDOW - CONTEXT, f * WINDOW), row);
        input.set(block.subarray(f * WINDOW, (f + 1) * WINDOW), row + CONTEXT);
      }
      tail.set(block.subarray(count * WINDOW - CONTEXT, count * WINDOW));
      const out = await this.session.run({ input: new ort.Tensor('float32', input.subarray(0, count * (CONTEXT + WINDOW)), [count, CONTEXT + WINDOW]), h, c });
      probs.set((out.speech_probs.data as Float32Array).subarray(0, count), first);
      h = out.hn;
      c = out.cn;
    }
    return probs;
  }

  async speechRegions(audio: Float32Array | AudioSource, options: VadOptions = DEFAULT_VAD): Promise<Region[]> {
    const samples = asSource(audio);
    return speechRegions(await this.probabilities(samples), samples.length, options);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Silero's get_speech_timestamps over precomputed frame probabilities. */
export function speechRegions(probs: Float32Array, length: number, o: VadOptions): Region[] {
  const sr = 16000;
  const negThreshold = Math.max(o.threshold - 0.15, 0.01);
  const minSpeech = (sr * o.minSpeechMs) / 1000;
  const pad = Math.floor((sr * o.speechPadMs) / 1000);
  const maxSpeech = sr * o.maxSpeechSeconds - WINDOW - 2 * pad;
  const minSilence = (sr * o.minSilenceMs) / 1000;
  const minSilenceAtMaxSpeech = (sr * 98) / 1000;
  const speeches: Region[] = [];
  let current: Region | null = null;
  let triggered = false;
  let tempEnd = 0;
  let prevEnd = 0;
  let nextStart = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    const at = WINDOW * i;
    if (p >= o.threshold && tempEnd) {
      tempEnd = 0;
      if (nextStart < prevEnd) nextStart = at;
    }
    if (p >= o.threshold && !triggered) {
      triggered = true;
      current = { start: at, end: 0 };
      continue;
    }
    if (triggered && current && at - current.start > maxSpeech) {
      if (prevEnd) {
        speeches.push({ start: current.start, end: prevEnd });
        if (nextStart < prevEnd) {
          triggered = false;
          current = null;
        } else current = { start: nextStart, end: 0 };
      } else {
        speeches.push({ start: current.start, end: at });
        current = null;
        triggered = false;
      }
      prevEnd = nextStart = tempEnd = 0;
      continue;
    }
    if (p < negThreshold && triggered && current) {
      if (!tempEnd) tempEnd = at;
      if (at - tempEnd > minSilenceAtMaxSpeech) prevEnd = tempEnd;
      if (at - tempEnd < minSilence) continue;
      if (tempEnd - current.start > minSpeech) speeches.push({ start: current.start, end: tempEnd });
      current = null;
      prevEnd = nextStart = tempEnd = 0;
      triggered = false;
    }
  }
  if (current && length - current.start > minSpeech) speeches.push({ start: current.start, end: length });
  // pad each region, splitting short gaps between neighbours
  for (let i = 0; i < speeches.length; i++) {
    const s = speeches[i];
    if (i === 0) s.start = Math.max(0, s.start - pad);
    if (i < speeches.length - 1) {
      const next = speeches[i + 1];
      const gap = next.start - s.end;
      if (gap < 2 * pad) {
        s.end += Math.floor(gap / 2);
        next.start = Math.max(0, next.start - Math.floor(gap / 2));
      } else {
        s.end = Math.min(length, s.end + pad);
        next.start = Math.max(0, next.start - pad);
      }
    } else s.end = Math.min(length, s.end + pad);
  }
  return speeches;
}

/** Group consecutive regions into chunks of at most `maxSamples` (a region longer is split). */
export function mergeRegions(regions: Region[], maxSamples: number): Region[] {
  const chunks: Region[] = [];
  for (const r of regions) {
    for (let start = r.start; start < r.end; start += maxSamples) {
      const piece = { start, end: Math.min(r.end, start + maxSamples) };
      const last = chunks[chunks.length - 1];
      if (last && piece.end - last.start <= maxSamples) last.end = piece.end;
      else chunks.push(piece);
    }
  }
  return chunks;
}

/** Speech regions laid end to end, read straight from the audio (nothing is copied), and the way back to original times. */
export class SpeechTimeline extends AudioSource {
  /** Where each region starts on the concatenated speech. */
  private readonly offsets: number[] = [];
  readonly length: number;
  private readonly audio: AudioSource;

  constructor(audio: Float32Array | AudioSource, readonly regions: Region[]) {
    super();
    this.audio = asSource(audio);
    let total = 0;
    for (const r of regions) {
      this.offsets.push(total);
      total += r.end - r.start;
    }
    this.length = total;
  }

  protected readWithin(target: Float32Array, offset: number, start: number, end: number): void {
    for (let i = this.regionAt(start); start < end; i++) {
      const take = Math.min(end, this.offsets[i] + this.regions[i].end - this.regions[i].start) - start;
      const from = this.regions[i].start + start - this.offsets[i];
      this.audio.read(target, offset, from, from + take);
      offset += take;
      start += take;
    }
  }

  /** The region that holds position `at` of the concatenated speech. */
  private regionAt(at: number): number {
    let low = 0;
    let high = this.offsets.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.offsets[mid] <= at) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** Original time (s) of a time (s) on the concatenated speech. */
  toOriginal(seconds: number): number {
    if (this.offsets.length === 0) return seconds;
    const at = seconds * 16000;
    const i = this.regionAt(at);
    return (this.regions[i].start + Math.min(at - this.offsets[i], this.regions[i].end - this.regions[i].start)) / 16000;
  }
}
