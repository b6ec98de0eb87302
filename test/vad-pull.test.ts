// `models pull-vad` against a loopback server standing in for PyPI's file host: a wheel holding
// the real Silero v6 model (from the fixture's cache) is unpacked and checked by digest, a wrong
// wheel or a missing member is refused, and a model already in place is not fetched again.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullVadModel, resolveVadModel, VAD_FILE, VAD_SHA256, VAD_WHEEL } from '../src/model/vad-file.js';
import { scratch, zipOf } from './helpers.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const wheel = (member: string, bytes: Buffer): Buffer => zipOf({ 'faster_whisper/__init__.py': Buffer.from(''), [member]: bytes });

describe('models pull-vad (loopback stand-in for files.pythonhosted.org)', () => {
  const model = readFileSync(resolveVadModel());
  const files: Record<string, Buffer> = {
    '/good.whl': wheel(VAD_WHEEL.member, model),
    '/other-model.whl': wheel(VAD_WHEEL.member, Buffer.concat([model, Buffer.from('x')])),
    '/no-member.whl': wheel('faster_whisper/assets/elsewhere.onnx', model),
  };
  const requests: string[] = [];
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url!);
      const body = files[req.url!];
      if (!body) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it('a mirror\'s repacked wheel is taken on the model\'s own digest', async () => {
    const dest = join(scratch(), VAD_FILE);
    expect(await pullVadModel({ url: `${base}/good.whl`, dest })).toBe(dest);
    expect(sha256(readFileSync(dest))).toBe(VAD_SHA256);
  });

  it('unpacks the pinned model from the wheel, then keeps it without fetching again', async () => {
    expect(sha256(model)).toBe(VAD_SHA256);
    const dest = join(scratch(), 'vad', VAD_FILE);
    const path = await pullVadModel({ url: `${base}/good.whl`, wheelSha256: sha256(files['/good.whl']), dest });
    expect(path).toBe(dest);
    expect(sha256(readFileSync(dest))).toBe(VAD_SHA256);
    const before = requests.length;
    await pullVadModel({ url: `${base}/good.whl`, wheelSha256: sha256(files['/good.whl']), dest });
    expect(requests.length).toBe(before);
  });

  it('refuses a wheel whose digest is not the pinned one, a wheel with another model, and one without it', async () => {
    const dest = join(scratch(), VAD_FILE);
    await expect(pullVadModel({ url: `${base}/good.whl`, wheelSha256: VAD_WHEEL.sha256, dest })).rejects.toMatchObject({ code: 'model_checksum_mismatch', message: expect.stringContaining(VAD_WHEEL.sha256) });
    await expect(pullVadModel({ url: `${base}/other-model.whl`, dest })).rejects.toMatchObject({ code: 'model_checksum_mismatch', message: expect.stringContaining('not the pinned Silero v6 model') });
    await expect(pullVadModel({ url: `${base}/other-model.whl`, wheelSha256: sha256(files['/other-model.whl']), dest })).rejects.toMatchObject({ code: 'model_checksum_mismatch' });
    await expect(pullVadModel({ url: `${base}/no-member.whl`, wheelSha256: sha256(files['/no-member.whl']), dest })).rejects.toMatchObject({ code: 'model_checksum_mismatch' });
    await expect(pullVadModel({ url: `${base}/missing.whl`, dest })).rejects.toMatchObject({ code: 'model_not_found', message: expect.stringContaining('404') });
    expect(existsSync(dest)).toBe(false);
  });
});
