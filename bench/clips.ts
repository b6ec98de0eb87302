// Benchmark workloads built from ../shared/audio, cached outside the repository.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, sharedDir } from '../src/env.js';

export interface Workload {
  name: string;
  files: string[];
  /** The files' reference transcripts joined by a space. */
  reference: string;
  /** Submitted all at once (a throughput case), not one after another. */
  concurrent?: boolean;
}

const audio = (p: string): string => join(sharedDir(), 'audio', p);
const text = (p: string): string => readFileSync(audio(p), 'utf8').trim();

/** About 10 minutes of real speech with a reference: the human long-form clip twice, then gettysburg. */
export function tenMinuteClip(): Workload {
  const dir = join(cacheDir(), 'bench');
  const path = join(dir, 'longform-10min.flac');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const inputs = ['hifitts/longform.flac', 'hifitts/longform.flac', 'gettysburg.wav'].flatMap((p) => ['-i', audio(p)]);
    const filter = '[0:a]aresample=16000,aformat=channel_layouts=mono[a0];[1:a]aresample=16000,aformat=channel_layouts=mono[a1];[2:a]aresample=16000,aformat=channel_layouts=mono[a2];[a0][a1][a2]concat=n=3:v=0:a=1[out]';
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', filter, '-map', '[out]', path]);
  }
  return { name: 'longform-10min', files: [path], reference: [text('hifitts/longform.txt'), text('hifitts/longform.txt'), text('gettysburg.txt')].join(' ') };
}

export function sharedClip(name: string, file: string, ref: string): Workload {
  return { name, files: [audio(file)], reference: text(ref) };
}

/** `count` short human clips (1.5-10 s each) from hifitts/manifest.json, submitted concurrently. */
export function concurrentShortClips(count: number): Workload {
  const manifest = JSON.parse(readFileSync(audio('hifitts/manifest.json'), 'utf8')) as { audio: string; text: string }[];
  const picked = manifest.slice(0, count);
  return { name: `${count}-concurrent-short`, files: picked.map((c) => audio(join('hifitts', c.audio))), reference: picked.map((c) => c.text).join(' '), concurrent: true };
}

/**
 * An hour of real speech with a reference: the 241.5 s human long-form clip 15 times (60.4 min),
 * as 24 kb/s Opus like a real upload, built once into the cache.
 */
export function hourClip(): Workload {
  const dir = join(cacheDir(), 'bench');
  const path = join(dir, 'longform-hour.ogg');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-stream_loop', '14', '-i', audio('hifitts/longform.flac'), '-ac', '1', '-c:a', 'libopus', '-b:a', '24k', path]);
  }
  return { name: 'longform-hour', files: [path], reference: Array(15).fill(text('hifitts/longform.txt')).join(' ') };
}

/**
 * Clips laid end to end in `order` (indices into `clips`), `gapSamples` of silence after each: long-form
 * speech whose chunk boundaries and close calls change with the order (test/batched-coverage.test.ts,
 * tools/probes/joined_ab.ts).
 */
export function joinClips(clips: Float32Array[], order: number[], gapSamples: number): Float32Array {
  const joined = new Float32Array(order.reduce((n, i) => n + clips[i].length + gapSamples, 0));
  let at = 0;
  for (const i of order) {
    joined.set(clips[i], at);
    at += clips[i].length + gapSamples;
  }
  return joined;
}
