// Decode any container/codec ffmpeg knows to 16 kHz mono 16-bit PCM, streamed through a pipe (as
// faster-whisper's decoder does); the engine keeps it 16-bit (src/audio/samples.ts), callers of
// decodeAudio get float32.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AudioDecodeError } from '../errors.js';
import { toFloat32 } from './samples.js';

export const SAMPLE_RATE = 16000;

let bundledPath: string | null | undefined;

function ffmpegStatic(): string | null {
  if (bundledPath === undefined) {
    try {
      const path = createRequire(import.meta.url)('ffmpeg-static') as string | null;
      bundledPath = path && existsSync(path) ? path : null;
    } catch {
      bundledPath = null; // ffmpeg-static is optional: its install downloads a binary, which not every machine can
    }
  }
  return bundledPath;
}

/** FFMPEG_PATH, then the ffmpeg-static package's binary if it was installed, then PATH. */
export function findFfmpeg(): string {
  const fromEnv = process.env.FFMPEG_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new AudioDecodeError('ffmpeg_missing', `FFMPEG_PATH=${fromEnv} does not exist: point it at an ffmpeg binary or unset it`);
    return fromEnv;
  }
  return ffmpegStatic() ?? 'ffmpeg';
}

export type AudioInput = string | Uint8Array;

export interface DecodeOptions {
  /** Stop with `audio_too_long` once this many seconds have been decoded. */
  maxSeconds?: number;
  signal?: AbortSignal;
}

/** Decode a file path or in-memory bytes to float32 samples in [-1, 1). */
export async function decodeAudio(input: AudioInput, options: DecodeOptions = {}): Promise<Float32Array> {
  return toFloat32(await decodePcm16(input, options));
}

/**
 * Decode a file path or in-memory bytes to 16-bit samples. Bytes go to ffmpeg's stdin and samples
 * come back on stdout (no temporary files); ffmpeg's stderr becomes the error message when it fails.
 */
export function decodePcm16(input: AudioInput, options: DecodeOptions = {}): Promise<Int16Array> {
  if (typeof input !== 'string' && input.byteLength === 0) {
    return Promise.reject(new AudioDecodeError('empty_input', 'the audio input is empty (0 bytes)'));
  }
  const source = typeof input === 'string' ? input : 'pipe:0';
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-threads', '0', '-i', source, '-vn', '-map', '0:a:0',
    '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-acodec', 'pcm_s16le', 'pipe:1'];
  if (typeof input !== 'string') args.splice(0, 1); // -nostdin would close the pipe we write to
  return new Promise((resolve, reject) => {
    let proc;
    try {
      proc = spawn(findFfmpeg(), args, { stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    } catch (err) {
      reject(err);
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failure: Error | undefined;
    const maxBytes = options.maxSeconds ? Math.ceil(options.maxSeconds * SAMPLE_RATE) * BYTES_PER_SAMPLE : Infinity;
    proc.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes && !failure) {
        failure = new AudioDecodeError('audio_too_long', `the audio is longer than the limit of ${options.maxSeconds} s`);
        proc.kill('SIGKILL');
        return;
      }
      chunks.push(chunk);
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    proc.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        failure ??= new AudioDecodeError('ffmpeg_missing', 'ffmpeg was not found: install it (apt-get install ffmpeg) or set FFMPEG_PATH');
      } else failure ??= err;
    });
    // a consumer that stops reading (ffmpeg rejected the input early) must not crash us with EPIPE
    proc.stdin.on('error', () => undefined);
    proc.on('close', (code) => {
      if (failure) return reject(failure);
      if (code !== 0) return reject(describeFailure(stderr, input));
      const length = Math.floor(bytes / BYTES_PER_SAMPLE);
      if (length === 0) {
        return reject(new AudioDecodeError('no_audio_stream', 'the input decoded to no audio samples (empty or truncated audio)'));
      }
      resolve(joinPcm16(chunks, length));
    });
    if (typeof input === 'string') proc.stdin.end();
    else proc.stdin.end(input);
  });
}

const BYTES_PER_SAMPLE = 2;

/**
 * Little-endian 16-bit chunks into one Int16Array (a sample may straddle two chunks: the bytes are
 * joined, not the samples), with no concatenated copy in between; each chunk is dropped once copied.
 * Int16Array is host-endian: little-endian on every platform onnxruntime-node ships for.
 */
export function joinPcm16(chunks: Buffer[], length: number): Int16Array {
  const samples = new Int16Array(length);
  const bytes = new Uint8Array(samples.buffer);
  let at = 0;
  for (let c = 0; c < chunks.length && at < bytes.length; c++) {
    const take = Math.min(chunks[c].length, bytes.length - at);
    bytes.set(take === chunks[c].length ? chunks[c] : chunks[c].subarray(0, take), at);
    at += take;
    chunks[c] = EMPTY;
  }
  return samples;
}

const EMPTY = Buffer.alloc(0);

function describeFailure(stderr: string, input: AudioInput): AudioDecodeError {
  const what = typeof input === 'string' ? input : `${input.byteLength} bytes of input`;
  const detail = stderr.trim().split('\n').slice(-3).join('; ');
  if (/does not contain any stream|matches no streams|Output file .* does not contain/i.test(stderr)) {
    return new AudioDecodeError('no_audio_stream', `${what} has no audio stream (${detail})`);
  }
  if (/No such file or directory/i.test(stderr)) {
    return new AudioDecodeError('invalid_audio', `${what}: no such file`);
  }
  return new AudioDecodeError('invalid_audio', `${what} is not decodable audio: ${detail || 'ffmpeg failed'}`);
}
