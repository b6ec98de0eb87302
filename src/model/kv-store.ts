// Preallocated outputs for the native decoder: onnxruntime writes each step's self-attention
// cache and logits into buffers we own instead of new ones. Two cache buffer sets take turns (a
// step reads the past from one and writes the present, one position longer, into the other), so
// a decoding loop allocates nothing per token; before this every step returned the whole cache and
// the logits as fresh JS buffers, which was the decoding loop's garbage and a copy per output.
import { ort } from './runtime.js';

type KvArray = Float32Array | Uint16Array;

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
  /** The set that holds the cache now (-1: none yet). */
  private current: 0 | 1 | -1 = -1;
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

  /** A store for `rows` x `positions`, with room to grow: capacity doubles, up to the model's context. */
  static create(shape: KvShape, rows: number, positions: number): KvStore {
    const capacity = Math.max(positions, Math.min(shape.maxPositions, Math.max(64, 2 * positions)));
    return new KvStore(shape, rows, capacity);
  }

  fits(rows: number, positions: number): boolean {
    return rows <= this.rows && positions <= this.capacity;
  }

  /**
   * Whether `tensors` (a cache) live in this store's current set: only then may a step or a
   * selection write into the other set. A cache from an older step of the same loop lives in a set
   * that has been written over, or is about to be; it gets a new store instead of corrupting itself.
   */
  holds(tensors: Record<string, ort.Tensor>): boolean {
    if (this.current === -1) return false;
    return (tensors.present_k_0?.data as KvArray | undefined)?.buffer === this.sets[this.current][0].buffer;
  }

  /**
   * Output tensors for a step that leaves `positions` cached for `rows` rows, written into the
   * set that does not hold the current cache. Call `advance()` once the step has run.
   */
  outputs(rows: number, positions: number, withLogZ: boolean): Record<string, ort.Tensor> {
    const target = this.current === 0 ? 1 : 0;
    const out: Record<string, ort.Tensor> = { logits: new ort.Tensor('float32', this.logits.subarray(0, rows * this.shape.vocab), [rows, this.shape.vocab]) };
    if (withLogZ) out.logsumexp = new ort.Tensor('float32', this.logZ.subarray(0, rows), [rows]);
    for (let l = 0; l < this.shape.layers; l++) {
      out[`present_k_${l}`] = this.view(target, 2 * l, rows, positions);
      out[`present_v_${l}`] = this.view(target, 2 * l + 1, rows, positions);
    }
    return out;
  }

  /** The set just written becomes the current cache. */
  advance(): void {
    this.current = this.current === 0 ? 1 : 0;
  }

  /**
   * Copy rows `rows` (indices into the current cache of `positions` positions) into the other set
   * and make it current: a finished row leaves the batch, or beams are reordered, without allocating.
   */
  select(source: Record<string, ort.Tensor>, rows: number[], positions: number): Record<string, ort.Tensor> {
    const target = this.current === 0 ? 1 : 0;
    const rowSize = this.shape.heads * positions * this.shape.headDim;
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.shape.layers; l++) {
      for (const [j, name] of [[2 * l, `present_k_${l}`], [2 * l + 1, `present_v_${l}`]] as const) {
        const from = source[name].data as KvArray;
        const to = this.sets[target][j];
        rows.forEach((r, i) => to.set(from.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize));
        tensors[name] = this.view(target, j, rows.length, positions);
      }
    }
    this.current = target;
    return tensors;
  }

  private view(set: 0 | 1, index: number, rows: number, positions: number): ort.Tensor {
    const data = this.sets[set][index].subarray(0, rows * this.shape.heads * positions * this.shape.headDim);
    return new ort.Tensor(this.shape.dtype as 'float32', data as Float32Array, [rows, this.shape.heads, positions, this.shape.headDim]);
  }
}
