// Beam search over a batch of windows, as CTranslate2's BeamSearch runs it for faster-whisper
// (patience 1, length penalty 1): each window keeps `beamSize` live hypotheses as rows of one
// decoder batch. A step ranks the 2 x beamSize best continuations of all live hypotheses by their
// summed log-probability; an end of text among the first beamSize ends that hypothesis, and the
// next continuation from the second half takes its place. A window is done once `beamSize`
// hypotheses have ended (or at the length limit, where the live ones end too); the winner has the
// best log-probability per token. OpenAI's decoder differs in which ended candidates it keeps, and
// at float32 that changed the words of base on gettysburg (13.6% WER vs faster-whisper's 7.7%).
import type { EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { feedPrompts, type DecodedSequence, type DecodeOptions, type DecodeTimings } from './greedy.js';
import { applyFilters, filteredLogSumExp } from './logit-filters.js';

interface Hypothesis {
  /** Never changed once made: continuations share it as their parent's. */
  readonly tokens: number[];
  logprob: number;
}

/** One continuation of a live hypothesis: its token, summed log-probability and decoder row. */
interface Candidate {
  parent: Hypothesis;
  token: number;
  logprob: number;
  source: number;
}

/** The `count` largest entries of `x` (indices, largest first), without sorting the whole vocabulary. */
function topK(x: Float32Array, count: number): number[] {
  const best: number[] = [];
  let floor = -Infinity; // the smallest kept value once `count` are kept: most entries stop at this one test
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v <= floor) continue;
    let at = best.length < count ? best.length : best.length - 1;
    if (best.length < count) best.push(i);
    while (at > 0 && x[best[at - 1]] < v) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
    if (best.length === count) floor = x[best[count - 1]];
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
  // every window's decoder state copied into B rows: row w*B + b is hypothesis b of window w
  const expand = Array.from({ length: windows * B }, (_, r) => Math.floor(r / B));
  // a decoder that groups rows reads each window's encoder state once for its B hypotheses (the
  // cross-attention over 1500 frames was most of a beam step); older ones get B copies
  const rowsAudio = model.sharesAudioRows ? audio : model.selectRows(audio, expand);
  let cache = model.selectCacheRows(fed.step.cache, expand);
  let logits: Float32Array = new Float32Array(windows * B * vocab);
  expand.forEach((w, r) => logits.set(fed.step.logits.subarray(w * vocab, (w + 1) * vocab), r * vocab));
  const firstLogZ = fed.step.logZ;
  let logZ: Float32Array | undefined = firstLogZ && Float32Array.from(expand, (w) => firstLogZ[w]);
  // only the first copy is live at the start, so the first expansion has no duplicates
  const beams: Hypothesis[][] = Array.from({ length: windows }, () => Array.from({ length: B }, (_, b) => ({ tokens: [], logprob: b === 0 ? 0 : -Infinity })));
  const finished: Hypothesis[][] = Array.from({ length: windows }, () => []);
  const done = new Array<boolean>(windows).fill(false);
  const maxNew = Math.min(options.maxNewTokens, model.config.maxTextPositions - prompts[0].length);
  const row = new Float32Array(vocab); // one hypothesis' filtered logits at a time, reused
  let steps = 0;
  for (let n = 0; n < maxNew && done.includes(false); n++) {
    const lastStep = n === maxNew - 1;
    const nextTokens = new BigInt64Array(windows * B);
    const sources = Array.from({ length: windows * B }, (_, r) => r);
    for (let w = 0; w < windows; w++) {
      if (done[w]) {
        for (let b = 0; b < B; b++) nextTokens[w * B + b] = BigInt(tokenizer.eot);
        continue;
      }
      // a continuation names its parent and token: only the B kept ones copy the token list
      const candidates: Candidate[] = [];
      for (let b = 0; b < B; b++) {
        const hyp = beams[w][b];
        if (hyp.logprob === -Infinity) continue;
        const original = logits.subarray((w * B + b) * vocab, (w * B + b + 1) * vocab);
        row.set(original);
        applyFilters(row, hyp.tokens, options.filters);
        const rowLogZ = filteredLogSumExp(original, row, logZ?.[w * B + b]);
        // a hypothesis' best B + 1 hold every one of its continuations that the step below can use
        for (const token of topK(row, B + 1)) candidates.push({ parent: hyp, token, logprob: hyp.logprob + row[token] - rowLogZ, source: w * B + b });
      }
      const ranked = candidates.sort((a, b) => b.logprob - a.logprob).slice(0, 2 * B);
      const ends = (c: Candidate): boolean => c.token === tokenizer.eot;
      const next: Candidate[] = [];
      let spare = B; // the next continuation from the second half
      for (let k = 0; k < Math.min(B, ranked.length); k++) {
        let c: Candidate | undefined = ranked[k];
        if (ends(c) || lastStep) {
          finished[w].push({ tokens: ends(c) ? c.parent.tokens : [...c.parent.tokens, c.token], logprob: c.logprob });
          c = undefined;
          for (; spare < ranked.length && !c; spare++) if (!ends(ranked[spare])) c = ranked[spare];
        }
        if (c) next.push(c);
      }
      if (finished[w].length >= B || next.length === 0 || lastStep) done[w] = true;
      for (let b = 0; b < B; b++) {
        const c = next[b];
        beams[w][b] = c ? { tokens: [...c.parent.tokens, c.token], logprob: c.logprob } : { tokens: [], logprob: -Infinity };
        sources[w * B + b] = c ? c.source : w * B;
        nextTokens[w * B + b] = BigInt(c ? c.token : tokenizer.eot);
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
    // log-probability per token (CTranslate2's length penalty 1; an empty hypothesis ranks last)
    const score = (h: Hypothesis): number => (h.tokens.length > 0 ? h.logprob / h.tokens.length : -Infinity);
    const pool = finished[w].length > 0 ? finished[w] : beams[w].filter((h) => h.logprob > -Infinity);
    const best = pool.reduce((a, b) => (score(b) > score(a) ? b : a));
    return { tokens: best.tokens, sumLogprob: best.logprob, avgLogprob: best.logprob / (best.tokens.length + 1), noSpeechProb: fed.noSpeech[w], temperature: 0 };
  });
}
