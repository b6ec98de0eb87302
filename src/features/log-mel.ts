// Whisper's log-mel spectrogram: STFT (n_fft 400, hop 160, periodic Hann, centered with
// reflect padding), power, Slaney mel, log10 with a 1e-10 floor, clamp to (max - 8), (x + 4) / 4.
// The transform runs on onnxruntime as one matrix product per block of frames (a weightless graph,
// src/features/stft-graph.ts): SGEMM against a windowed DFT basis is ~28x faster than the JS FFT per
// frame, since n_fft = 400 has no power-of-two FFT. TypeScript only frames the audio and clamps.
import { SAMPLE_RATE } from '../audio/ffmpeg.js';
import { asSource, type AudioSource } from '../audio/source.js';
import { ort, threadOptions } from '../model/runtime.js';
import { melFilterbank } from './mel-filters.js';
import { STFT_GRAPH_BASE64 } from './stft-graph.js';

export const N_FFT = 400;
export const HOP_LENGTH = 160;
/** Mel frames per second of audio (10 ms each): the clock of seeks and of segment times in frames. */
export const FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH;
export const CHUNK_SECONDS = 30;
export const CHUNK_SAMPLES = CHUNK_SECONDS * SAMPLE_RATE;
export const CHUNK_FRAMES = CHUNK_SECONDS * FRAMES_PER_SECOND;
/** The tail padding OpenAI Whisper and faster-whisper add before the STFT (one hop). */
export const TAIL_PADDING = HOP_LENGTH;
const BINS = N_FFT / 2 + 1;
/** Frames per onnxruntime call: 1.6 MB of framed audio, so long inputs never frame all at once. */
const BLOCK_FRAMES = 1000;

export interface LogMel {
  /** [nMels x frames], row-major (the model's [n_mels, n_frames] layout). */
  data: Float32Array;
  nMels: number;
  frames: number;
}

/** [400 x 402]: Hann window times the DFT, real parts in columns 0-200, imaginary in 201-401. */
function windowedDftBasis(): Float32Array {
  const basis = new Float32Array(N_FFT * 2 * BINS);
  for (let n = 0; n < N_FFT; n++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N_FFT);
    for (let k = 0; k < BINS; k++) {
      const angle = (2 * Math.PI * ((k * n) % N_FFT)) / N_FFT;
      basis[n * 2 * BINS + k] = hann * Math.cos(angle);
      basis[n * 2 * BINS + BINS + k] = -hann * Math.sin(angle);
    }
  }
  return basis;
}

export class LogMelExtractor {
  private readonly basis: ort.Tensor;
  private readonly mel: ort.Tensor;

  private constructor(
    readonly nMels: number,
    private readonly session: ort.InferenceSession,
  ) {
    this.basis = new ort.Tensor('float32', windowedDftBasis(), [N_FFT, 2 * BINS]);
    const dense = melFilterbank(nMels, N_FFT); // [nMels x bins]
    const transposed = new Float32Array(BINS * nMels);
    for (let m = 0; m < nMels; m++) for (let k = 0; k < BINS; k++) transposed[k * nMels + m] = dense[m * BINS + k];
    this.mel = new ort.Tensor('float32', transposed, [BINS, nMels]);
  }

  static async create(nMels: number, threads = 1): Promise<LogMelExtractor> {
    const graph = Buffer.from(STFT_GRAPH_BASE64, 'base64');
    const session = await ort.InferenceSession.create(new Uint8Array(graph), { ...threadOptions(threads), graphOptimizationLevel: 'all', enableCpuMemArena: false });
    return new LogMelExtractor(nMels, session);
  }

  /**
   * Features of `samples` followed by `padSamples` zeros, as Whisper pads its input: one frame
   * per hop, the final (partial) STFT frame dropped. The clamp uses the maximum over all frames.
   */
  async compute(audio: Float32Array | AudioSource, padSamples = CHUNK_SAMPLES): Promise<LogMel> {
    const samples = asSource(audio);
    const frames = Math.floor((samples.length + padSamples) / HOP_LENGTH);
    const data = new Float32Array(this.nMels * frames);
    const max = await this.logEnergies(samples, padSamples, 0, frames, data, frames);
    scale(data, max);
    return { data, nMels: this.nMels, frames };
  }

  /** The maximum log10 energy over all frames: what `window` clamps against (one pass, nothing kept). */
  async maxLogEnergy(audio: Float32Array | AudioSource, padSamples: number): Promise<number> {
    const samples = asSource(audio);
    const frames = Math.floor((samples.length + padSamples) / HOP_LENGTH);
    const scratch = new Float32Array(this.nMels * BLOCK_FRAMES);
    const buffers = framingBuffers(); // one set for the whole pass
    let max = -Infinity;
    for (let first = 0; first < frames; first += BLOCK_FRAMES) {
      const count = Math.min(BLOCK_FRAMES, frames - first);
      max = Math.max(max, await this.logEnergies(samples, padSamples, first, count, scratch, count, buffers));
    }
    return max;
  }

  /**
   * One model input window: `count` frames from `start`, zero-padded to `frames` after the content,
   * clamped against `max` (from maxLogEnergy). Equal to sliceWindow(compute(...)) without ever
   * holding more than the window: long audio keeps one window of features in memory, not all.
   */
  async window(audio: Float32Array | AudioSource, padSamples: number, start: number, count: number, max: number, frames = CHUNK_FRAMES): Promise<Float32Array> {
    const samples = asSource(audio);
    const out = new Float32Array(this.nMels * frames);
    const total = Math.floor((samples.length + padSamples) / HOP_LENGTH);
    count = Math.max(0, Math.min(count, frames, total - start));
    const content = new Float32Array(this.nMels * count);
    await this.logEnergies(samples, padSamples, start, count, content, count);
    scale(content, max);
    for (let m = 0; m < this.nMels; m++) out.set(content.subarray(m * count, (m + 1) * count), m * frames);
    return out;
  }

  /**
   * log10 mel energies of frames [first, first + count) into `out` ([nMels x stride], starting at
   * column 0), unscaled; returns their maximum.
   */
  private async logEnergies(samples: AudioSource, padSamples: number, first: number, count: number, out: Float32Array, stride: number, buffers = framingBuffers()): Promise<number> {
    const total = samples.length + padSamples;
    const half = N_FFT / 2;
    // frames that lie wholly in the zero padding are log10(1e-10): no transform needed for them
    const audibleEnd = Math.min(first + count, Math.ceil((samples.length + half) / HOP_LENGTH) + 1);
    let max = audibleEnd < first + count ? -10 : -Infinity;
    for (let m = 0; m < this.nMels; m++) out.fill(-10, m * stride, m * stride + count);
    for (let from = first; from < audibleEnd; from += BLOCK_FRAMES) {
      const n = Math.min(BLOCK_FRAMES, audibleEnd - from);
      // one read covers the block's frames (they overlap: hop 160, width 400), zeros past the audio,
      // and at least samples [0, half] that the reflection at the start reads
      const spanStart = from * HOP_LENGTH - half;
      const spanLength = Math.max((n - 1) * HOP_LENGTH + N_FFT, half + 1 - spanStart);
      const span = buffers.span.subarray(0, spanLength);
      samples.read(span, 0, spanStart, spanStart + spanLength);
      const block = buffers.frames.subarray(0, n * N_FFT);
      for (let t = 0; t < n; t++) {
        const origin = (from + t) * HOP_LENGTH - half;
        const row = block.subarray(t * N_FFT, (t + 1) * N_FFT);
        if (origin >= 0 && origin + N_FFT <= samples.length) {
          row.set(span.subarray(origin - spanStart, origin - spanStart + N_FFT));
          continue;
        }
        // centered STFT: reflect around both ends of the padded signal (both land inside the span)
        for (let i = 0; i < N_FFT; i++) {
          let at = origin + i;
          if (at < 0) at = -at;
          if (at >= total) at = 2 * (total - 1) - at;
          row[i] = at < samples.length && at - spanStart < spanLength ? span[at - spanStart] : 0;
        }
      }
      const result = await this.session.run({ frames: new ort.Tensor('float32', block, [n, N_FFT]), basis: this.basis, mel: this.mel });
      const logMel = result.log10_mel.data as Float32Array; // [nMels x n]
      for (let m = 0; m < this.nMels; m++) {
        const src = logMel.subarray(m * n, (m + 1) * n);
        out.set(src, m * stride + (from - first));
        for (let t = 0; t < n; t++) if (src[t] > max) max = src[t];
      }
    }
    return max;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** Scratch for one block of frames: the audio it spans, and the frames laid out row by row. */
function framingBuffers(): { span: Float32Array; frames: Float32Array } {
  return { span: new Float32Array((BLOCK_FRAMES - 1) * HOP_LENGTH + N_FFT + 1), frames: new Float32Array(BLOCK_FRAMES * N_FFT) };
}

/** Whisper's dynamic range and scaling, in place: clamp to (max - 8), then (x + 4) / 4. */
function scale(data: Float32Array, max: number): void {
  const floor = max - 8;
  for (let i = 0; i < data.length; i++) data[i] = (Math.max(data[i], floor) + 4) / 4;
}

/**
 * `count` frames from `start` as one model input window of 3000 frames, zero-padded in feature
 * space after the content, as OpenAI Whisper and faster-whisper (>= 1.1) feed the last window.
 */
export function sliceWindow(mel: LogMel, start: number, count: number, frames = CHUNK_FRAMES): Float32Array {
  const out = new Float32Array(mel.nMels * frames);
  count = Math.max(0, Math.min(count, frames, mel.frames - start));
  for (let m = 0; m < mel.nMels; m++) {
    out.set(mel.data.subarray(m * mel.frames + start, m * mel.frames + start + count), m * frames);
  }
  return out;
}
