// Paths to the shared data and the fixture, and small readers; every test goes through here.
import AdmZip from 'adm-zip';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, sharedDir } from '../src/env.js';
import { TEST_MODEL } from '../tools/local-stack.js';

export { TEST_MODEL };

export const audioDir = join(sharedDir(), 'audio');
export const referenceDir = join(cacheDir(), 'reference', TEST_MODEL);

/** The reference data `npm run models:fixture` recorded for `model` (faster-whisper on the same weights). */
export function referenceDirOf(model: string): string {
  return join(cacheDir(), 'reference', model);
}

export function audioPath(name: string): string {
  return join(audioDir, name);
}

export function referenceText(name: string): string {
  return readFileSync(audioPath(name.replace(/\.\w+$/, '.txt')), 'utf8').trim();
}

export function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export interface Parity {
  encoder: Record<string, { maxAbsDiff: number; meanAbsDiff: number }>;
  transcripts: Record<string, string>;
  /** faster-whisper's greedy long-form segments (seek, conditioned on previous text, no VAD). */
  longform: { clip: string; segments: { start: number; end: number; text: string }[] };
  /** faster-whisper's beam 5 transcript (float32, language en, no VAD) of the long-form clip. */
  beam: { clip: string; beamSize: number; text: string };
  /** faster-whisper's word timestamps (CTranslate2's own alignment) of one clip. */
  words: { clip: string; words: { word: string; start: number; end: number }[] };
}

export function parity(model: string = TEST_MODEL): Parity {
  const path = join(referenceDirOf(model), 'parity.json');
  if (!existsSync(path)) throw new Error(`${path} is missing: run 'npm run models:fixture' first`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A scratch directory for files a test makes with ffmpeg. */
export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'audiodecode-test-'));
}

/** Transcode a shared clip with ffmpeg's command line (independent of the engine's decoder). */
export function transcode(source: string, target: string, args: string[]): string {
  execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-i', source, ...args, target]);
  return target;
}

/** A zip (a wheel, as PyPI serves one) holding `files`, path -> bytes. */
export function zipOf(files: Record<string, Buffer>): Buffer {
  const zip = new AdmZip();
  for (const [path, bytes] of Object.entries(files)) zip.addFile(path, bytes);
  return zip.toBuffer();
}
