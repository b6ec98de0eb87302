// Logit processing as in OpenAI Whisper's decoding.py: suppressed tokens, blank/eot suppressed at
// the start, and the timestamp rules (pairs, monotonic, first timestamp bounded, timestamps
// forced when their total probability beats any text token).
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';

export interface FilterContext {
  tokenizer: WhisperTokenizer;
  suppress: Int32Array;
  beginSuppress: Int32Array;
  withTimestamps: boolean;
  maxInitialTimestampIndex: number;
}

export function suppressedTokens(tokenizer: WhisperTokenizer, configured: number[]): Int32Array {
  const set = new Set(configured);
  for (const t of [tokenizer.transcribe, tokenizer.translate, tokenizer.sot, tokenizer.sotPrev, tokenizer.sotLm, tokenizer.noSpeech]) set.add(t);
  return Int32Array.from([...set].sort((a, b) => a - b));
}

/** In place on one row of logits; `generated` are the tokens sampled so far for this row. */
export function applyFilters(logits: Float32Array, generated: number[], ctx: FilterContext): void {
  for (const t of ctx.suppress) logits[t] = -Infinity;
  if (generated.length === 0) for (const t of ctx.beginSuppress) logits[t] = -Infinity;
  const tb = ctx.tokenizer.timestampBegin;
  const eot = ctx.tokenizer.eot;
  if (!ctx.withTimestamps) {
    for (let t = tb; t < logits.length; t++) logits[t] = -Infinity;
    return;
  }
  logits[ctx.tokenizer.noTimestamps] = -Infinity;
  const n = generated.length;
  const lastWasTimestamp = n >= 1 && generated[n - 1] >= tb;
  const penultimateWasTimestamp = n < 2 || generated[n - 2] >= tb;
  if (lastWasTimestamp) {
    if (penultimateWasTimestamp) logits.fill(-Infinity, tb);
    else logits.fill(-Infinity, 0, eot);
  }
  let lastTimestamp = -1;
  for (let i = n - 1; i >= 0; i--) {
    if (generated[i] >= tb) {
      lastTimestamp = generated[i];
      break;
    }
  }
  if (lastTimestamp >= 0) {
    // timestamps never go back; a closing timestamp may repeat the opening one
    const bound = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1;
    logits.fill(-Infinity, tb, bound);
  }
  if (n === 0) {
    logits.fill(-Infinity, 0, tb);
    if (ctx.maxInitialTimestampIndex >= 0) logits.fill(-Infinity, tb + ctx.maxInitialTimestampIndex + 1);
  }
  // when the timestamps together are likelier than any single text token, emit a timestamp
  // (OpenAI compares log-probabilities; their shared normaliser cancels, so raw logits suffice)
  let maxText = -Infinity;
  for (let t = 0; t < tb; t++) if (logits[t] > maxText) maxText = logits[t];
  if (logSumExp(logits, tb, logits.length) > maxText) logits.fill(-Infinity, 0, tb);
}

/**
 * log-sum-exp of `filtered`, a copy of `original` with some entries set to -Infinity, given
 * `originalLogZ`, the log-sum-exp of `original` (the native decoder graph computes it). Taking
 * the few removed entries' share away costs a comparison per token and an exp per removed token,
 * where summing the rest costs an exp per vocabulary entry: that JS loop was the decoder step's
 * largest cost after the model itself. Without `originalLogZ`, or when most of the mass or most
 * entries were removed (the difference would lose precision or save nothing), it sums directly.
 */
export function filteredLogSumExp(original: Float32Array, filtered: Float32Array, originalLogZ?: number): number {
  if (originalLogZ === undefined || !Number.isFinite(originalLogZ)) return logSumExp(filtered, 0, filtered.length);
  // one walk of the vocabulary counts and sums the removed entries (a beam step runs this per hypothesis)
  const mostRemoved = filtered.length / 8;
  let removedCount = 0;
  let removed = 0;
  for (let i = 0; i < filtered.length; i++) {
    if (filtered[i] !== -Infinity || original[i] === -Infinity) continue;
    if (++removedCount > mostRemoved) return logSumExp(filtered, 0, filtered.length);
    removed += Math.exp(original[i] - originalLogZ);
  }
  if (removed > 0.99) return logSumExp(filtered, 0, filtered.length);
  return originalLogZ + Math.log1p(-removed);
}

export function logSumExp(x: Float32Array, from: number, to: number): number {
  let max = -Infinity;
  for (let i = from; i < to; i++) if (x[i] > max) max = x[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = from; i < to; i++) sum += Math.exp(x[i] - max);
  return max + Math.log(sum);
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
