// Property-based fuzzing (fast-check) of a real transcription server on 127.0.0.1: mutated
// multipart bodies, fields, headers, audio bytes and raw HTTP request heads. Whatever comes in,
// the answer is never a 5xx, never a hang, and every error is OpenAI-shaped JSON; afterwards the
// server still transcribes a real request.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../src/text/wer.js';
import { startFunction, type RunningServer } from '../tools/local-stack.js';
import { audioDir, audioPath, referenceText } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const RAW_RUNS = Number(process.env.FUZZ_RAW_RUNS ?? 1000);
/** Longest any one answer may take: a short clip transcribes in well under a second here. */
const ANSWER_MS = 15_000;

// the shortest real clip (1.5 s), so the inputs that still decode cost little to transcribe
const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; duration: number }[];
const shortest = manifest.reduce((a, b) => (b.duration < a.duration ? b : a));
const AUDIO = { flac: readFileSync(join(audioDir, 'hifitts', shortest.audio)), mp3: readFileSync(audioPath('jfk.mp3')).subarray(0, 20_000) };

const FIELD_NAMES = ['model', 'language', 'prompt', 'response_format', 'temperature', 'timestamp_granularities[]', 'stream', 'file', 'x'];
const FIELD_VALUES = ['whisper-1', 'en', 'de', 'xx', 'english!', 'json', 'text', 'srt', 'vtt', 'verbose_json', 'docx', '0', '0.5', '1.5', '-1', 'NaN', 'word', 'segment', 'true', 'false', '', '\u0000', 'é'.repeat(300)];

/** Byte-level mutations of a buffer: flips, cuts, insertions, duplications. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 512 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(buffer: Buffer, mutations: Mutation[]): Buffer {
  let out = Buffer.from(buffer);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length;
    if (m.kind === 'flip' && out.length > 0) out[at] = m.byte;
    else if (m.kind === 'cut') out = out.subarray(0, at);
    else if (m.kind === 'insert') out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    else if (m.kind === 'repeat') out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + m.length), out.subarray(at)]);
  }
  return out;
}

const request = fc.record({
  path: fc.constantFrom('/v1/audio/transcriptions', '/v1/audio/translations'),
  shape: fc.constantFrom('multipart', 'raw'),
  audio: fc.constantFrom('flac', 'mp3', 'random'),
  random: fc.uint8Array({ maxLength: 4096 }),
  fields: fc.array(fc.tuple(fc.constantFrom(...FIELD_NAMES), fc.oneof(fc.constantFrom(...FIELD_VALUES), fc.string({ maxLength: 40 }))), { maxLength: 6 }),
  files: fc.integer({ min: 0, max: 2 }),
  mutations: fc.array(mutation, { maxLength: 4 }),
  contentType: fc.option(fc.constantFrom('multipart/form-data', 'multipart/form-data; boundary=', 'audio/wav', 'video/mp4', 'application/octet-stream', 'text/plain', 'application/json', 'multipart/mixed; boundary=x', 'audio/*; charset=utf-8'), { nil: undefined }),
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer R> ? R : never;

interface Outcome {
  status: number;
  contentType: string;
  body: string;
}

async function send(base: string, r: FuzzRequest): Promise<Outcome> {
  const audio = r.audio === 'random' ? Buffer.from(r.random) : AUDIO[r.audio];
  let body: Buffer;
  let contentType: string;
  if (r.shape === 'multipart') {
    const form = new FormData();
    for (let i = 0; i < r.files; i++) form.append('file', new Blob([new Uint8Array(audio)]), `a.${r.audio}`);
    for (const [k, v] of r.fields) form.append(k, v);
    const encoded = new Response(form);
    contentType = encoded.headers.get('content-type')!;
    body = mutate(Buffer.from(await encoded.arrayBuffer()), r.mutations);
  } else {
    contentType = 'audio/flac';
    body = mutate(audio, r.mutations);
  }
  const query = r.shape === 'raw' ? '?' + new URLSearchParams(r.fields).toString() : '';
  const headers: Record<string, string> = { 'Content-Type': r.contentType ?? contentType };
  const res = await fetch(base + r.path + query, { method: 'POST', body: new Uint8Array(body), headers, signal: AbortSignal.timeout(ANSWER_MS) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

function expectWellFormed(outcome: Outcome): void {
  expect(outcome.status, outcome.body).toBeLessThan(500);
  if (outcome.status >= 400) {
    expect(outcome.contentType).toContain('application/json');
    const parsed = JSON.parse(outcome.body) as { error: { message: string; type: string; code: string } };
    expect(parsed.error.code).toBeTruthy();
    expect(parsed.error.message.length).toBeGreaterThan(10);
  }
}

describe('fuzzing the transcription function (fast-check, real server)', () => {
  let server: RunningServer;
  let tried = 0;
  const statuses = new Map<number, number>();
  beforeAll(async () => {
    server = await startFunction('transcribe', { AUDIODECODE_UPLOAD_IDLE_TIMEOUT_S: '1', AUDIODECODE_MAX_AUDIO_SECONDS: '60' });
  });
  afterAll(async () => {
    process.stderr.write(`fuzz: ${tried} inputs tried; statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`);
    await server?.stop();
  });

  it(`${RUNS} mutated requests: never a 5xx, never a hang, every error OpenAI-shaped JSON`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const outcome = await send(server.url, r);
        tried++;
        statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
        expectWellFormed(outcome);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261201) },
    );
    // the inputs reached every layer: parsing errors, decoder errors and transcriptions
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect((statuses.get(415) ?? 0) + (statuses.get(422) ?? 0)).toBeGreaterThan(0);
  }, 900_000);

  it(`${RAW_RUNS} mutated raw HTTP request heads: a JSON answer or a closed connection, never a hang`, async () => {
    const head = 'POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/flac\r\nContent-Length: 4\r\n\r\nfLaC';
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const bytes = mutate(Buffer.from(head, 'latin1'), mutations);
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = connect(server.port, '127.0.0.1', () => socket.end(bytes));
          let data = '';
          socket.on('data', (d) => (data += d.toString('latin1')));
          socket.on('close', () => resolve(data));
          socket.on('error', () => resolve(data));
          setTimeout(() => {
            socket.destroy();
            reject(new Error(`no answer and no close in ${ANSWER_MS} ms for ${JSON.stringify(bytes.toString('latin1'))}`));
          }, ANSWER_MS);
        });
        tried++;
        if (answer === '') return; // the server closed a connection it could not read at all
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(status, answer).toBeLessThan(500);
        if (status >= 400) expect(answer).toMatch(/\r\n\r\n\{"error":\{"message":/);
      }),
      { numRuns: RAW_RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261201) },
    );
  }, 600_000);

  it('still transcribes a real request afterwards', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(readFileSync(audioPath('jfk.wav')))]), 'jfk.wav');
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(wordErrorRate(referenceText('jfk.wav'), ((await res.json()) as { text: string }).text)).toBe(0);
    // what the fuzzing started has all been answered or dropped: nothing holds a slot
    await expect.poll(async () => ((await (await fetch(`${server.url}/readyz`)).json()) as { inFlight: number }).inFlight, { timeout: 10_000 }).toBe(0);
  });
});
