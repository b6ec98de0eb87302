// The native decoder's self-attention cache, in buffers we own: [rows, heads, capacity, headDim]
// per layer for keys and for values, the first `length` positions filled. A step feeds them as
// past_k_i (onnxruntime-node reads a feed where it lies) and returns only the new positions' keys
// and values, which are appended here. Before, the step returned the whole cache, one position
// longer: the graph's Concat copied it, and onnxruntime-node copied every fetched output into its
// JS buffer after the run, so a step cost grew with the cache (at 5 rows behind 300 positions,
// most of a beam step). Two sets take turns only when rows are selected (beams reordered, finished
// rows dropped), which copies each kept row's filled part.
import { ort } from './runtime.js';

type KvArray = Float32Array | Uint16Array;

/** Positions a new store holds beyond those it is made for. */
const GROWTH = 32;

export interface KvShape {
  layers: number;
  heads: number;
  headDim: number;
  vocab: number;
  maxPositions: number;
  dtype: 'float32' | 'float16';
}

export class KvStore {
  /** sets[s][2 * layer + (0 for keys, 1 for values)] */
  private readonly sets: [KvArray[], KvArray[]];
  /** The set that holds the cache now. */
  private current: 0 | 1 = 0;
  private readonly logits: Float32Array;
  private readonly logZ: Float32Array;

  private constructor(
    private readonly shape: KvShape,
    /** Most batch rows and positions the buffers hold. */
    readonly rows: number,
    readonly capacity: number,
  ) {
    const size = rows * shape.heads * capacity * shape.headDim;
    const make = (): KvArray[] => Array.from({ length: 2 * shape.layers }, () => (shape.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size)));
    this.sets = [make(), make()];
    this.logits = new Float32Array(rows * shape.vocab);
    this.logZ = new Float32Array(rows);
  }

  /**
   * A store for `rows` x `positions`, with room for GROWTH more: onnxruntime's GroupQueryAttention
   * copies the past it is fed, capacity and all, so the capacity stays close to the length; each
   * growth is one copy of the filled part, every GROWTH steps.
   */
  static create(shape: KvShape, rows: number, positions: number): KvStore {
    return new KvStore(shape, rows, Math.max(positions, Math.min(shape.maxPositions, positions + GROWTH)));
  }

  fits(rows: number, positions: number): boolean {
    return rows <= this.rows && positions <= this.capacity;
  }

  /**
   * Whether `tensors` (a cache) live in this store's current set: only then may a step write into
   * them. A cache from before a selection lives in the other set, which the next selection writes
   * over; it gets a new store instead of corrupting itself.
   */
  holds(tensors: Record<string, ort.Tensor>): boolean {
    return (tensors.present_k_0?.data as KvArray | undefined)?.buffer === this.sets[this.current][0].buffer;
  }

  /** The current set's buffers for `rows` rows (the step's past_k_i feeds). */
  cache(rows: number): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.shape.layers; l++) {
      out[`present_k_${l}`] = this.view(this.current, 2 * l, rows);
      out[`present_v_${l}`] = this.view(this.current, 2 * l + 1, rows);
    }
    return out;
  }

  /**
   * Write a step's new keys/values (new_k_i / new_v_i, [rows, seq, heads * headDim]) into the current
   * set at positions `past` .. `past + seq - 1`.
   */
  append(outputs: Record<string, ort.Tensor>, rows: number, past: number, seq: number): void {
    const { heads, headDim } = this.shape;
    for (let j = 0; j < 2 * this.shape.layers; j++) {
      const from = outputs[`new_${j % 2 === 0 ? 'k' : 'v'}_${j >> 1}`].data as KvArray;
      const to = this.sets[this.current][j];
      for (let r = 0; r < rows; r++) {
        for (let s = 0; s < seq; s++) {
          for (let h = 0; h < heads; h++) {
            const at = ((r * seq + s) * heads + h) * headDim;
            to.set(from.subarray(at, at + headDim), ((r * heads + h) * this.capacity + past + s) * headDim);
          }
        }
      }
    }
  }

  /** Logits (and log-sum-exp) outputs for a step of `rows` rows. */
  outputs(rows: number, withLogZ: boolean): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = { logits: new ort.Tensor('float32', this.logits.subarray(0, rows * this.shape.vocab), [rows, this.shape.vocab]) };
    if (withLogZ) out.logsumexp = new ort.Tensor('float32', this.logZ.subarray(0, rows), [rows]);
    return out;
  }

  /**
   * Copy rows `rows` of the cache `source` (any [rows, heads, capacity, headDim] tensors, filled
   * to `positions`) into the set that does not hold the current cache, and make it current: beams
   * are reordered, or a finished row leaves the batch, without allocating.
   */
  select(source: Record<string, ort.Tensor>, rows: number[], positions: number): Record<string, ort.Tensor> {
    const target = this.current === 0 ? 1 : 0;
    const { heads, headDim } = this.shape;
    const filled = positions * headDim;
    for (let j = 0; j < 2 * this.shape.layers; j++) {
      const from = source[`present_${j % 2 === 0 ? 'k' : 'v'}_${j >> 1}`];
      const data = from.data as KvArray;
      const fromHead = from.dims[2] * headDim; // the source's own capacity
      const to = this.sets[target][j];
      rows.forEach((r, i) => {
        for (let h = 0; h < heads; h++) {
          const at = (r * heads + h) * fromHead;
          to.set(data.subarray(at, at + filled), (i * heads + h) * this.capacity * headDim);
        }
      });
    }
    this.current = target;
    return this.cache(rows.length);
  }

  private view(set: 0 | 1, index: number, rows: number): ort.Tensor {
    const { heads, headDim } = this.shape;
    const data = this.sets[set][index].subarray(0, rows * heads * this.capacity * headDim);
    return new ort.Tensor(this.shape.dtype as 'float32', data as Float32Array, [rows, heads, this.capacity, headDim]);
  }
}
