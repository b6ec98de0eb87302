// Slaney-style mel filterbank (librosa.filters.mel with htk=False, norm="slaney"), which is
// what OpenAI Whisper's mel_filters.npz holds.
import { SAMPLE_RATE } from '../audio/ffmpeg.js';

function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/** Dense [nMels x (nFft/2+1)] weights, row-major. */
export function melFilterbank(nMels: number, nFft = 400, sampleRate = SAMPLE_RATE): Float64Array {
  const nBins = nFft / 2 + 1;
  const fftFreqs = Array.from({ length: nBins }, (_, k) => (k * sampleRate) / nFft);
  const maxMel = hzToMel(sampleRate / 2);
  const melHz = Array.from({ length: nMels + 2 }, (_, i) => melToHz((i * maxMel) / (nMels + 1)));
  const out = new Float64Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lowerWidth = melHz[m + 1] - melHz[m];
    const upperWidth = melHz[m + 2] - melHz[m + 1];
    const norm = 2 / (melHz[m + 2] - melHz[m]);
    for (let k = 0; k < nBins; k++) {
      const lower = (fftFreqs[k] - melHz[m]) / lowerWidth;
      const upper = (melHz[m + 2] - fftFreqs[k]) / upperWidth;
      out[m * nBins + k] = Math.max(0, Math.min(lower, upper)) * norm;
    }
  }
  return out;
}
