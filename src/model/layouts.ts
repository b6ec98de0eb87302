// One model interface over two file layouts: AudioDecode's native pair (the encoder emits the
// cross-attention keys/values) and Hugging Face onnx-community's (decoder_model_merged with an
// If-node on use_cache_branch). The decoding loop sees only WhisperOnnx.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AudioDecodeError } from '../errors.js';
import type { WhisperConfig } from './config.js';
import { LAYOUTS, onnxFile, type Layout } from './files.js';

export type { Layout };
import { KvStore, type KvShape } from './kv-store.js';
import { ort, sessionOptions, type RuntimeChoice } from './runtime.js';

type Tensor = ort.Tensor;
type Feeds = Record<string, Tensor>;

/** Per-window encoder state, opaque to the decoding loop. */
export interface EncodedAudio {
  batch: number;
  readonly tensors: Feeds;
}

/** Self-attention cache after some decoding steps, opaque to the decoding loop. */
export interface DecoderCache {
  batch: number;
  length: number;
  readonly tensors: Feeds;
}

export interface DecodeStep {
  /** [batch x vocab] logits of the last input position. */
  logits: Float32Array;
  /** [batch] log-sum-exp of each logits row, where the decoder graph computes it. */
  logZ?: Float32Array;
  cache: DecoderCache;
  /** [batch x heads x seq x audioFrames] cross-attention of the alignment heads, when asked. */
  alignment?: Tensor;
}

export interface WhisperOnnx {
  readonly layout: Layout;
  readonly config: WhisperConfig;
  readonly supportsAlignment: boolean;
  /**
   * Whether decode() takes B token rows over A audio rows (A divides B; token rows a*G .. a*G+G-1,
   * G = B / A, read audio row a): a window's beam hypotheses then share one copy of its encoder state.
   */
  readonly sharesAudioRows: boolean;
  encode(features: Float32Array, batch: number, frames: number): Promise<EncodedAudio>;
  /** tokens: [batch x seq] ids fed after `cache` (null on the first step). */
  decode(tokens: BigInt64Array, seq: number, audio: EncodedAudio, cache: DecoderCache | null, withAlignment?: boolean): Promise<DecodeStep>;
  /** Keep rows `rows` of the encoder state and cache (for beams or finished batch rows). */
  selectRows(audio: EncodedAudio, rows: number[]): EncodedAudio;
  selectCacheRows(cache: DecoderCache, rows: number[]): DecoderCache;
  /** The caller is done with `audio`: a later encode may write into its buffers. */
  releaseAudio(audio: EncodedAudio): void;
  release(): Promise<void>;
}

/** Released windows' encoder outputs kept for reuse, per batch shape. */
const MAX_FREE_AUDIO = 2;

/** The layout to run (native first, as it exposes more), and its two files at the runtime's precision. */
export function detectLayout(modelDir: string, choice: RuntimeChoice, only?: Layout): { layout: Layout; encoder: string; decoder: string } {
  const candidates = LAYOUTS.filter((l) => !only || l === only);
  for (const layout of candidates) {
    const encoder = join(modelDir, onnxFile(layout, 'encoder', choice.computeType));
    const decoder = join(modelDir, onnxFile(layout, 'decoder', choice.computeType));
    if (existsSync(encoder) && existsSync(decoder)) return { layout, encoder, decoder };
  }
  const expected = candidates.map((l) => `${onnxFile(l, 'encoder', choice.computeType)} + ${onnxFile(l, 'decoder', choice.computeType)}`).join(' or ');
  throw new AudioDecodeError(
    'model_not_found',
    `${modelDir} holds no ${choice.computeType} Whisper model${only ? ` in the ${only} layout` : ''}: expected ${expected}`,
    'computeType',
  );
}

function kvDtype(session: ort.InferenceSession, inputName: string): 'float32' | 'float16' {
  const meta = session.inputMetadata.find((m) => m.name === inputName);
  return meta && meta.isTensor && meta.type === 'float16' ? 'float16' : 'float32';
}

function emptyKv(dtype: 'float32' | 'float16', batch: number, cfg: WhisperConfig): Tensor {
  const dims = [batch, cfg.nHeads, 0, cfg.dModel / cfg.nHeads];
  return dtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/** Rows of a [batch, ...] tensor, copied. Data is read as raw elements, so fp16 and int8 work too. */
function selectTensorRows(t: Tensor, rows: number[]): Tensor {
  const rowSize = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array | Uint16Array | Int8Array;
  const ctor = src.constructor as { new (n: number): Float32Array | Uint16Array | Int8Array };
  const out = new ctor(rowSize * rows.length);
  rows.forEach((r, i) => out.set(src.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
  return new ort.Tensor(t.type as 'float32', out as Float32Array, [rows.length, ...t.dims.slice(1)]);
}

function selectFeeds(feeds: Feeds, rows: number[]): Feeds {
  const out: Feeds = {};
  for (const [k, v] of Object.entries(feeds)) out[k] = selectTensorRows(v, rows);
  return out;
}

function isIdentity(rows: number[], batch: number): boolean {
  return rows.length === batch && rows.every((r, i) => r === i);
}

function lastPositionLogits(logits: Tensor): Float32Array {
  const [batch, seq, vocab] = logits.dims;
  const data = logits.data as Float32Array;
  if (seq === 1) return data;
  const out = new Float32Array(batch * vocab);
  for (let b = 0; b < batch; b++) out.set(data.subarray((b * seq + seq - 1) * vocab, (b * seq + seq) * vocab), b * vocab);
  return out;
}

abstract class BaseOnnx implements WhisperOnnx {
  abstract readonly layout: Layout;
  abstract readonly supportsAlignment: boolean;
  abstract readonly sharesAudioRows: boolean;
  protected readonly kvType: 'float32' | 'float16';

  constructor(
    readonly config: WhisperConfig,
    protected readonly encoder: ort.InferenceSession,
    protected readonly decoder: ort.InferenceSession,
    kvInput: string,
  ) {
    this.kvType = kvDtype(decoder, kvInput);
  }

  abstract encode(features: Float32Array, batch: number, frames: number): Promise<EncodedAudio>;
  abstract decode(tokens: BigInt64Array, seq: number, audio: EncodedAudio, cache: DecoderCache | null, withAlignment?: boolean): Promise<DecodeStep>;

  protected featuresTensor(features: Float32Array, batch: number, frames: number): Tensor {
    return new ort.Tensor('float32', features, [batch, this.config.nMels, frames]);
  }

  selectRows(audio: EncodedAudio, rows: number[]): EncodedAudio {
    if (isIdentity(rows, audio.batch)) return audio;
    return { batch: rows.length, tensors: selectFeeds(audio.tensors, rows) };
  }

  selectCacheRows(cache: DecoderCache, rows: number[]): DecoderCache {
    if (isIdentity(rows, cache.batch)) return cache;
    return { batch: rows.length, length: cache.length, tensors: selectFeeds(cache.tensors, rows) };
  }

  releaseAudio(audio: EncodedAudio): void {
    void audio; // only the native layout reuses encoder outputs
  }

  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}

class NativeOnnx extends BaseOnnx {
  readonly layout = 'native' as const;
  readonly supportsAlignment: boolean;

  constructor(config: WhisperConfig, encoder: ort.InferenceSession, decoder: ort.InferenceSession) {
    super(config, encoder, decoder, 'past_k_0');
    this.supportsAlignment = decoder.outputNames.includes('alignment');
    if (!decoder.inputNames.includes('past_length')) {
      throw new AudioDecodeError(
        'model_not_found',
        'this native decoder was converted before it left its self-attention cache in our buffers (it has no past_length input): convert the model again with tools/convert_ct2.py (npm run models:fixture does), or use the community layout',
      );
    }
    this.hasLogZ = decoder.outputNames.includes('logsumexp'); // models converted before it was added lack it
    // models converted before the decoder grouped beams over one audio row name that dimension "batch"
    const cross = decoder.inputMetadata.find((m) => m.name === 'cross_k_0');
    this.sharesAudioRows = cross !== undefined && cross.isTensor && cross.shape[0] === 'audio_batch';
  }

  readonly sharesAudioRows: boolean;

  private readonly hasLogZ: boolean;

  /**
   * The cross-attention keys/values (tiny: 18 MB a window in float32, 4.9 MB in int8; base twice that) are
   * written into buffers of released windows when there are some, so long audio does not leave
   * a trail of them for the garbage collector.
   */
  async encode(features: Float32Array, batch: number, frames: number): Promise<EncodedAudio> {
    const key = `${batch}x${frames}`;
    const tensors = this.freeAudio.get(key)?.pop() ?? this.audioOutputs(batch, frames);
    await this.encoder.run({ input_features: this.featuresTensor(features, batch, frames) }, tensors);
    this.pooled.set(tensors, key);
    return { batch, tensors };
  }

  override releaseAudio(audio: EncodedAudio): void {
    const key = this.pooled.get(audio.tensors);
    if (key === undefined) return;
    this.pooled.delete(audio.tensors);
    const free = this.freeAudio.get(key) ?? [];
    if (free.length < MAX_FREE_AUDIO) free.push(audio.tensors);
    this.freeAudio.set(key, free);
  }

  private readonly freeAudio = new Map<string, Feeds[]>();
  /** Encoder outputs that came from (and may go back to) freeAudio, with their pool key. */
  private readonly pooled = new WeakMap<Feeds, string>();

  /**
   * Buffers for every encoder output, as the file declares them: float cross keys/values
   * [batch, heads, frames, headDim], or in int8 files int8 ones (keys transposed) with float scales.
   */
  private audioOutputs(batch: number, frames: number): Feeds {
    const audioFrames = Math.floor((frames - 1) / 2) + 1; // the stride-2 convolution
    const out: Feeds = {};
    for (const meta of this.encoder.outputMetadata) {
      if (!meta.isTensor) continue;
      const dims = meta.shape.map((d) => (d === 'batch' ? batch : d === 'audio_ctx' ? audioFrames : (d as number)));
      const size = dims.reduce((a, b) => a * b, 1);
      if (meta.type === 'int8') out[meta.name] = new ort.Tensor('int8', new Int8Array(size), dims);
      else if (meta.type === 'float16') out[meta.name] = new ort.Tensor('float16', new Uint16Array(size), dims);
      else out[meta.name] = new ort.Tensor('float32', new Float32Array(size), dims);
    }
    return out;
  }

  /**
   * The returned logits and cache live in buffers that the next step with this cache (or
   * selectCacheRows on it) overwrites: read them before that, as the decoding loops do.
   */
  async decode(tokens: BigInt64Array, seq: number, audio: EncodedAudio, cache: DecoderCache | null, withAlignment = false): Promise<DecodeStep> {
    const batch = tokens.length / seq; // token rows: a multiple of audio.batch where sharesAudioRows
    const past = cache?.length ?? 0;
    if (seq > 1 && past > 0) {
      // onnxruntime's GroupQueryAttention takes several positions after a past on one row only (a
      // multilingual prompt after language detection): then one position at a time, on one row as
      // on many, so that a window's arithmetic (and int8 words) does not depend on its batch
      if (withAlignment) throw new Error('alignment is computed from an empty cache');
      let step: DecodeStep | undefined;
      for (let s = 0, c: DecoderCache | null = cache; s < seq; s++, c = step.cache) {
        step = await this.decode(BigInt64Array.from({ length: batch }, (_, b) => tokens[b * seq + s]), 1, audio, c);
      }
      return step!;
    }
    const length = past + seq;
    const previous = (cache as NativeCache | null)?.store;
    let store: KvStore;
    let tensors: Feeds;
    if (cache && previous?.fits(batch, length) && previous.holds(cache.tensors)) {
      store = previous;
      tensors = store.cache(batch);
    } else {
      // the first step, a cache grown past its store's capacity, or one from before a selection
      store = KvStore.create(this.kvShape, batch, length);
      tensors = cache ? store.select(cache.tensors, Array.from({ length: batch }, (_, r) => r), past) : store.cache(batch);
    }
    const feeds: Feeds = { input_ids: new ort.Tensor('int64', tokens, [batch, seq]), past_length: new ort.Tensor('int64', BigInt64Array.of(BigInt(past)), []), ...audio.tensors };
    const fetches: Record<string, ort.Tensor | null> = store.outputs(batch, this.hasLogZ);
    for (let i = 0; i < this.config.decoderLayers; i++) {
      for (const kind of ['k', 'v'] as const) {
        feeds[`past_${kind}_${i}`] = tensors[`present_${kind}_${i}`];
        fetches[`new_${kind}_${i}`] = null;
      }
    }
    if (withAlignment && this.supportsAlignment) fetches.alignment = null;
    const out = await this.decoder.run(feeds, fetches);
    store.append(out, batch, past, seq);
    const next: NativeCache = { batch, length, tensors, store };
    return {
      logits: fetches.logits!.data as Float32Array,
      logZ: fetches.logsumexp?.data as Float32Array | undefined,
      cache: next,
      alignment: out.alignment,
    };
  }

  override selectCacheRows(cache: DecoderCache, rows: number[]): DecoderCache {
    if (isIdentity(rows, cache.batch)) return cache;
    const { store } = cache as NativeCache;
    if (!store?.fits(rows.length, cache.length) || !store.holds(cache.tensors)) return super.selectCacheRows(cache, rows);
    const selected: NativeCache = { batch: rows.length, length: cache.length, tensors: store.select(cache.tensors, rows, cache.length), store };
    return selected;
  }

  private get kvShape(): KvShape {
    const c = this.config;
    return { layers: c.decoderLayers, heads: c.nHeads, headDim: c.dModel / c.nHeads, vocab: c.vocabSize, maxPositions: c.maxTextPositions, dtype: this.kvType };
  }
}

/** The native layout's cache knows the buffers it lives in. */
interface NativeCache extends DecoderCache {
  store?: KvStore;
}

class CommunityOnnx extends BaseOnnx {
  readonly layout = 'community' as const;
  readonly supportsAlignment = false;
  readonly sharesAudioRows = false;

  constructor(config: WhisperConfig, encoder: ort.InferenceSession, decoder: ort.InferenceSession) {
    super(config, encoder, decoder, 'past_key_values.0.decoder.key');
  }

  async encode(features: Float32Array, batch: number, frames: number): Promise<EncodedAudio> {
    const out = await this.encoder.run({ input_features: this.featuresTensor(features, batch, frames) });
    return { batch, tensors: { encoder_hidden_states: out.last_hidden_state } };
  }

  async decode(tokens: BigInt64Array, seq: number, audio: EncodedAudio, cache: DecoderCache | null): Promise<DecodeStep> {
    const batch = audio.batch;
    const feeds: Feeds = {
      input_ids: new ort.Tensor('int64', tokens, [batch, seq]),
      encoder_hidden_states: audio.tensors.encoder_hidden_states,
      use_cache_branch: new ort.Tensor('bool', [cache !== null], [1]),
    };
    for (let i = 0; i < this.config.decoderLayers; i++) {
      for (const part of ['decoder', 'encoder'] as const) {
        for (const kind of ['key', 'value'] as const) {
          feeds[`past_key_values.${i}.${part}.${kind}`] = cache ? cache.tensors[`present.${i}.${part}.${kind}`] : emptyKv(this.kvType, batch, this.config);
        }
      }
    }
    const out = await this.decoder.run(feeds);
    const tensors: Feeds = {};
    for (const [name, t] of Object.entries(out)) if (name.startsWith('present.')) tensors[name] = t;
    return { logits: lastPositionLogits(out.logits), cache: { batch, length: (cache?.length ?? 0) + seq, tensors } };
  }
}

export async function openWhisperOnnx(modelDir: string, config: WhisperConfig, choice: RuntimeChoice, only?: Layout): Promise<WhisperOnnx> {
  const files = detectLayout(modelDir, choice, only);
  const options = sessionOptions(choice);
  const [encoder, decoder] = await Promise.all([ort.InferenceSession.create(files.encoder, options), ort.InferenceSession.create(files.decoder, options)]);
  return files.layout === 'native' ? new NativeOnnx(config, encoder, decoder) : new CommunityOnnx(config, encoder, decoder);
}
