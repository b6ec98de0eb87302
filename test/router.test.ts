import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordErrorRate } from '../src/text/wer.js';
import { audioDir, audioPath, referenceText } from './helpers.js';
import { startFunction, type RunningServer } from '../tools/local-stack.js';

// Two "gpu" instances and one "cpu" instance, all on this CPU, told apart only by AUDIODECODE_POOL:
// the GPU pool here is a stand-in named as such; the routing, failover and breaker code are real.
const manifest = JSON.parse(readFileSync(join(audioDir, 'hifitts', 'manifest.json'), 'utf8')) as { audio: string; text: string }[];
const clip = (i: number): { bytes: Buffer; text: string } => ({ bytes: readFileSync(join(audioDir, 'hifitts', manifest[i % manifest.length].audio)), text: manifest[i % manifest.length].text });

async function post(url: string, bytes: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), 'clip.flac');
  form.append('model', 'whisper-1');
  return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form, headers });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

const instanceEnv = { AUDIODECODE_THREADS: '1', AUDIODECODE_BATCH_SIZE: '4' };

describe('router over GPU and CPU pools (real processes on 127.0.0.1)', () => {
  let gpu1: RunningServer;
  let gpu2: RunningServer;
  let cpu: RunningServer;
  let router: RunningServer;
  let routerEnv: Record<string, string>;

  beforeAll(async () => {
    [gpu1, gpu2, cpu] = await Promise.all([
      startFunction('transcribe', { ...instanceEnv, AUDIODECODE_POOL: 'gpu', AUDIODECODE_INSTANCE: 'gpu-1' }),
      startFunction('transcribe', { ...instanceEnv, AUDIODECODE_POOL: 'gpu', AUDIODECODE_INSTANCE: 'gpu-2' }),
      startFunction('transcribe', { ...instanceEnv, AUDIODECODE_POOL: 'cpu', AUDIODECODE_INSTANCE: 'cpu-1' }),
    ]);
    routerEnv = {
      ROUTER_GPU_ENDPOINTS: `${gpu1.url},${gpu2.url}`,
      ROUTER_CPU_ENDPOINTS: cpu.url,
      ROUTER_BREAKER_FAILURES: '2',
      ROUTER_BREAKER_COOLDOWN_S: '2',
    };
    router = await startFunction('router', routerEnv);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([router, gpu1, gpu2, cpu].filter(Boolean).map((s) => s.stop()));
  });

  it('sends work to the GPU pool first and says where it ran', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await post(router.url, clip(i).bytes);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-audiodecode-pool')).toBe('gpu');
      expect(['gpu-1', 'gpu-2']).toContain(res.headers.get('x-audiodecode-instance'));
      expect(wordErrorRate(clip(i).text, ((await res.json()) as { text: string }).text)).toBeLessThan(0.5);
    }
  });

  it('honours a client that asks for a pool, and rejects an unknown one', async () => {
    const res = await post(router.url, clip(3).bytes, { 'X-AudioDecode-Pool': 'cpu' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-audiodecode-pool')).toBe('cpu');
    expect(res.headers.get('x-audiodecode-instance')).toBe('cpu-1');
    const bad = await post(router.url, clip(3).bytes, { 'X-AudioDecode-Pool': 'tpu' });
    expect(bad.status).toBe(400);
  });

  it('works with the official openai SDK exactly as against one instance', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${router.url}/v1` });
    const { data, response } = await client.audio.transcriptions.create({ file: new File([new Uint8Array(readFileSync(audioPath('jfk.mp3')))], 'jfk.mp3'), model: 'whisper-1' }).withResponse();
    expect(wordErrorRate(referenceText('jfk.mp3'), data.text)).toBe(0);
    expect(response.headers.get('x-audiodecode-pool')).toBe('gpu');
  });

  it('spills to the CPU pool when the GPU pool is busy', async () => {
    const spilling = await startFunction('router', { ...routerEnv, ROUTER_GPU_BUSY_IN_FLIGHT: '1' });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(spilling.url, clip(10 + i).bytes)));
      const pools = answers.map((r) => r.headers.get('x-audiodecode-pool'));
      expect(answers.every((r) => r.status === 200)).toBe(true);
      expect(pools).toContain('gpu');
      expect(pools).toContain('cpu');
    } finally {
      await spilling.stop();
    }
  }, 120_000);

  it('loses no request when a GPU instance is killed mid-load, then sends everything to CPU, then recovers', async () => {
    const total = 24;
    // each clip sent alone first, to the CPU instance: what every answer under load must equal (int8 rows do
    // not depend on their batch, and the instances run the same model on the same CPU)
    const alone: string[] = [];
    for (let i = 0; i < total; i++) alone.push(((await (await post(cpu.url, clip(20 + i).bytes)).json()) as { text: string }).text);
    const retriesBefore = await metric(router.url, 'audiodecode_router_retries_total');
    const answers = new Map<number, { status: number; pool: string | null; text?: string }>();
    let next = 0;
    const client = async (): Promise<void> => {
      for (let i = next++; i < total; i = next++) {
        const res = await post(router.url, clip(20 + i).bytes);
        expect(answers.has(i)).toBe(false); // never answered twice
        answers.set(i, { status: res.status, pool: res.headers.get('x-audiodecode-pool'), text: res.status === 200 ? ((await res.json()) as { text: string }).text : await res.text() });
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));
    await expect.poll(() => answers.size, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(3); // mid-load: some answered, most not
    gpu1.proc.kill('SIGKILL');
    await load;
    const retried = (await metric(router.url, 'audiodecode_router_retries_total')) - retriesBefore;
    const ok = [...answers.values()].filter((a) => a.status === 200).length;
    process.stdout.write(`router kill test: sent ${total}, answered ${answers.size}, ok ${ok}, retried ${retried}, failed ${answers.size - ok}\n`);
    expect(answers.size).toBe(total);
    expect(ok).toBe(total);
    for (const [i, a] of answers) expect(a.text, `clip ${20 + i}`).toBe(alone[i]); // each answer is its own request's, whole

    // all GPU instances down: everything goes to CPU, and the router stays ready
    gpu2.proc.kill('SIGKILL');
    for (let i = 0; i < 3; i++) {
      const res = await post(router.url, clip(50 + i).bytes);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-audiodecode-pool')).toBe('cpu');
    }
    expect((await fetch(`${router.url}/readyz`)).status).toBe(200);
    expect(await metric(router.url, 'audiodecode_router_breaker_state')).toBeGreaterThan(0);

    // recovery: a GPU instance comes back on its address; after the breaker's cooldown traffic returns
    gpu2 = await startFunction('transcribe', { ...instanceEnv, AUDIODECODE_POOL: 'gpu', AUDIODECODE_INSTANCE: 'gpu-2b', PORT: String(gpu2.port) });
    // every request is answered while the breaker cools down (by the CPU pool), and once it lets a trial through, by gpu-2b
    const answered: (string | null)[] = [];
    await expect
      .poll(
        async () => {
          const res = await post(router.url, clip(60 + (answered.length % 3)).bytes);
          expect(res.status).toBe(200);
          answered.push(res.headers.get('x-audiodecode-instance'));
          return answered.at(-1);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe('gpu-2b');
  }, 240_000);
});

describe('router with API keys and streamed answers (real processes on 127.0.0.1)', () => {
  let pool: RunningServer;
  let router: RunningServer;
  beforeAll(async () => {
    pool = await startFunction('transcribe', { ...instanceEnv, AUDIODECODE_POOL: 'cpu', AUDIODECODE_API_KEYS: 'sk-pool-only' });
    router = await startFunction('router', { ROUTER_CPU_ENDPOINTS: pool.url, AUDIODECODE_API_KEYS: 'sk-client', ROUTER_UPSTREAM_API_KEY: 'sk-pool-only' });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([router, pool].filter(Boolean).map((s) => s.stop()));
  });

  it("checks the client's key itself and sends its own to the pool", async () => {
    const none = await post(router.url, clip(1).bytes);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    const ok = await post(router.url, clip(1).bytes, { Authorization: 'Bearer sk-client' });
    expect(ok.status).toBe(200);
    expect(wordErrorRate(clip(1).text, ((await ok.json()) as { text: string }).text)).toBeLessThan(0.5);
    // the client's key is not the pool's: it is not forwarded, and the pool would refuse it
    expect((await post(pool.url, clip(1).bytes, { Authorization: 'Bearer sk-client' })).status).toBe(401);
    expect(router.logs()).not.toContain('sk-pool-only');
    expect(router.logs()).not.toContain('sk-client');
  });

  it('passes a stream through as it comes (openai SDK, stream=true)', async () => {
    const client = new OpenAI({ apiKey: 'sk-client', baseURL: `${router.url}/v1` });
    const stream = await client.audio.transcriptions.create({ file: new File([new Uint8Array(readFileSync(audioPath('gettysburg.ogg')))], 'g.ogg'), model: 'whisper-1', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const event of stream as AsyncIterable<{ type: string; text?: string }>) {
      types.push(event.type);
      if (event.type === 'transcript.text.done') text = event.text!;
    }
    expect(types.filter((t) => t === 'transcript.text.delta').length).toBeGreaterThan(4);
    expect(types.at(-1)).toBe('transcript.text.done');
    expect(wordErrorRate(referenceText('gettysburg.ogg'), text)).toBeLessThan(0.25);
  }, 120_000);
});
