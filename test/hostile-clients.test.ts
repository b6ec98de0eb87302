// The function against real-world files and hostile clients (real server on 127.0.0.1): containers
// that need seeking, slow and stalled uploads, broken forms, API keys, streamed results.
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../src/text/wer.js';
import { startFunction, type RunningServer } from '../tools/local-stack.js';
import { audioPath, referenceText, scratch } from './helpers.js';

function form(fields: Record<string, string>, ...files: { bytes: Uint8Array; name: string; field?: string }[]): FormData {
  const f = new FormData();
  for (const file of files) f.append(file.field ?? 'file', new Blob([Buffer.from(file.bytes)]), file.name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

async function expectError(res: Response, status: number, code: string): Promise<{ message: string; param: string | null }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: { message: string; type: string; code: string; param: string | null } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(15);
  return body.error;
}

/** A raw HTTP exchange on its own socket: what the server answered, as text. */
function rawExchange(port: number, request: Buffer | string, waitMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, waitMs);
  });
}

const jfk = (): { bytes: Uint8Array; name: string } => ({ bytes: readFileSync(audioPath('jfk.mp3')), name: 'jfk.mp3' });

describe('real-world containers over HTTP', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = scratch();
    server = await startFunction('transcribe');
  });
  afterAll(() => server?.stop());

  it.each([
    ['an audio-only .m4a, index at the end (ffmpeg\'s default)', 'jfk.m4a', ['-i', audioPath('jfk.wav'), '-c:a', 'aac']],
    ['a .mp4 with a video track', 'jfk.mp4', ['-f', 'lavfi', '-i', 'color=c=black:s=64x64:d=11', '-i', audioPath('jfk.wav'), '-map', '0:v', '-map', '1:a', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest']],
    ['a .mkv with video first, then audio', 'jfk.mkv', ['-f', 'lavfi', '-i', 'color=c=black:s=64x64:d=11', '-i', audioPath('jfk.wav'), '-map', '0:v', '-map', '1:a', '-c:v', 'mpeg4', '-c:a', 'libopus', '-shortest']],
    ['a .webm with video', 'jfk.webm', ['-f', 'lavfi', '-i', 'color=c=black:s=64x64:d=11', '-i', audioPath('jfk.wav'), '-map', '0:v', '-map', '1:a', '-c:v', 'libvpx', '-c:a', 'libopus', '-shortest']],
  ])('transcribes %s', async (_, name, args) => {
    const path = join(dir, name);
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...args, path]);
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ model: 'whisper-1' }, { bytes: readFileSync(path), name }) });
    expect(res.status).toBe(200);
    expect(wordErrorRate(referenceText('jfk.wav'), ((await res.json()) as { text: string }).text)).toBe(0);
  });
});

describe('broken forms', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startFunction('transcribe');
  });
  afterAll(() => server?.stop());

  it('a multipart body cut short is a 400 in the OpenAI shape, not a 500', async () => {
    const whole = Buffer.from(await new Response(form({ model: 'whisper-1' }, jfk())).arrayBuffer());
    const boundary = /^--([^\r\n]+)/.exec(whole.toString('latin1'))![1];
    for (const cut of [0.05, 0.5, 0.999]) {
      const body = whole.subarray(0, Math.floor(whole.length * cut));
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body, headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` } });
      const err = await expectError(res, 400, 'invalid_multipart');
      expect(err.message).toMatch(/multipart/);
    }
  });

  it('two file parts are a 400, not one silently ignored', async () => {
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ model: 'whisper-1' }, jfk(), jfk()) });
    const err = await expectError(res, 400, 'multiple_files');
    expect(err.param).toBe('file');
  });

  it('a bad stream field, an unknown method and a route outside the API are clear 4xx', async () => {
    await expectError(await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ stream: 'yes' }, jfk()) }), 400, 'invalid_stream');
    await expectError(await fetch(`${server.url}/v1/audio/transcriptions`), 405, 'method_not_allowed');
    await expectError(await fetch(`${server.url}/v2/audio`), 404, 'not_found');
  });
});

describe('slow and stalled uploads', () => {
  let server: RunningServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // a small inference queue, so that before the fix a few slow clients were enough to take it
    server = await startFunction('transcribe', { AUDIODECODE_MAX_QUEUE: '8', AUDIODECODE_UPLOAD_IDLE_TIMEOUT_S: '3' });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server?.stop();
  });

  it('300 clients sending their body at a byte a second take no inference slot: a normal request is answered, /healthz stays fast', async () => {
    const SLOW = 300;
    await Promise.all(
      Array.from({ length: SLOW }, () => new Promise<void>((resolve, reject) => {
        const socket = connect(server.port, '127.0.0.1', () => {
          socket.write('POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: 100000\r\n\r\n');
          resolve();
        });
        socket.on('error', () => undefined);
        sockets.push(socket);
        setTimeout(() => reject(new Error('no connection')), 10_000);
      })),
    );
    const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write('x')), 1000);
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const health: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        health.push(performance.now() - t);
      }
      expect(Math.max(...health)).toBeLessThan(250);
      const started = performance.now();
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, jfk()) });
      const latency = performance.now() - started;
      expect(res.status).toBe(200);
      expect(wordErrorRate(referenceText('jfk.wav'), ((await res.json()) as { text: string }).text)).toBe(0);
      expect(latency).toBeLessThan(5000);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(Number(/audiodecode_uploads_in_progress (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(SLOW - 5);
      expect(metrics).toMatch(/audiodecode_in_flight_requests 0/);
      process.stderr.write(`slow clients: ${SLOW} held, normal request answered in ${latency.toFixed(0)} ms, /healthz max ${Math.max(...health).toFixed(0)} ms\n`);
    } finally {
      clearInterval(drip);
    }
  }, 60_000);

  it('an upload that stalls gets 408 upload_timeout in the OpenAI shape after the idle timeout', async () => {
    const answer = await rawExchange(server.port, 'POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: 5000\r\n\r\nRIFF', 8000);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer).toContain('"code":"upload_timeout"');
    expect(answer).toContain('"type":"invalid_request_error"');
  }, 20_000);
});

describe('API keys', () => {
  let server: RunningServer;
  let keysFile: string;
  beforeAll(async () => {
    keysFile = join(scratch(), 'keys');
    writeFileSync(keysFile, '# one key per line, as a mounted Secret\nsk-file-key-1\n\nsk-file-key-2\n');
    server = await startFunction('transcribe', { AUDIODECODE_API_KEYS: 'sk-env-key', AUDIODECODE_API_KEYS_FILE: keysFile });
  });
  afterAll(() => server?.stop());

  it('a request without a key or with a wrong one is 401 invalid_api_key; health and readiness stay open', async () => {
    const url = `${server.url}/v1/audio/transcriptions`;
    const none = await expectError(await fetch(url, { method: 'POST', body: form({}, jfk()) }), 401, 'invalid_api_key');
    expect(none.message).toContain('Authorization: Bearer');
    await expectError(await fetch(url, { method: 'POST', body: form({}, jfk()), headers: { Authorization: 'Bearer sk-wrong' } }), 401, 'invalid_api_key');
    await expectError(await fetch(url, { method: 'POST', body: form({}, jfk()), headers: { Authorization: 'sk-env-key' } }), 401, 'invalid_api_key');
    await expectError(await fetch(`${server.url}/v1/nope`), 401, 'invalid_api_key'); // nothing under /v1 is mapped without a key
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('the openai SDK with a key from the environment or from the file is let in', async () => {
    for (const apiKey of ['sk-env-key', 'sk-file-key-1', 'sk-file-key-2']) {
      const client = new OpenAI({ apiKey, baseURL: `${server.url}/v1` });
      const result = await client.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.wav')), model: 'whisper-1' });
      expect(wordErrorRate(referenceText('jfk.wav'), result.text)).toBe(0);
    }
    const wrong = new OpenAI({ apiKey: 'sk-nope', baseURL: `${server.url}/v1`, maxRetries: 0 });
    await expect(wrong.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.wav')), model: 'whisper-1' })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('keys appear neither in the logs nor in the metrics', async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const key of ['sk-env-key', 'sk-file-key-1', 'sk-file-key-2', 'sk-wrong', 'sk-nope']) {
      expect(server.logs()).not.toContain(key);
      expect(metrics).not.toContain(key);
    }
  });
});

interface StreamEvent {
  type: string;
  delta?: string;
  text?: string;
  start?: number;
  end?: number;
  language?: string;
}

describe('streamed results (stream=true)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startFunction('transcribe', { AUDIODECODE_BATCH_SIZE: '1' });
  });
  afterAll(() => server?.stop());

  it('the openai SDK reads deltas and timed segments as they are final, then the whole result', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
    const started = performance.now();
    const stream = await client.audio.transcriptions.create({ file: createReadStream(audioPath('hifitts/longform.flac')), model: 'whisper-1', stream: true });
    const events: (StreamEvent & { at: number })[] = [];
    for await (const event of stream as AsyncIterable<StreamEvent>) events.push({ ...event, at: performance.now() - started });
    const done = events.at(-1)!;
    expect(done.type).toBe('transcript.text.done');
    expect(done.language).toBe('en');
    const deltas = events.filter((e) => e.type === 'transcript.text.delta');
    const segments = events.filter((e) => e.type === 'transcript.text.segment');
    expect(deltas.length).toBeGreaterThan(10);
    expect(segments.length).toBe(deltas.length);
    expect(deltas.map((d) => d.delta).join('')).toBe(segments.map((s) => s.text).join(''));
    expect(deltas.map((d) => d.delta).join('').trim()).toBe(done.text);
    for (let i = 1; i < segments.length; i++) expect(segments[i].start!).toBeGreaterThanOrEqual(segments[i - 1].end! - 1e-9);
    // words as they are final: the first delta comes while most of the 4 minutes (8 windows)
    // are still to be decoded; upload, decoding and the first window are a fixed start
    expect(deltas[0].at).toBeLessThan(done.at / 2);
    expect(new Set(deltas.map((d) => Math.round(d.at / 100))).size).toBeGreaterThan(3);
    expect(wordErrorRate(referenceText('hifitts/longform.flac'), done.text!)).toBeLessThan(0.12);
  }, 120_000);

  it('a client that goes away mid-stream stops the work', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ stream: 'true' }, { bytes: readFileSync(audioPath('hifitts/longform.flac')), name: 'l.flac' }), signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('transcript.text.delta');
    controller.abort();
    const batches = async (): Promise<number> => Number(/audiodecode_batch_size_count (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())![1]);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await batches();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await batches()).toBe(after); // no window decoded for the gone client
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { inFlight: number; queuedWindows: number };
    expect(ready).toMatchObject({ inFlight: 0, queuedWindows: 0 });
  }, 60_000);

  it('a stream that fails before any text answers with an ordinary JSON error', async () => {
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ stream: 'true' }, { bytes: new TextEncoder().encode('not audio at all '.repeat(50)), name: 'x.mp3' }) });
    await expectError(res, 415, 'invalid_audio');
  });
});
