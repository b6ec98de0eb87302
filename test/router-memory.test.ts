// The router holds each upload in memory (to resend it on failover): under a burst of big uploads
// its memory stays within AUDIODECODE_MAX_BUFFERED_BYTES (the chart derives it from the memory
// limit), what does not fit is refused with 503 + Retry-After before it is read, and a client that
// retries is answered. Before the bound, 24 uploads of 19.7 MB took a router to 1.17 GB RSS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunction, type RunningServer } from '../tools/local-stack.js';
import { scratch } from './helpers.js';

const BUDGET = 64 << 20;
const UPLOADS = 24;

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`))!;
  return Number(line.split(/\s+/)[1]);
}

describe('router memory under a burst of 19.7 MB uploads (real router and instance on 127.0.0.1)', () => {
  let instance: RunningServer;
  let router: RunningServer;
  let audio: Buffer;
  beforeAll(async () => {
    // 615 s of 16 kHz 16-bit WAV: 19.7 MB, over the instance's 30 s limit, so each upload crosses
    // the router whole and the instance answers 413 from the header's duration, without decoding
    const file = join(scratch(), 'big.wav');
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000', '-t', '615', '-ac', '1', '-c:a', 'pcm_s16le', file]);
    audio = readFileSync(file);
    instance = await startFunction('transcribe', { AUDIODECODE_MAX_AUDIO_SECONDS: '30' });
    router = await startFunction('router', { ROUTER_CPU_ENDPOINTS: instance.url, AUDIODECODE_MAX_BUFFERED_BYTES: String(BUDGET) });
  }, 120_000);
  afterAll(async () => {
    await router?.stop();
    await instance?.stop();
  });

  it('stays within its buffered-bytes bound, refuses the rest with 503 + Retry-After, and answers each retry', async () => {
    expect(audio.length).toBeGreaterThan(19_600_000);
    const pid = router.proc.pid!;
    const before = rssKb(pid, 'VmRSS');
    const post = (): Promise<Response> => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(audio)], { type: 'audio/wav' }), 'big.wav');
      form.append('model', 'whisper-1');
      return fetch(`${router.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    };
    const answers = await Promise.all(Array.from({ length: UPLOADS }, async () => {
      const res = await post();
      const body = (await res.json()) as { error: { code: string } };
      return { status: res.status, code: body.error.code, retryAfter: res.headers.get('retry-after') };
    }));
    const grownMb = (rssKb(pid, 'VmHWM') - before) / 1024;
    const forwarded = answers.filter((a) => a.status === 413);
    const refused = answers.filter((a) => a.status === 503);
    console.log(`router burst: ${UPLOADS} uploads, ${forwarded.length} forwarded, ${refused.length} refused (503), peak RSS +${grownMb.toFixed(0)} MB`);
    expect(forwarded.length + refused.length).toBe(UPLOADS);
    expect(new Set(forwarded.map((a) => a.code))).toEqual(new Set(['audio_too_long']));
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r).toEqual({ status: 503, code: 'server_busy', retryAfter: '1' });
    // at most 3 bodies (64 MiB) held at once, plus the refused bodies read and dropped until the
    // garbage collector frees them (a slack of about 128 MB that does not grow with the uploads);
    // unbounded, this burst grew the router by 1325 MB
    expect(grownMb, `router peak RSS grew ${grownMb.toFixed(0)} MB`).toBeLessThan((4 * BUDGET) / 2 ** 20);
    const metrics = await (await fetch(`${router.url}/metrics`)).text();
    expect(metrics).toMatch(/^audiodecode_router_buffered_bytes 0$/m);
    // nothing is lost: a client that retries the refused ones is answered
    for (let i = 0; i < refused.length; i++) {
      const res = await post();
      expect(res.status).toBe(413);
      await res.body?.cancel();
    }
  }, 180_000);
});
