import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../src/text/wer.js';
import { audioDir, audioPath, referenceText, scratch } from './helpers.js';
import { freePort, startFunction, TEST_MODEL, type RunningServer } from '../tools/local-stack.js';

function form(fields: Record<string, string>, file?: { bytes: Uint8Array; name: string }): FormData {
  const f = new FormData();
  if (file) f.append('file', new Blob([Buffer.from(file.bytes)]), file.name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

const jfkMp3 = (): { bytes: Uint8Array; name: string } => ({ bytes: readFileSync(audioPath('jfk.mp3')), name: 'jfk.mp3' });

async function expectError(res: Response, status: number, code: string): Promise<{ message: string; param: string | null }> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as { error: { message: string; type: string; code: string; param: string | null } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(15);
  expect(body.error.type).toBeTruthy();
  return body.error;
}

describe('transcription function (real server on 127.0.0.1)', () => {
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    dir = scratch();
    server = await startFunction('transcribe', { AUDIODECODE_MAX_AUDIO_SECONDS: '60', AUDIODECODE_MAX_UPLOAD_BYTES: '2000000', AUDIODECODE_POOL: 'cpu', AUDIODECODE_BATCH_SIZE: '4' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('works with the official openai SDK', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.url}/v1` });
    const result = await client.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.mp3')), model: 'whisper-1' });
    expect(wordErrorRate(referenceText('jfk.mp3'), result.text)).toBe(0);
    const verbose = await client.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.wav')), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
    expect(verbose.language).toBe('en');
    expect(verbose.duration).toBeCloseTo(11, 0);
    expect(verbose.segments!.length).toBeGreaterThan(0);
    expect(verbose.segments![verbose.segments!.length - 1].end).toBeLessThanOrEqual(11.01);
    expect((verbose as unknown as { rtf: number }).rtf).toBeGreaterThan(1);
    const words = await client.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.wav')), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] });
    expect(words.words!.map((w) => w.word.trim().replace(/[,.]$/, '')).join(' ')).toBe(words.text.replace(/[,.]/g, '').trim());
    expect(words.words![0].start).toBeLessThan(0.5);
    expect(words.words!.at(-1)!.end).toBeGreaterThan(10);
    expect(words.segments).toBeUndefined(); // only what was asked for, as OpenAI
    const srt = await client.audio.transcriptions.create({ file: createReadStream(audioPath('jfk.wav')), model: 'whisper-1', response_format: 'srt' });
    expect(String(srt)).toMatch(/^1\n00:00:00,000 --> 00:00:0\d,\d{3}\n/);
  });

  it('accepts a raw audio body and says where it ran', async () => {
    const res = await fetch(`${server.url}/v1/audio/transcriptions?response_format=text`, { method: 'POST', body: readFileSync(audioPath('jfk.wav')), headers: { 'Content-Type': 'audio/wav' } });
    expect(res.status).toBe(200);
    expect(wordErrorRate(referenceText('jfk.wav'), await res.text())).toBe(0);
    expect(res.headers.get('x-audiodecode-pool')).toBe('cpu');
    expect(res.headers.get('x-audiodecode-instance')).toBeTruthy();
    expect(Number(res.headers.get('x-audiodecode-rtf'))).toBeGreaterThan(1);
  });

  it('answers health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { status: string }).status).toBe('ready');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/audiodecode_requests_total\{status="200"\} [1-9]/);
    expect(metrics).toMatch(/audiodecode_audio_seconds_total [1-9]/);
    expect(metrics).toContain('audiodecode_rtf_bucket');
    expect(metrics).toContain('audiodecode_batch_size_bucket');
    expect(metrics).toMatch(/audiodecode_model_load_seconds \d/);
    expect(metrics).toContain('audiodecode_queue_depth 0');
  });

  it('400: no file, empty file, unknown response_format, bad language, English-only language', async () => {
    const post = (body: FormData): Promise<Response> => fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body });
    await expectError(await post(form({ model: 'whisper-1' })), 400, 'missing_file');
    await expectError(await post(form({ model: 'whisper-1' }, { bytes: new Uint8Array(0), name: 'a.wav' })), 400, 'empty_file');
    await expectError(await post(form({ response_format: 'docx' }, jfkMp3())), 400, 'invalid_response_format');
    await expectError(await post(form({ language: 'english!' }, jfkMp3())), 400, 'invalid_language');
    await expectError(await post(form({ 'timestamp_granularities[]': 'word' }, jfkMp3())), 400, 'invalid_timestamp_granularities');
    expect((await expectError(await post(form({ language: 'de' }, jfkMp3())), 400, 'invalid_language')).param).toBe('language');
    await expectError(await fetch(`${server.url}/v1/audio/translations`, { method: 'POST', body: form({}, jfkMp3()) }), 400, 'unsupported_task');
  });

  it('415 for non-audio, 422 for a file without an audio stream, 415 for a JSON body', async () => {
    const post = (body: FormData): Promise<Response> => fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body });
    await expectError(await post(form({}, { bytes: new TextEncoder().encode('hello, not audio '.repeat(40)), name: 'a.mp3' })), 415, 'invalid_audio');
    const video = join(dir, 'video-only.mp4');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=black:s=32x32:d=1', '-c:v', 'mpeg4', video]);
    await expectError(await post(form({}, { bytes: readFileSync(video), name: 'v.mp4' })), 422, 'no_audio_stream');
    await expectError(await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: '{"file":1}', headers: { 'Content-Type': 'application/json' } }), 415, 'unsupported_content_type');
  });

  it('413 for audio over the duration limit, naming the limit', async () => {
    const err = await expectError(await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: readFileSync(audioPath('gettysburg.ogg')), name: 'g.ogg' }) }), 413, 'audio_too_long');
    expect(err.message).toContain('60 s');
  });

  it('413 for an oversized chunked upload, cut off at the limit', async () => {
    const big = new Uint8Array(3_000_000);
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 65536) controller.enqueue(big.subarray(i, i + 65536));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body, headers: { 'Content-Type': 'audio/wav' }, duplex: 'half' } as RequestInit);
    const err = await expectError(res, 413, 'file_too_large');
    expect(err.message).toContain('2000000 bytes');
  });

  it('413 for an oversized upload, answered before the body is sent', async () => {
    // announce 1 GB and send none of it: the answer can only come from the headers
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write('POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: 1000000000\r\n\r\n');
      });
      let data = '';
      socket.on('data', (d) => {
        data += d;
        if (data.includes('}}')) {
          socket.destroy();
          resolve(data);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer, got: ${data}`)), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1.1 413/);
    expect(answer).toContain('"code":"file_too_large"');
    expect(answer).toContain('2000000 bytes');
  });

  it('answers 404 in the error shape for an unknown route', async () => {
    await expectError(await fetch(`${server.url}/v1/nope`), 404, 'not_found');
  });

  it('50 concurrent requests from 5 clients: every one answered with its own words, none lost', async () => {
    const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; text: string }[];
    const clips = manifest.slice(0, 50);
    const transcribe = async (i: number): Promise<string> => {
      const bytes = readFileSync(join(audioDir, 'hifitts', clips[i].audio));
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({ model: 'whisper-1' }, { bytes, name: 'c.flac' }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { text: string }).text;
    };
    // each clip sent alone first: the reference every concurrent answer is held to, computed on
    // this CPU (int8 kernels round differently on Xeon and EPYC, so a fixed transcript would not do)
    const alone: string[] = [];
    for (let i = 0; i < clips.length; i++) alone.push(await transcribe(i));
    const answers = new Map<number, string>();
    const worker = async (client: number): Promise<void> => {
      for (let i = client; i < clips.length; i += 5) {
        const text = await transcribe(i);
        expect(answers.has(i)).toBe(false);
        answers.set(i, text);
      }
    };
    await Promise.all([0, 1, 2, 3, 4].map(worker));
    expect(answers.size).toBe(50);
    const wers = clips.map((c, i) => wordErrorRate(c.text, answers.get(i)!));
    expect(wers.reduce((a, b) => a + b, 0) / wers.length).toBeLessThan(0.15);
    // no answer went to the wrong request, and none depends on what else shared its batch: each is
    // exactly the answer its clip got alone
    clips.forEach((c, i) => expect(answers.get(i), c.audio).toBe(alone[i]));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const batches = /audiodecode_batch_size_count (\d+)/.exec(metrics)!;
    const windows = /audiodecode_batch_size_sum (\d+)/.exec(metrics)!;
    expect(Number(windows[1])).toBeGreaterThan(Number(batches[1])); // requests that arrived together shared batches
  }, 180_000);
});

describe('transcription function under pressure', () => {
  it('429 with Retry-After at once when the queue is full; a disconnected client frees its slot', async () => {
    const server = await startFunction('transcribe', { AUDIODECODE_MAX_QUEUE: '1' });
    try {
      const long = new AbortController();
      const first = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: readFileSync(audioPath('gettysburg.ogg')), name: 'g.ogg' }), signal: long.signal }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const second = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, jfkMp3()) });
      expect(Date.now() - started).toBeLessThan(1000);
      await expectError(second, 429, 'queue_full');
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
      long.abort();
      await first;
      await new Promise((r) => setTimeout(r, 300));
      const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { inFlight: number; queuedWindows: number };
      expect(ready.inFlight).toBe(0);
      const third = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, jfkMp3()) });
      expect(third.status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('504 when a request runs past its timeout', async () => {
    const server = await startFunction('transcribe', { AUDIODECODE_REQUEST_TIMEOUT_S: '1' });
    try {
      const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: readFileSync(audioPath('gettysburg.ogg')), name: 'g.ogg' }) });
      const err = await expectError(res, 504, 'timeout');
      expect(err.message).toContain('1 s');
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('answers /healthz, /readyz and /metrics at once while batches of windows are being encoded', async () => {
    // batch 8 and four long requests at once: encoder runs of 8 windows, a second or more each at
    // tiny.en on 2 cores; with the model on the main thread a probe waited for the run to end
    const server = await startFunction('transcribe', { AUDIODECODE_BATCH_SIZE: '8' });
    try {
      const gettysburg = readFileSync(audioPath('gettysburg.ogg'));
      const requests = Array.from({ length: 4 }, () => fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: gettysburg, name: 'g.ogg' }) }));
      let settled = false;
      const all = Promise.all(requests).finally(() => (settled = true));
      const latencies: number[] = [];
      const batches: number[] = [];
      await new Promise((r) => setTimeout(r, 1000)); // past the decode, into the model
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        for (let i = 0; i < 10 && !settled; i++) {
          const started = performance.now();
          const res = await fetch(`${server.url}${path}`);
          const body = await res.text();
          latencies.push(performance.now() - started);
          expect(res.status).toBe(200);
          if (path === '/metrics') batches.push(Number(/^audiodecode_batch_size_count (\d+)/m.exec(body)?.[1] ?? 0));
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(settled).toBe(false); // every probe above was answered while the model computed
      expect(Math.max(...latencies)).toBeLessThan(300);
      for (const res of await all) {
        expect(res.status).toBe(200);
        expect(wordErrorRate(referenceText('gettysburg.ogg'), ((await res.json()) as { text: string }).text)).toBeLessThan(0.3);
      }
      expect(batches.at(-1)).toBeGreaterThan(0); // the engine's batches reach the metrics from its thread
    } finally {
      await server.stop();
    }
  }, 180_000);

  it('SIGTERM: not ready, new work refused, in-flight work finished, exit 0', async () => {
    const server = await startFunction('transcribe', { AUDIODECODE_DRAIN_GRACE_S: '60' });
    const inFlight = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: readFileSync(audioPath('gettysburg.ogg')), name: 'g.ogg' }) });
    await new Promise((r) => setTimeout(r, 500));
    server.proc.kill('SIGTERM');
    // the model computes on its own thread, so the signal is handled at once, well inside the
    // in-flight request (gettysburg, seconds)
    await expect.poll(() => fetch(`${server.url}/readyz`).then((r) => r.status), { timeout: 1000, interval: 50 }).toBe(503);
    await expectError(await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, jfkMp3()) }), 503, 'draining');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(wordErrorRate(referenceText('gettysburg.ogg'), ((await res.json()) as { text: string }).text)).toBeLessThan(0.3);
    expect(await server.stop()).toBe(0);
  }, 120_000);

  it('SIGTERM past the drain grace: the request still computing gets a 503 engine_failed to retry elsewhere, and the process exits 0', async () => {
    const server = await startFunction('transcribe', { AUDIODECODE_DRAIN_GRACE_S: '1' });
    const inFlight = fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form({}, { bytes: readFileSync(audioPath('gettysburg.ogg')), name: 'g.ogg' }) });
    await new Promise((r) => setTimeout(r, 500));
    server.proc.kill('SIGTERM');
    // gettysburg takes seconds; the grace ends first: the engine's thread stops between two runs and
    // the request is answered, not cut (its connection reset by an exit with the thread mid-run)
    await expectError(await inFlight, 503, 'engine_failed');
    expect(await server.stop()).toBe(0);
    expect(server.logs()).not.toContain('terminate called');
  }, 120_000);
});

describe('the functions-framework contract', () => {
  it('npx functions-framework --target=transcribe serves the same function (the framework reads the body)', async () => {
    const port = await freePort();
    // the package's CLI (what npx runs), beside its main module
    const main = join(dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')), 'main.js');
    const ff = spawn(process.execPath, ['--import', 'tsx', main, '--target=transcribe', '--source=functions/transcribe/index.ts', `--port=${port}`], {
      env: { ...process.env, AUDIODECODE_MODEL: TEST_MODEL, AUDIODECODE_DEVICE: 'cpu' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await expect.poll(() => fetch(`${url}/readyz`).then((r) => r.status, () => 0), { timeout: 60_000, interval: 250 }).toBe(200);
      const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form({ model: 'whisper-1' }, jfkMp3()) });
      expect(res.status).toBe(200);
      expect(wordErrorRate(referenceText('jfk.mp3'), ((await res.json()) as { text: string }).text)).toBe(0);
      await expectError(await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } }), 415, 'unsupported_content_type');
    } finally {
      ff.kill('SIGKILL');
    }
  }, 90_000);
});
