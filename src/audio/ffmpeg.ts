// Decode any container/codec ffmpeg knows to 16 kHz mono 16-bit PCM (what faster-whisper's decoder
// produces too), into a file the engine reads window by window (src/audio/source.ts). A WAV already
// in that format is read where it lies instead (src/audio/wav.ts).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdtempSync, openSync, readSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AudioDecodeError } from '../errors.js';
import { Pcm16Bytes, Pcm16File, type AudioSource } from './source.js';
import { pcm16Layout } from './wav.js';

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
  /** Fail with `audio_too_long` when the audio is longer than this many seconds (what its container states, or what it decodes to). */
  maxSeconds?: number;
  signal?: AbortSignal;
}

/** Decode a file path or in-memory bytes to float32 samples in [-1, 1), all in memory. */
export async function decodeAudio(input: AudioInput, options: DecodeOptions = {}): Promise<Float32Array> {
  const audio = await decodeToFile(input, options);
  try {
    return audio.slice();
  } finally {
    audio.close();
  }
}

/**
 * Decode a file path or in-memory bytes to 16-bit PCM in a temporary file (under TMPDIR) that the
 * stages read by range: an hour of audio is 115 MB of disk and page cache, not of the heap. ffmpeg
 * reads a file (bytes are written to one first: some containers need to seek) and writes the PCM
 * file itself, so no sample passes through JavaScript until a stage reads it. Both files are
 * unlinked as soon as the PCM one is open: nothing is left behind, even when the process dies.
 * ffmpeg's stderr becomes the error message when it fails. A WAV already in that format is read
 * where it lies (its file, or the bytes given), with no ffmpeg and no temporary file.
 */
export async function decodeToFile(input: AudioInput, options: DecodeOptions = {}): Promise<AudioSource> {
  if (typeof input !== 'string' && input.byteLength === 0) {
    throw new AudioDecodeError('empty_input', 'the audio input is empty (0 bytes)', 'input');
  }
  const maxSamples = options.maxSeconds === undefined ? undefined : Math.ceil(options.maxSeconds * SAMPLE_RATE);
  const wav = readPcm16Wav(input);
  if (wav) {
    if (maxSamples !== undefined && wav.length > maxSamples) {
      wav.close();
      throw tooLong(wav.length / SAMPLE_RATE, options.maxSeconds!);
    }
    return wav;
  }
  let dir: string;
  try {
    // synchronous (one mkdir): a file path then reaches ffmpeg within this call, so it decodes even
    // while the caller's next step holds the main thread (the first run's model load)
    dir = mkdtempSync(join(tmpdir(), 'audiodecode-'));
  } catch (err) {
    throw new AudioDecodeError('no_scratch_space', `cannot create the file to decode into under ${tmpdir()} (${(err as Error).message}): set TMPDIR to a writable directory`);
  }
  try {
    const path = join(dir, 'audio.s16le');
    // Bytes are written to a file first, so ffmpeg reads a seekable input: an MP4/M4A whose index
    // (moov) sits at the end of the file, as ffmpeg and most recorders write it, cannot be decoded
    // from a pipe (ffmpeg sees no samples). The upload is bounded by the caller's upload limit.
    let source: string;
    if (typeof input === 'string') source = input;
    else {
      source = join(dir, 'input');
      await writeFile(source, input).catch((err: Error) => {
        throw new AudioDecodeError('no_scratch_space', `cannot write the upload under ${tmpdir()} (${err.message}): free space there or point TMPDIR at a larger disk`);
      });
    }
    const stated = await runFfmpeg(source, path, options.maxSeconds, options.signal, typeof input === 'string' ? input : `${input.byteLength} bytes of input`);
    const length = Math.floor((await stat(path)).size / BYTES_PER_SAMPLE);
    if (length === 0) throw new AudioDecodeError('no_audio_stream', 'the input decoded to no audio samples (empty or truncated audio)', 'input');
    // decoding ran past the limit by a margin, so a file over the limit decodes to more than it,
    // wherever the decoder stops around the cap (a 6 kb/s Opus stopped just short of it)
    if (maxSamples !== undefined && length > maxSamples) {
      throw tooLong(Math.max(length / SAMPLE_RATE, stated ?? 0), options.maxSeconds!);
    }
    return new Pcm16File(openSync(path, 'r'), length);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const BYTES_PER_SAMPLE = 2;
/** Enough of a file to hold a WAV header with its usual extra chunks (LIST, bext). */
const WAV_HEADER_BYTES = 65536;

/** The input as a source of its own when it is a WAV in the engine's format (src/audio/wav.ts), else null (for ffmpeg). */
function readPcm16Wav(input: AudioInput): AudioSource | null {
  if (typeof input !== 'string') {
    const layout = pcm16Layout(input.subarray(0, WAV_HEADER_BYTES), input.byteLength);
    return layout && new Pcm16Bytes(input.subarray(layout.dataOffset), layout.samples);
  }
  let fd: number;
  try {
    fd = openSync(input, 'r');
  } catch {
    return null; // ffmpeg says what is wrong with the path
  }
  try {
    const header = new Uint8Array(WAV_HEADER_BYTES);
    const layout = pcm16Layout(header.subarray(0, readSync(fd, header, 0, header.byteLength, 0)), fstatSync(fd).size);
    if (layout) return new Pcm16File(fd, layout.samples, layout.dataOffset);
  } catch {
    // not a readable regular file (a directory, a device): ffmpeg's error
  }
  closeSync(fd);
  return null;
}

/** How far past the limit decoding runs, so that the decoded length alone tells a longer file (any codec frame is far shorter). */
const LIMIT_MARGIN_S = 5;
/** What a container may state beyond the audio it holds (codec padding, rounded durations) before it counts as over the limit. */
const STATED_SLACK_S = 0.5;

function tooLong(seconds: number, maxSeconds: number): AudioDecodeError {
  return new AudioDecodeError('audio_too_long', `the audio is ${seconds.toFixed(1)} s, longer than the limit of ${maxSeconds} s`, 'input');
}

/**
 * ffmpeg from the file `source` to `path` as 16 kHz mono s16le. With `maxSeconds`, decoding stops
 * LIMIT_MARGIN_S past it, and a container that states a longer duration is refused at once,
 * before it is decoded at all. Returns the duration the container states, if any. `what` names
 * the input in errors.
 */
function runFfmpeg(source: string, path: string, maxSeconds: number | undefined, signal: AbortSignal | undefined, what: string): Promise<number | undefined> {
  // level+info: the input's stated Duration arrives with the stream info, errors are tagged [error]
  const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-threads', '0', '-i', source, '-vn', '-map', '0:a:0',
    '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 's16le', '-acodec', 'pcm_s16le'];
  if (maxSeconds !== undefined) args.push('-t', String(maxSeconds + LIMIT_MARGIN_S));
  args.push('-y', path);
  return new Promise((resolve, reject) => {
    let proc;
    try {
      proc = spawn(findFfmpeg(), args, { stdio: ['ignore', 'ignore', 'pipe'], signal });
    } catch (err) {
      reject(err);
      return;
    }
    let pending = '';
    let errors = '';
    let stated: number | undefined;
    let failure: Error | undefined;
    proc.stderr.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const duration = /^\[info\]\s+Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
        if (duration && stated === undefined) {
          stated = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
          if (maxSeconds !== undefined && stated > maxSeconds + STATED_SLACK_S) {
            failure ??= tooLong(stated, maxSeconds);
            proc.kill('SIGKILL'); // no need to decode what will be refused
          }
        } else if (/^\[(error|fatal|panic)\]/.test(line) && errors.length < 4000) errors += line.replace(/^\[\w+\]\s*/, '') + '\n';
      }
    });
    proc.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        failure ??= new AudioDecodeError('ffmpeg_missing', 'ffmpeg was not found: install it (apt-get install ffmpeg) or set FFMPEG_PATH');
      } else failure ??= err;
    });
    proc.on('close', (code) => {
      if (failure) return reject(failure);
      if (code !== 0) return reject(describeFailure(errors + pending, what));
      resolve(stated);
    });
  });
}

function describeFailure(stderr: string, what: string): AudioDecodeError {
  const detail = stderr.trim().split('\n').slice(-3).join('; ');
  if (/does not contain any stream|matches no streams|Output file .* does not contain/i.test(stderr)) {
    return new AudioDecodeError('no_audio_stream', `${what} has no audio stream (${detail})`, 'input');
  }
  if (/No space left on device|Disk quota exceeded/i.test(stderr)) {
    return new AudioDecodeError('no_scratch_space', `no room under ${tmpdir()} for the decoded audio (16 kHz 16-bit, 115 MB per hour): free space there or point TMPDIR at a larger disk`);
  }
  if (/No such file or directory/i.test(stderr)) {
    return new AudioDecodeError('invalid_audio', `${what}: no such file`, 'input');
  }
  return new AudioDecodeError('invalid_audio', `${what} is not decodable audio: ${detail || 'ffmpeg failed'}`, 'input');
}
