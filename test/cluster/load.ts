// Requests through the router, as clients would send them, with what each answer says about
// where it ran; and the check that every answer carries its own request's words, whole.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WhisperInference } from '../../src/index.js';
import { audioDir, TEST_MODEL } from '../helpers.js';

const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; text: string }[];

export function clip(i: number): { bytes: Buffer; text: string } {
  const m = manifest[i % manifest.length];
  return { bytes: readFileSync(join(audioDir, 'hifitts', m.audio)), text: m.text };
}

export interface Answer {
  i: number;
  status: number;
  pool: string | null;
  instance: string | null;
  attempts: number;
  text: string;
  sentAt: number;
  doneAt: number;
}

export async function transcribe(url: string, i: number, headers: Record<string, string> = {}): Promise<Answer> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(clip(i).bytes)]), 'clip.flac');
  form.append('model', 'whisper-1');
  const sentAt = Date.now();
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, headers, signal: AbortSignal.timeout(120_000) });
  const body = await res.text();
  const text = res.status === 200 ? (JSON.parse(body) as { text: string }).text : body;
  return { i, status: res.status, pool: res.headers.get('x-audiodecode-pool'), instance: res.headers.get('x-audiodecode-instance'), attempts: Number(res.headers.get('x-audiodecode-attempts') ?? 1), text, sentAt, doneAt: Date.now() };
}

/** `total` requests over `clients` concurrent clients; `during` runs once `after` answers are in. */
export async function load(url: string, opts: { first: number; total: number; clients: number; after?: number; during?: () => Promise<void> }): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  let fired: Promise<void> | undefined;
  const client = async (): Promise<void> => {
    for (let k = next++; k < opts.total; k = next++) {
      answers.push(await transcribe(url, opts.first + k).catch((err: unknown) => ({ i: opts.first + k, status: 0, pool: null, instance: null, attempts: 0, text: String(err), sentAt: 0, doneAt: Date.now() })));
      if (opts.during && !fired && answers.length >= (opts.after ?? 0)) fired = opts.during();
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, client));
  await fired;
  return answers.sort((a, b) => a.i - b.i);
}

/**
 * What each clip transcribes to alone, on this CPU, through the pods' own pipeline (the function's
 * batched engine, tiny.en int8, one thread): int8 rounds differently on Xeon and EPYC, so answers
 * are held to this, not to the reference text, and an int8 row does not depend on its batch.
 */
const aloneTexts = new Map<number, Promise<string>>();
let engine: WhisperInference | undefined;
function alone(i: number): Promise<string> {
  const key = i % manifest.length;
  engine ??= new WhisperInference({ model: TEST_MODEL, device: 'cpu', computeType: 'int8', threads: 1, useBatchedInference: true, batchSize: 4, log: () => undefined });
  if (!aloneTexts.has(key)) aloneTexts.set(key, engine.transcribe(new Uint8Array(clip(i).bytes)).then((r) => r.text));
  return aloneTexts.get(key)!;
}

/** The answers that are not exactly what their clip gives alone: a wrong request's text, or a cut one. */
export async function notOwnWords(answers: Answer[]): Promise<{ i: number; text: string; alone: string }[]> {
  const wrong: { i: number; text: string; alone: string }[] = [];
  for (const a of answers) {
    const expected = await alone(a.i);
    if (a.text !== expected) wrong.push({ i: a.i, text: a.text, alone: expected });
  }
  return wrong;
}

export async function closeEngine(): Promise<void> {
  await engine?.close();
  engine = undefined;
}

export function summary(answers: Answer[]): { sent: number; answered: number; ok: number; retried: number; failed: number; byPool: Record<string, number> } {
  const ok = answers.filter((a) => a.status === 200);
  const byPool: Record<string, number> = {};
  for (const a of ok) byPool[a.pool ?? '?'] = (byPool[a.pool ?? '?'] ?? 0) + 1;
  return { sent: answers.length, answered: answers.filter((a) => a.status > 0).length, ok: ok.length, retried: answers.filter((a) => a.attempts > 1).length, failed: answers.length - ok.length, byPool };
}
