import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAnswer } from '../loadtest/runner/processor/answer.js';
import { parseChecks } from '../loadtest/runner/report.js';
import { runScenario } from '../loadtest/runner/run.js';
import { audioPath } from './helpers.js';

// The real Artillery (its CLI, arrival phases, our processor, ensure) against a loopback stand-in
// for the service that answers verbose_json as the function does, with an RTF and a delay the test
// chooses: no model is needed to see the runner pass, fail, and keep its arrival rate.
interface Seen {
  atMs: number;
  pool: string | undefined;
  bytes: number;
}
interface Behaviour {
  rtf: number;
  delayMs: number;
  status?: (pool: string) => number;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function standIn(b: Behaviour): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      const asked = req.headers['x-audiodecode-pool'] as string | undefined;
      seen.push({ atMs: Date.now(), pool: asked, bytes });
      const pool = asked ?? 'gpu';
      setTimeout(() => {
        const status = b.status?.(pool) ?? 200;
        res.writeHead(status, { 'content-type': 'application/json', 'x-audiodecode-pool': pool });
        res.end(JSON.stringify(status === 200 ? { text: 'and so my fellow Americans', duration: 11, rtf: b.rtf } : { error: { message: 'boom', type: 'server_error' } }));
      }, b.delayMs);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}`, seen };
}

const results = () => mkdtempSync(join(tmpdir(), 'loadtest-'));
// smoke's mix (jfk.wav, jfk.mp3, gettysburg.ogg; gpu, cpu alternating), a few seconds of it
const smokeEnv = { DURATION: '4', RTF_MIN_GPU: '3', RTF_MIN_CPU: '3' };

describe('the Artillery runner', () => {
  it('passes a run that meets every threshold, and reports it', async () => {
    const { url, seen } = await standIn({ rtf: 20, delayMs: 50 });
    const dir = results();
    const { summary, exitCode, reportPath } = await runScenario('smoke', { baseUrl: url, env: smokeEnv, resultsDir: dir });
    expect(exitCode).toBe(0);
    expect(summary.passed).toBe(true);
    expect(summary).toMatchObject({ sent: 2, ok: 2, failed: 0, audioSeconds: 22 });
    // the scenario's requests in order: multipart uploads of its files, the pool header alternating
    expect(seen.map((s) => s.pool)).toEqual(['gpu', 'cpu']);
    expect(seen[0].bytes).toBeGreaterThan(statSync(audioPath('jfk.wav')).size);
    expect(seen[1].bytes).toBeGreaterThan(statSync(audioPath('jfk.mp3')).size);
    expect(seen[1].bytes).toBeLessThan(statSync(audioPath('jfk.wav')).size);
    // RTF read from each verbose_json answer (Artillery's sketches are within 1%)
    const server = summary.rtf.find((r) => r.metric === 'rtf_server' && r.pool === 'gpu')!;
    expect(server.median).toBeGreaterThan(19.7);
    expect(server.median).toBeLessThan(20.3);
    expect(summary.checks.map((c) => c.expression)).toEqual([
      '1 - transcriptions.ok / 2 < 0.01',
      'latency_ms.p95 < 30000',
      'rtf_server.gpu.median >= 3',
      'rtf_e2e.gpu.median >= 1.5',
      'rtf_server.cpu.median >= 3',
      'rtf_e2e.cpu.median >= 1.5',
    ]);
    const md = readFileSync(reportPath, 'utf8');
    expect(md).toMatch(/\| 2 \| 2 \| 0 \| 0 \|/);
    expect(md).toContain('Without a good answer: 0.0% of the 2 planned requests.');
    expect(md).toContain('Result: all thresholds passed.');
    expect(readFileSync(join(dir, 'smoke-report.svg'), 'utf8')).toMatch(/^<svg[\s\S]*latency s[\s\S]*RTF/);
  });

  it('fails a run whose server RTF misses the floor', async () => {
    const { url } = await standIn({ rtf: 2, delayMs: 50 });
    const { summary, exitCode, reportPath } = await runScenario('smoke', { baseUrl: url, env: smokeEnv, resultsDir: results() });
    expect(exitCode).not.toBe(0);
    expect(summary.passed).toBe(false);
    expect(summary.checks.filter((c) => !c.ok).map((c) => c.expression)).toEqual(['rtf_server.gpu.median >= 3', 'rtf_server.cpu.median >= 3']);
    expect(readFileSync(reportPath, 'utf8')).toContain('- FAILED: `rtf_server.gpu.median >= 3`');
  });

  it('fails a run with error answers, and counts them', async () => {
    const { url } = await standIn({ rtf: 20, delayMs: 50, status: (pool) => (pool === 'cpu' ? 503 : 200) });
    const { summary, exitCode } = await runScenario('smoke', { baseUrl: url, env: smokeEnv, resultsDir: results() });
    expect(exitCode).not.toBe(0);
    expect(summary).toMatchObject({ sent: 2, ok: 1, failed: 1, passed: false });
    const failed = summary.checks.filter((c) => !c.ok).map((c) => c.expression);
    expect(failed).toContain('1 - transcriptions.ok / 2 < 0.01');
    // no answer from the cpu pool: its floors cannot be met either
    expect(failed).toContain('rtf_server.cpu.median >= 3');
  });

  it('keeps the arrival rate when answers are slow (open model: arrivals do not wait for answers)', async () => {
    // 4 arrivals in 2 s, each answer taking 3 s: a closed loop would send the second after 3 s
    const { url, seen } = await standIn({ rtf: 20, delayMs: 3000 });
    const { summary } = await runScenario('smoke', { baseUrl: url, env: { ...smokeEnv, RATE: '4', DURATION: '2' }, resultsDir: results() });
    expect(summary.sent).toBe(4);
    expect(seen).toHaveLength(4);
    expect(seen[3].atMs - seen[0].atMs).toBeLessThan(2500);
    expect(summary.latencyS.p50).toBeGreaterThanOrEqual(3);
    expect(summary.passed).toBe(true);
  });

  it('fails a run whose arrivals find no free virtual user (overload is not hidden by a VU cap)', async () => {
    const { url, seen } = await standIn({ rtf: 20, delayMs: 3000 });
    const { summary } = await runScenario('smoke', { baseUrl: url, env: { ...smokeEnv, RATE: '4', DURATION: '2', MAX_VUS: '1' }, resultsDir: results() });
    expect(seen).toHaveLength(1);
    expect(summary).toMatchObject({ sent: 1, ok: 1, skipped: 3, failedRate: 0.75, passed: false });
    expect(summary.checks.find((c) => c.expression === '1 - transcriptions.ok / 4 < 0.01')).toMatchObject({ ok: false });
  });

  it('stops on a missing audio file before starting Artillery', async () => {
    await expect(runScenario('large-files', { baseUrl: 'http://127.0.0.1:1', env: { LARGE_FILE: '/nonexistent/long.ogg' }, resultsDir: results() })).rejects.toThrow(/audio missing: \/nonexistent\/long\.ogg/);
  });
});

describe('answers and verdicts', () => {
  it('reads an answer as k6 checks it: status 200, text, the pool header', () => {
    const body = JSON.stringify({ text: 'hi', duration: 11, rtf: 22 });
    const phases = { request: 5, firstByte: 495, download: 0, total: 520 };
    expect(readAnswer(200, { 'x-audiodecode-pool': 'cpu' }, body, phases)).toEqual({ ok: true, pool: 'cpu', status: 200, audioS: 11, rtfServer: 22, rtfE2e: 22, latencyMs: 500 });
    expect(readAnswer(200, {}, body, phases).ok).toBe(false);
    expect(readAnswer(200, { 'x-audiodecode-pool': 'cpu' }, JSON.stringify({ text: '' }), phases).ok).toBe(false);
    expect(readAnswer(200, { 'x-audiodecode-pool': 'cpu' }, '<html>', phases).ok).toBe(false);
    expect(readAnswer(429, { 'x-audiodecode-pool': 'cpu' }, body, phases)).toMatchObject({ ok: false, status: 429, rtfServer: null });
  });

  it("reads ensure's verdicts from Artillery's log", () => {
    const log = 'vusers.failed: 0\nLog file: x.json\n\nChecks:\nfail: rtf_server.cpu.median >= 3\nok: latency_ms.p95 < 30000\nok: a >= 1 (optional)\n';
    expect(parseChecks(log)).toEqual([
      { expression: 'rtf_server.cpu.median >= 3', ok: false },
      { expression: 'latency_ms.p95 < 30000', ok: true },
      { expression: 'a >= 1', ok: true },
    ]);
    expect(parseChecks('no checks here')).toEqual([]);
  });
});
