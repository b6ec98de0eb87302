// Whisper's log-mel spectrogram: STFT (n_fft 400, hop 160, periodic Hann, centered with
// reflect padding), power, Slaney mel, log10 with a 1e-10 floor, clamp to (max - 8), (x + 4) / 4.
import { FftPlan } from './fft.js';
import { melFilterbank, sparseBands, type MelBand } from './mel-filters.js';

export const N_FFT = 400;
export const HOP_LENGTH = 160;
export const CHUNK_SAMPLES = 480000; // 30 s at 16 kHz
export const CHUNK_FRAMES = 3000;
/** The tail padding OpenAI Whisper and faster-whisper add before the STFT (one hop). */
export const TAIL_PADDING = HOP_LENGTH;

export interface LogMel {
  /** [nMels x frames], row-major (the model's [n_mels, n_frames] layout). */
  data: Float32Array;
  nMels: number;
  frames: number;
}

export class LogMelExtractor {
  private readonly fft = new FftPlan(N_FFT);
  private readonly window = new Float64Array(N_FFT);
  private readonly bands: MelBand[];
  private readonly frame = new Float64Array(N_FFT);
  private readonly re = new Float64Array(N_FFT);
  private readonly im = new Float64Array(N_FFT);
  private readonly power = new Float64Array(N_FFT / 2 + 1);

  constructor(readonly nMels: number) {
    for (let i = 0; i < N_FFT; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT);
    this.bands = sparseBands(melFilterbank(nMels, N_FFT), nMels);
  }

  /**
   * Features of `samples` followed by `padSamples` zeros, as Whisper pads its input: one frame
   * per hop, the final (partial) STFT frame dropped. The clamp uses the maximum over all frames.
   */
  compute(samples: Float32Array, padSamples = CHUNK_SAMPLES): LogMel {
    const total = samples.length + padSamples;
    const frames = Math.floor(total / HOP_LENGTH);
    const data = new Float32Array(this.nMels * frames);
    const half = N_FFT / 2;
    const at = (i: number): number => {
      // centered STFT: reflect around both ends of the padded signal
      if (i < 0) i = -i;
      if (i >= total) i = 2 * (total - 1) - i;
      return i < samples.length ? samples[i] : 0;
    };
    let max = -Infinity;
    // frames that lie wholly in the zero padding are log10(1e-10): no FFT needed for them
    const lastAudible = Math.min(frames, Math.ceil((samples.length + half) / HOP_LENGTH) + 1);
    data.fill(-10);
    for (let t = 0; t < lastAudible; t++) {
      const origin = t * HOP_LENGTH - half;
      const inside = origin >= 0 && origin + N_FFT <= samples.length;
      for (let i = 0; i < N_FFT; i++) this.frame[i] = (inside ? samples[origin + i] : at(origin + i)) * this.window[i];
      this.fft.forwardReal(this.frame, this.re, this.im);
      for (let k = 0; k <= half; k++) this.power[k] = this.re[k] * this.re[k] + this.im[k] * this.im[k];
      for (let m = 0; m < this.nMels; m++) {
        const { start, weights } = this.bands[m];
        let acc = 0;
        for (let j = 0; j < weights.length; j++) acc += weights[j] * this.power[start + j];
        const v = Math.log10(Math.max(acc, 1e-10));
        data[m * frames + t] = v;
        if (v > max) max = v;
      }
    }
    if (lastAudible < frames) max = Math.max(max, -10);
    const floor = max - 8;
    for (let i = 0; i < data.length; i++) data[i] = (Math.max(data[i], floor) + 4) / 4;
    return { data, nMels: this.nMels, frames };
  }
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
