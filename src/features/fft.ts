// A mixed-radix FFT planned once for one size. Written by hand because Whisper's n_fft is 400
// (= 4*4*5*5), which the maintained npm FFTs (power-of-two only) cannot do, and a plan with
// preallocated scratch keeps the STFT free of per-frame allocation.

function factorize(n: number): number[] {
  const factors: number[] = [];
  for (const p of [4, 2, 3, 5]) {
    while (n % p === 0) {
      factors.push(p);
      n /= p;
    }
  }
  for (let p = 7; n > 1; p += 2) {
    while (n % p === 0) {
      factors.push(p);
      n /= p;
    }
  }
  return factors;
}

export class FftPlan {
  private readonly factors: number[];
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly scratchRe: Float64Array;
  private readonly scratchIm: Float64Array;

  constructor(readonly size: number) {
    this.factors = factorize(size);
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let k = 0; k < size; k++) {
      this.cos[k] = Math.cos((-2 * Math.PI * k) / size);
      this.sin[k] = Math.sin((-2 * Math.PI * k) / size);
    }
    const maxFactor = Math.max(...this.factors, 1);
    this.scratchRe = new Float64Array(maxFactor);
    this.scratchIm = new Float64Array(maxFactor);
  }

  /** Forward DFT of a real signal `input` (length `size`) into outRe/outIm (length `size`). */
  forwardReal(input: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.recurse(input, 0, 1, outRe, outIm, 0, this.size, 0);
  }

  private recurse(input: Float64Array, inOffset: number, stride: number, re: Float64Array, im: Float64Array, outOffset: number, n: number, depth: number): void {
    if (n === 1) {
      re[outOffset] = input[inOffset];
      im[outOffset] = 0;
      return;
    }
    const p = this.factors[depth];
    const m = n / p;
    for (let q = 0; q < p; q++) {
      this.recurse(input, inOffset + q * stride, stride * p, re, im, outOffset + q * m, m, depth + 1);
    }
    // butterflies: combine p sub-transforms of length m; twiddle index step is size/n
    const twStep = this.size / n;
    const sRe = this.scratchRe;
    const sIm = this.scratchIm;
    for (let k = 0; k < m; k++) {
      for (let q = 0; q < p; q++) {
        const idx = outOffset + q * m + k;
        const t = (q * k * twStep) % this.size;
        const c = this.cos[t];
        const s = this.sin[t];
        sRe[q] = re[idx] * c - im[idx] * s;
        sIm[q] = re[idx] * s + im[idx] * c;
      }
      for (let r = 0; r < p; r++) {
        let accRe = 0;
        let accIm = 0;
        const rootStep = (r * m * twStep) % this.size; // W_p^r in units of the size-N table
        for (let q = 0; q < p; q++) {
          const t = (q * rootStep) % this.size;
          accRe += sRe[q] * this.cos[t] - sIm[q] * this.sin[t];
          accIm += sRe[q] * this.sin[t] + sIm[q] * this.cos[t];
        }
        re[outOffset + r * m + k] = accRe;
        im[outOffset + r * m + k] = accIm;
      }
    }
  }
}
