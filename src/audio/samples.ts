// Audio held by the engine: float32 in [-1, 1], or the 16-bit PCM that ffmpeg decodes to, kept as
// is and scaled only where a stage reads it. An hour of 16 kHz audio is 115 MB as 16-bit against
// 230 MB as float32, and 16 bits is all a decoded file carries (faster-whisper decodes to s16 too).

export type Samples = Float32Array | Int16Array;

const PCM16_SCALE = 1 / 32768;

/** Sample `i` as a float. */
export function sampleAt(samples: Samples, i: number): number {
  return samples instanceof Int16Array ? samples[i] * PCM16_SCALE : samples[i];
}

/** Samples [start, end) of `samples` as floats into `target` at `offset`. */
export function copySamples(target: Float32Array, offset: number, samples: Samples, start: number, end: number): void {
  if (samples instanceof Float32Array) {
    target.set(samples.subarray(start, end), offset);
    return;
  }
  for (let i = start; i < end; i++) target[offset + i - start] = samples[i] * PCM16_SCALE;
}

/** The whole of `samples` as float32 (a copy only when it is 16-bit). */
export function toFloat32(samples: Samples): Float32Array {
  if (samples instanceof Float32Array) return samples;
  const out = new Float32Array(samples.length);
  copySamples(out, 0, samples, 0, samples.length);
  return out;
}
