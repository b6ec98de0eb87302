// Requests through the router, as clients would send them, with what each answer says about
// where it ran; and the check that every answer carries its own request's words.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wordErrorRate } from '../../src/text/wer.js';
import { audioDir } from '../helpers.js';

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

/** Each answer is closer to its own clip's reference than to any other clip's in the run. */
export function ownWords(answers: Answer[]): { i: number; own: number; closestOther: number }[] {
  const wrong: { i: number; own: number; closestOther: number }[] = [];
  for (const a of answers) {
    const own = wordErrorRate(clip(a.i).text, a.text);
    const closestOther = Math.min(...answers.filter((b) => clip(b.i).text !== clip(a.i).text).map((b) => wordErrorRate(clip(b.i).text, a.text)));
    if (!(own < closestOther)) wrong.push({ i: a.i, own, closestOther });
  }
  return wrong;
}

export function summary(answers: Answer[]): { sent: number; answered: number; ok: number; retried: number; failed: number; byPool: Record<string, number> } {
  const ok = answers.filter((a) => a.status === 200);
  const byPool: Record<string, number> = {};
  for (const a of ok) byPool[a.pool ?? '?'] = (byPool[a.pool ?? '?'] ?? 0) + 1;
  return { sent: answers.length, answered: answers.filter((a) => a.status > 0).length, ok: ok.length, retried: answers.filter((a) => a.attempts > 1).length, failed: answers.length - ok.length, byPool };
}
