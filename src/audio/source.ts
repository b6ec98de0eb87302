// Audio as the stages read it: 16 kHz mono, by range, as float32. A decoded file lives in a file
// of 16-bit PCM that ffmpeg wrote (src/audio/ffmpeg.ts), so an hour of audio (115 MB) stays on
// disk and every stage holds only the range it works on: memory stays flat with length.
import { closeSync, readSync } from 'node:fs';

const PCM16_SCALE = 1 / 32768;

export abstract class AudioSource {
  /** Samples in all. */
  abstract readonly length: number;

  /** Samples [start, end) as floats into `target` at `offset`; positions outside the audio read as 0. */
  read(target: Float32Array, offset: number, start: number, end: number): void {
    const from = Math.min(Math.max(start, 0), end);
    const to = Math.max(Math.min(end, this.length), from);
    target.fill(0, offset, offset + from - start);
    if (to > from) this.readWithin(target, offset + from - start, from, to);
    target.fill(0, offset + to - start, offset + end - start);
  }

  /** Samples [start, end) as a new array. */
  slice(start = 0, end = this.length): Float32Array {
    const out = new Float32Array(Math.max(0, end - start));
    this.read(out, 0, start, end);
    return out;
  }

  /** Samples [start, end) as a source of their own, without copying them. */
  range(start: number, end: number): AudioSource {
    return new RangeOf(this, Math.max(0, start), Math.min(this.length, end));
  }

  /** Let go of what the source holds (an open file). */
  close(): void {}

  /** [start, end) lies inside [0, length). */
  protected abstract readWithin(target: Float32Array, offset: number, start: number, end: number): void;
}

/** Float samples a caller already holds. */
export class MemoryAudio extends AudioSource {
  constructor(readonly samples: Float32Array) {
    super();
  }

  get length(): number {
    return this.samples.length;
  }

  protected readWithin(target: Float32Array, offset: number, start: number, end: number): void {
    target.set(this.samples.subarray(start, end), offset);
  }
}

/** Stages take either. */
export function asSource(audio: Float32Array | AudioSource): AudioSource {
  return audio instanceof AudioSource ? audio : new MemoryAudio(audio);
}

/** Little-endian 16-bit PCM in an open file, read with positioned reads (no shared file offset). */
export class Pcm16File extends AudioSource {
  /** 128 KB of 16-bit samples: reads go through it piece by piece, so a read never allocates. */
  private readonly scratch = new Int16Array(65536);
  private readonly scratchBytes = new Uint8Array(this.scratch.buffer);
  private fd: number | undefined;

  /** Takes ownership of `fd` (close() closes it). The samples start `byteOffset` bytes into the file. */
  constructor(
    fd: number,
    readonly length: number,
    private readonly byteOffset = 0,
  ) {
    super();
    this.fd = fd;
  }

  protected readWithin(target: Float32Array, offset: number, start: number, end: number): void {
    if (this.fd === undefined) throw new Error('the decoded audio was read after it was closed');
    for (let at = start; at < end; ) {
      const count = Math.min(this.scratch.length, end - at);
      let got = 0;
      while (got < count * 2) {
        const n = readSync(this.fd, this.scratchBytes, got, count * 2 - got, this.byteOffset + at * 2 + got);
        if (n === 0) throw new Error(`the decoded audio file ended at byte ${this.byteOffset + at * 2 + got}, before its ${this.length} samples`);
        got += n;
      }
      // Int16Array is host-endian: little-endian on every platform onnxruntime-node ships for
      for (let i = 0; i < count; i++) target[offset + at - start + i] = this.scratch[i] * PCM16_SCALE;
      at += count;
    }
  }

  override close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Little-endian 16-bit PCM in bytes a caller holds (an upload), read in place: no float copy of it all. */
export class Pcm16Bytes extends AudioSource {
  private readonly view: DataView;

  constructor(bytes: Uint8Array, readonly length: number) {
    super();
    this.view = new DataView(bytes.buffer, bytes.byteOffset, length * 2);
  }

  protected readWithin(target: Float32Array, offset: number, start: number, end: number): void {
    for (let i = start; i < end; i++) target[offset + i - start] = this.view.getInt16(i * 2, true) * PCM16_SCALE;
  }
}

class RangeOf extends AudioSource {
  readonly length: number;

  constructor(
    private readonly source: AudioSource,
    private readonly start: number,
    end: number,
  ) {
    super();
    this.length = Math.max(0, end - start);
  }

  protected readWithin(target: Float32Array, offset: number, start: number, end: number): void {
    this.source.read(target, offset, this.start + start, this.start + end);
  }
}
