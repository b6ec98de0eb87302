// Greedy (temperature 0) and sampled (temperature > 0) decoding of a batch of audio windows with
// the key/value cache. Rows that reach end-of-text leave the batch, so later steps cost less.
import type { DecodeStep, EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { applyFilters, argmax, filteredLogSumExp, logSumExp, type FilterContext } from './logit-filters.js';

export interface DecodeOptions {
  filters: FilterContext;
  temperature: number;
  maxNewTokens: number;
  /** Seed of the sampler used at temperature > 0, so a transcription is reproducible. */
  seed?: number;
}

export interface DecodedSequence {
  tokens: number[];
  sumLogprob: number;
  avgLogprob: number;
  noSpeechProb: number;
  temperature: number;
  /** The probability the model gave the end of text that ended the sequence; undefined where it ran out of tokens, or beam search does not say. */
  endProb?: number;
}

export interface DecodeTimings {
  steps: number;
  ms: number;
}

/** `<|startofprev|>` and up to half the text context of previous text, then the sot sequence. */
export function promptTokens(tokenizer: WhisperTokenizer, previous: number[], sotSequence: number[], maxTextPositions: number): number[] {
  if (previous.length === 0) return [...sotSequence];
  // Timestamp tokens stay in the prompt, as in OpenAI and faster-whisper: without them the model
  // tends to continue the previous window's untimed text and stops emitting timestamps.
  const keep = previous.filter((t) => t < tokenizer.eot || t >= tokenizer.timestampBegin).slice(-(Math.floor(maxTextPositions / 2) - 1));
  return [tokenizer.sotPrev, ...keep, ...sotSequence];
}

/** mulberry32: a small seeded PRNG, so fallback sampling repeats exactly for the same input. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sampleToken(logits: Float32Array, temperature: number, random: () => number): number {
  if (temperature <= 0) return argmax(logits);
  const scaled = new Float64Array(logits.length);
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] / temperature);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += scaled[i] = Math.exp(logits[i] / temperature - max);
  let r = random() * sum;
  for (let i = 0; i < logits.length; i++) if ((r -= scaled[i]) <= 0) return i;
  return argmax(logits);
}

/**
 * Feed the prompts: first up to and including <|startoftranscript|>, whose logits give the
 * no-speech probability, then the rest (language, task, notimestamps). Returns the state after.
 */
export async function feedPrompts(model: WhisperOnnx, tokenizer: WhisperTokenizer, audio: EncodedAudio, prompts: number[][]): Promise<{ step: DecodeStep; noSpeech: Float64Array }> {
  const batch = prompts.length;
  const promptLength = prompts[0].length;
  if (prompts.some((p) => p.length !== promptLength)) throw new Error('prompts of one batch must have equal length');
  const vocab = model.config.vocabSize;
  const sotIndex = prompts[0].lastIndexOf(tokenizer.sot);
  const first = new BigInt64Array(batch * (sotIndex + 1));
  prompts.forEach((p, b) => p.slice(0, sotIndex + 1).forEach((t, i) => (first[b * (sotIndex + 1) + i] = BigInt(t))));
  let step = await model.decode(first, sotIndex + 1, audio, null);
  const noSpeech = new Float64Array(batch);
  for (let b = 0; b < batch; b++) {
    const row = step.logits.subarray(b * vocab, (b + 1) * vocab);
    noSpeech[b] = Math.exp(row[tokenizer.noSpeech] - (step.logZ?.[b] ?? logSumExp(row, 0, vocab)));
  }
  const rest = promptLength - sotIndex - 1;
  if (rest > 0) {
    const tail = new BigInt64Array(batch * rest);
    prompts.forEach((p, b) => p.slice(sotIndex + 1).forEach((t, i) => (tail[b * rest + i] = BigInt(t))));
    step = await model.decode(tail, rest, audio, step.cache);
  }
  return { step, noSpeech };
}

/**
 * Decode every row of `audio` after its prompt. All prompts must have the same length (the
 * pipeline batches windows that share one). Returns one sequence per row, in order.
 */
export async function decodeBatch(
  model: WhisperOnnx,
  tokenizer: WhisperTokenizer,
  audio: EncodedAudio,
  prompts: number[][],
  options: DecodeOptions,
  timings?: DecodeTimings,
): Promise<DecodedSequence[]> {
  const batch = prompts.length;
  const promptLength = prompts[0].length;
  const vocab = model.config.vocabSize;
  const started = performance.now();
  const fed = await feedPrompts(model, tokenizer, audio, prompts);
  let step = fed.step;
  const noSpeech = fed.noSpeech;

  const generated: number[][] = prompts.map(() => []);
  const sumLogprob = new Float64Array(batch);
  const endProb: (number | undefined)[] = new Array(batch).fill(undefined);
  let active = Array.from({ length: batch }, (_, b) => b); // original row of each batch position
  let rowsAudio = audio;
  let cache = step.cache;
  let logits = step.logits;
  let logZ = step.logZ;
  const rowLogits = new Float32Array(vocab); // one row at a time, filtered in place; reused every step
  const maxNew = Math.min(options.maxNewTokens, model.config.maxTextPositions - promptLength);
  // one sampler per row, so a row's sampled tokens do not depend on the other rows of its batch
  const randoms = prompts.map(() => seededRandom((options.seed ?? 0) + Math.round(options.temperature * 1000)));
  let steps = 0;
  for (let n = 0; n < maxNew && active.length > 0; n++) {
    const next = new BigInt64Array(active.length);
    const keep: number[] = [];
    active.forEach((row, pos) => {
      const original = logits.subarray(pos * vocab, (pos + 1) * vocab);
      rowLogits.set(original);
      applyFilters(rowLogits, generated[row], options.filters);
      const token = sampleToken(rowLogits, options.temperature, randoms[row]);
      const logprob = rowLogits[token] - filteredLogSumExp(original, rowLogits, logZ?.[pos]);
      sumLogprob[row] += logprob;
      if (token === tokenizer.eot) endProb[row] = Math.exp(logprob);
      else {
        generated[row].push(token);
        keep.push(pos);
      }
      next[pos] = BigInt(token);
    });
    const stillActive = keep.map((pos) => active[pos]);
    if (stillActive.length === 0 || n === maxNew - 1) {
      active = stillActive;
      break;
    }
    if (keep.length !== active.length) {
      rowsAudio = model.selectRows(rowsAudio, keep);
      cache = model.selectCacheRows(cache, keep);
    }
    const feed = BigInt64Array.from(keep.map((pos) => next[pos]));
    active = stillActive;
    step = await model.decode(feed, 1, rowsAudio, cache);
    steps++;
    cache = step.cache;
    logits = step.logits;
    logZ = step.logZ;
  }
  if (timings) {
    timings.steps += steps;
    timings.ms += performance.now() - started;
  }
  return generated.map((tokens, b) => ({
    tokens,
    sumLogprob: sumLogprob[b],
    avgLogprob: sumLogprob[b] / (tokens.length + 1),
    noSpeechProb: noSpeech[b],
    temperature: options.temperature,
    endProb: endProb[b],
  }));
}
