// Beam search over a batch of windows (OpenAI Whisper's BeamSearchDecoder with patience 1): each
// window keeps `beamSize` live hypotheses as rows of one decoder batch; candidates are deduplicated
// by their tokens; a window is done once `beamSize` hypotheses have ended; the winner has the best
// log-probability per token (OpenAI's default ranking without a length penalty).
import type { EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { feedPrompts, type DecodedSequence, type DecodeOptions, type DecodeTimings } from './greedy.js';
import { applyFilters, filteredLogSumExp } from './logit-filters.js';

interface Hypothesis {
  tokens: number[];
  logprob: number;
}

/** The `count` largest entries of `x` (indices), without sorting the whole vocabulary. */
function topK(x: Float32Array, count: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (x[i] === -Infinity) continue;
    if (best.length < count || x[i] > x[best[best.length - 1]]) {
      let at = best.length < count ? best.length : best.length - 1;
      if (best.length < count) best.push(i);
      while (at > 0 && x[best[at - 1]] < x[i]) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = i;
    }
  }
  return best;
}

export async function beamDecodeBatch(
  model: WhisperOnnx,
  tokenizer: WhisperTokenizer,
  audio: EncodedAudio,
  prompts: number[][],
  options: DecodeOptions & { beamSize: number },
  timings?: DecodeTimings,
): Promise<DecodedSequence[]> {
  const started = performance.now();
  const windows = prompts.length;
  const B = options.beamSize;
  const vocab = model.config.vocabSize;
  const fed = await feedPrompts(model, tokenizer, audio, prompts);
  // every window's state copied into B rows: row w*B + b is hypothesis b of window w
  const expand = Array.from({ length: windows * B }, (_, r) => Math.floor(r / B));
  const rowsAudio = model.selectRows(audio, expand);
  let cache = model.selectCacheRows(fed.step.cache, expand);
  let logits: Float32Array = new Float32Array(windows * B * vocab);
  expand.forEach((w, r) => logits.set(fed.step.logits.subarray(w * vocab, (w + 1) * vocab), r * vocab));
  const firstLogZ = fed.step.logZ;
  let logZ: Float32Array | undefined = firstLogZ && Float32Array.from(expand, (w) => firstLogZ[w]);
  // only the first copy is live at the start, so the first expansion has no duplicates
  const beams: Hypothesis[][] = Array.from({ length: windows }, () => Array.from({ length: B }, (_, b) => ({ tokens: [], logprob: b === 0 ? 0 : -Infinity })));
  const finished: Map<string, Hypothesis>[] = Array.from({ length: windows }, () => new Map());
  const done = new Array<boolean>(windows).fill(false);
  const maxNew = Math.min(options.maxNewTokens, model.config.maxTextPositions - prompts[0].length);
  const row = new Float32Array(vocab); // one hypothesis' filtered logits at a time, reused
  let steps = 0;
  for (let n = 0; n < maxNew && done.includes(false); n++) {
    const nextTokens = new BigInt64Array(windows * B);
    const sources = Array.from({ length: windows * B }, (_, r) => r);
    for (let w = 0; w < windows; w++) {
      if (done[w]) {
        for (let b = 0; b < B; b++) nextTokens[w * B + b] = BigInt(tokenizer.eot);
        continue;
      }
      const candidates = new Map<string, Hypothesis & { source: number }>();
      for (let b = 0; b < B; b++) {
        const hyp = beams[w][b];
        if (hyp.logprob === -Infinity) continue;
        const original = logits.subarray((w * B + b) * vocab, (w * B + b + 1) * vocab);
        row.set(original);
        applyFilters(row, hyp.tokens, options.filters);
        const rowLogZ = filteredLogSumExp(original, row, logZ?.[w * B + b]);
        for (const token of topK(row, B + 1)) {
          const tokens = [...hyp.tokens, token];
          const key = tokens.join(',');
          const logprob = hyp.logprob + row[token] - rowLogZ;
          const seen = candidates.get(key);
          if (!seen || seen.logprob < logprob) candidates.set(key, { tokens, logprob, source: w * B + b });
        }
      }
      const next: (Hypothesis & { source: number })[] = [];
      for (const c of [...candidates.values()].sort((a, b) => b.logprob - a.logprob)) {
        if (c.tokens[c.tokens.length - 1] === tokenizer.eot) {
          if (finished[w].size < B) finished[w].set(c.tokens.join(','), { tokens: c.tokens.slice(0, -1), logprob: c.logprob });
        } else next.push(c);
        if (next.length === B) break;
      }
      if (finished[w].size >= B || next.length === 0) done[w] = true;
      for (let b = 0; b < B; b++) {
        const c = next[b];
        beams[w][b] = c ? { tokens: c.tokens, logprob: c.logprob } : { tokens: [], logprob: -Infinity };
        sources[w * B + b] = c ? c.source : w * B;
        nextTokens[w * B + b] = BigInt(c ? c.tokens[c.tokens.length - 1] : tokenizer.eot);
      }
    }
    if (!done.includes(false) || n === maxNew - 1) break;
    cache = model.selectCacheRows(cache, sources);
    const step = await model.decode(nextTokens, 1, rowsAudio, cache);
    steps++;
    cache = step.cache;
    logits = step.logits;
    logZ = step.logZ;
  }
  if (timings) {
    timings.steps += steps;
    timings.ms += performance.now() - started;
  }
  return Array.from({ length: windows }, (_, w) => {
    // windows that ran out of length keep their live hypotheses as candidates
    const pool = finished[w].size > 0 ? [...finished[w].values()] : beams[w].filter((h) => h.logprob > -Infinity);
    const best = pool.reduce((a, b) => (b.logprob / Math.max(1, b.tokens.length) > a.logprob / Math.max(1, a.tokens.length) ? b : a));
    return { tokens: best.tokens, sumLogprob: best.logprob, avgLogprob: best.logprob / (best.tokens.length + 1), noSpeechProb: fed.noSpeech[w], temperature: 0 };
  });
}
