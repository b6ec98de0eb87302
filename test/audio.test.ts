import { execFileSync } from 'node:child_process';
import { openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeAudio, decodeToFile, SAMPLE_RATE } from '../src/audio/ffmpeg.js';
import { MemoryAudio, Pcm16Bytes, Pcm16File } from '../src/audio/source.js';
import { AudioDecodeError } from '../src/errors.js';
import { audioPath, scratch, transcode } from './helpers.js';

const JFK_SECONDS = 11.0;
let dir: string;

beforeAll(() => {
  dir = scratch();
  transcode(audioPath('jfk.wav'), join(dir, 'jfk.flac'), []);
  transcode(audioPath('jfk.wav'), join(dir, 'jfk.opus.ogg'), ['-c:a', 'libopus']);
  transcode(audioPath('jfk.wav'), join(dir, 'jfk.m4a'), ['-c:a', 'aac']);
  transcode(audioPath('jfk.wav'), join(dir, 'jfk.webm'), ['-c:a', 'libopus']);
  transcode(audioPath('jfk.wav'), join(dir, 'jfk-48k-stereo.wav'), ['-ar', '48000', '-ac', '2']);
  const wav = readFileSync(audioPath('jfk.wav'));
  writeFileSync(join(dir, 'truncated.wav'), wav.subarray(0, 40)); // header cut mid-way
  writeFileSync(join(dir, 'garbage.mp3'), Buffer.from('this is not audio at all, just some text '.repeat(50)));
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<AudioDecodeError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AudioDecodeError);
  expect((err as AudioDecodeError).code).toBe(code);
  expect((err as AudioDecodeError).message.length).toBeGreaterThan(10);
  return err as AudioDecodeError;
}

describe('decodeAudio', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(['jfk.flac', 'jfk.opus.ogg', 'jfk.m4a', 'jfk.webm', 'jfk-48k-stereo.wav'])('decodes %s to 16 kHz mono of the right length', async (name) => {
    const samples = await decodeAudio(join(dir, name));
    expect(Math.abs(samples.length / SAMPLE_RATE - JFK_SECONDS)).toBeLessThan(0.08);
    const peak = samples.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.1);
    expect(peak).toBeLessThanOrEqual(1.01);
  });

  it('decodes in-memory bytes through the pipe exactly as the file', async () => {
    const fromFile = await decodeAudio(audioPath('jfk.mp3'));
    const fromBytes = await decodeAudio(new Uint8Array(readFileSync(audioPath('jfk.mp3'))));
    // a pipe cannot seek to the mp3's LAME tag, so the encoder's end padding (< 1 frame of
    // 1152 samples) stays; the start, and so every timestamp, lines up sample for sample
    expect(fromBytes.length - fromFile.length).toBeGreaterThanOrEqual(0);
    expect(fromBytes.length - fromFile.length).toBeLessThan(1152);
    for (let i = 0; i < fromFile.length; i += 997) expect(fromBytes[i]).toBe(fromFile[i]);
  });

  it('reads 16-bit PCM from its file by range, across its read buffer, with zeros outside the audio', () => {
    const values = Int16Array.from({ length: 200_000 }, (_, i) => ((i * 7919) % 65536) - 32768);
    const path = join(dir, 'ramp.s16le');
    writeFileSync(path, Buffer.from(values.buffer));
    const file = new Pcm16File(openSync(path, 'r'), values.length);
    const memory = new MemoryAudio(Float32Array.from(values, (v) => v / 32768));
    const odd = new Uint8Array(values.byteLength + 1); // the bytes at an odd offset, as in an upload's buffer
    odd.set(new Uint8Array(values.buffer), 1);
    const bytes = new Pcm16Bytes(odd.subarray(1), values.length);
    // 65536 samples go through the read buffer at a time: these ranges cross it, and both ends
    for (const [start, end] of [[0, 10], [65530, 65540], [-5, 131_100], [199_990, 200_010], [250_000, 250_004]]) {
      expect([...file.slice(start, end)]).toEqual([...memory.slice(start, end)]);
      expect([...bytes.slice(start, end)]).toEqual([...memory.slice(start, end)]);
    }
    expect(file.slice(-2, 1)).toEqual(Float32Array.from([0, 0, -1]));
    expect([...file.range(100, 105).slice()]).toEqual([...memory.slice(100, 105)]);
    file.close();
    expect(() => file.slice(0, 1)).toThrow(/closed/);
  });

  it('decodes into a file that is already gone from the scratch directory', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('audiodecode-')).length;
    const audio = await decodeToFile(join(dir, 'jfk.flac'));
    expect(readdirSync(tmpdir()).filter((n) => n.startsWith('audiodecode-')).length).toBe(before);
    expect([...audio.slice(16000, 16100)]).toEqual([...(await decodeAudio(join(dir, 'jfk.flac'))).subarray(16000, 16100)]);
    audio.close();
  });

  it('says where to decode when TMPDIR is not writable', async () => {
    vi.stubEnv('TMPDIR', join(dir, 'no-such-dir'));
    const err = await expectCode(decodeAudio(join(dir, 'jfk.flac')), 'no_scratch_space');
    expect(err.message).toContain('TMPDIR');
  });

  it('rejects empty input', async () => {
    await expectCode(decodeAudio(new Uint8Array(0)), 'empty_input');
  });

  it('rejects bytes that are not audio, from a file and from memory', async () => {
    await expectCode(decodeAudio(join(dir, 'garbage.mp3')), 'invalid_audio');
    await expectCode(decodeAudio(new Uint8Array(readFileSync(join(dir, 'garbage.mp3')))), 'invalid_audio');
  });

  it('rejects a truncated file', async () => {
    const err = await decodeAudio(join(dir, 'truncated.wav')).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AudioDecodeError);
    expect(['invalid_audio', 'no_audio_stream']).toContain((err as AudioDecodeError).code);
  });

  it('names a missing file', async () => {
    const err = await expectCode(decodeAudio(join(dir, 'nope.wav')), 'invalid_audio');
    expect(err.message).toContain('no such file');
  });

  it('stops at the duration limit', async () => {
    const err = await expectCode(decodeAudio(audioPath('jfk.wav'), { maxSeconds: 5 }), 'audio_too_long');
    expect(err.message).toContain('5 s');
  });

  it('says what is wrong when FFMPEG_PATH points nowhere', async () => {
    vi.stubEnv('FFMPEG_PATH', join(dir, 'no-ffmpeg-here'));
    const err = await expectCode(decodeAudio(join(dir, 'jfk.flac')), 'ffmpeg_missing');
    expect(err.message).toContain('FFMPEG_PATH');
  });

  it('says how to install ffmpeg when it is not on PATH', async () => {
    vi.stubEnv('PATH', dir);
    const err = await expectCode(decodeAudio(join(dir, 'jfk.flac')), 'ffmpeg_missing');
    expect(err.message).toContain('apt-get install ffmpeg');
  });

  describe('a WAV already in the engine\'s format (16 kHz mono 16-bit PCM) is read in place, without ffmpeg', () => {
    /** ffmpeg's own decoding of `path` (its command line), the reference the fast path must equal. */
    function ffmpegSamples(path: string): Float32Array {
      const pcm = execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', path, '-ac', '1', '-ar', '16000', '-f', 's16le', '-'], { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
      return Float32Array.from(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2), (v) => v / 32768);
    }

    it('jfk.wav, from its path and as bytes, gives ffmpeg\'s samples, with no ffmpeg to run', async () => {
      const reference = ffmpegSamples(audioPath('jfk.wav'));
      vi.stubEnv('FFMPEG_PATH', join(dir, 'no-ffmpeg-here')); // ffmpeg would fail: this path does not start it
      expect(await decodeAudio(audioPath('jfk.wav'))).toEqual(reference);
      expect(await decodeAudio(new Uint8Array(readFileSync(audioPath('jfk.wav'))))).toEqual(reference);
      await expectCode(decodeAudio(join(dir, 'jfk-48k-stereo.wav')), 'ffmpeg_missing'); // other WAVs still go to ffmpeg
    });

    it('past extra chunks of odd size, and with a data size past the end of a cut file, as ffmpeg reads them', async () => {
      const wav = readFileSync(audioPath('jfk.wav'));
      const fmtAt = wav.indexOf('fmt ');
      const fmtEnd = fmtAt + 8 + wav.readUInt32LE(fmtAt + 4);
      const extra = Buffer.concat([Buffer.from('junk'), Buffer.from([5, 0, 0, 0]), Buffer.from('abcde'), Buffer.from([0])]); // 5 bytes, padded
      const withChunk = Buffer.concat([wav.subarray(0, fmtEnd), extra, wav.subarray(fmtEnd)]);
      withChunk.writeUInt32LE(withChunk.length - 8, 4);
      const cut = withChunk.subarray(0, withChunk.length - 30001); // odd: the last sample is half there
      writeFileSync(join(dir, 'chunked.wav'), withChunk);
      writeFileSync(join(dir, 'cut.wav'), cut);
      for (const name of ['chunked.wav', 'cut.wav']) {
        const reference = ffmpegSamples(join(dir, name));
        expect(await decodeAudio(join(dir, name)), name).toEqual(reference);
        expect(await decodeAudio(new Uint8Array(readFileSync(join(dir, name)))), name).toEqual(reference);
      }
      expect((await decodeAudio(join(dir, 'cut.wav'))).length).toBe(ffmpegSamples(audioPath('jfk.wav')).length - 15001);
    });

    it('keeps the duration limit', async () => {
      await expectCode(decodeAudio(audioPath('jfk.wav'), { maxSeconds: 5 }), 'audio_too_long');
      await expectCode(decodeAudio(new Uint8Array(readFileSync(audioPath('jfk.wav'))), { maxSeconds: 5 }), 'audio_too_long');
      expect((await decodeAudio(audioPath('jfk.wav'), { maxSeconds: 12 })).length).toBe(176000);
    });
  });
});
