// Model pull: onnx-community Whisper models from the Hugging Face Hub (or HF_ENDPOINT) into the
// cache, resuming partial files and verifying every file's checksum. Written on fetch because the
// whole protocol is two GETs (the repository tree, then each file with a Range), which a hub
// client library would only wrap.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { cacheDir } from '../env.js';
import { AudioDecodeError } from '../errors.js';
import { CONFIG_FILES, onnxFile, type Precision } from './files.js';

/** Names users type, and the onnx-community repositories that hold them. */
export const KNOWN_MODELS: Record<string, string> = Object.fromEntries(
  ['tiny', 'tiny.en', 'base', 'base.en', 'small', 'small.en', 'medium', 'medium.en', 'large-v3', 'large-v3-turbo'].map((n) => [n, `onnx-community/whisper-${n}`]),
);


interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

export interface PullOptions {
  computeTypes?: Precision[];
  endpoint?: string;
  dest?: string;
  retries?: number;
  onProgress?: (file: string, done: number, total: number) => void;
  fetch?: typeof fetch;
  /** A hub token; default HF_TOKEN. */
  token?: string;
}

export interface PullResult {
  dir: string;
  files: { path: string; bytes: number; resumedFrom: number }[];
}

/** HF_TOKEN (or options.token) as a bearer token: private mirrors and gated repositories ask for one. */
function authorization(options: PullOptions): Record<string, string> {
  const token = options.token ?? process.env.HF_TOKEN;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function endpoint(options: PullOptions): string {
  return (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, '');
}

/** The files of one model: configs, tokenizer, and encoder + merged decoder (+ external data) per precision. */
export function selectFiles(tree: TreeEntry[], computeTypes: Precision[]): TreeEntry[] {
  const wanted = new Set(CONFIG_FILES);
  for (const t of computeTypes) for (const part of ['encoder', 'decoder'] as const) wanted.add(onnxFile('community', part, t));
  return tree.filter((e) => e.type === 'file' && (wanted.has(e.path) || wanted.has(e.path.replace(/_data(_\d+)?$/, ''))));
}

/** What a file must hash to: the LFS sha256, else git's blob sha1 of the content. */
function expectedDigest(entry: TreeEntry): { algorithm: 'sha256' | 'sha1'; hex: string; gitBlob: boolean } {
  return entry.lfs ? { algorithm: 'sha256', hex: entry.lfs.oid, gitBlob: false } : { algorithm: 'sha1', hex: entry.oid, gitBlob: true };
}

async function digestOf(path: string, entry: TreeEntry): Promise<string> {
  const want = expectedDigest(entry);
  const hash = createHash(want.algorithm);
  if (want.gitBlob) hash.update(`blob ${statSync(path).size}\0`);
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function download(url: string, target: string, entry: TreeEntry, options: PullOptions): Promise<number> {
  const part = `${target}.part`;
  const size = entry.lfs?.size ?? entry.size;
  const doFetch = options.fetch ?? fetch;
  const resumedFrom = existsSync(part) ? statSync(part).size : 0;
  for (let attempt = 0; ; attempt++) {
    const have = existsSync(part) ? statSync(part).size : 0;
    try {
      if (have < size) {
        const res = await doFetch(url, { headers: { ...authorization(options), ...(have > 0 ? { Range: `bytes=${have}-` } : {}) }, redirect: 'follow' });
        if (res.status === 416) rmSync(part, { force: true });
        else if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} for ${url}`);
        else {
          const append = res.status === 206 && have > 0;
          let done = append ? have : 0;
          const counted = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream).on('data', (chunk: Buffer) => {
            done += chunk.length;
            options.onProgress?.(entry.path, done, size);
          });
          await pipeline(counted, createWriteStream(part, { flags: append ? 'a' : 'w' }));
        }
      }
      const got = existsSync(part) ? statSync(part).size : 0;
      if (got < size) throw new Error(`connection closed at ${got} of ${size} bytes`);
      const digest = await digestOf(part, entry);
      if (digest !== expectedDigest(entry).hex) {
        rmSync(part, { force: true });
        throw new AudioDecodeError('model_checksum_mismatch', `${entry.path}: checksum mismatch (got ${digest}, expected ${expectedDigest(entry).hex}); the partial file was removed, pull again`, 'model');
      }
      renameSync(part, target);
      return resumedFrom;
    } catch (err) {
      if (err instanceof AudioDecodeError || attempt >= (options.retries ?? 5)) throw err;
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
    }
  }
}

/** Download a model by name (or by repository id) into the cache, where `model: NAME` finds it. */
export async function pullModel(name: string, options: PullOptions = {}): Promise<PullResult> {
  const repo = KNOWN_MODELS[name] ?? (name.includes('/') ? name : undefined);
  if (!repo) throw new AudioDecodeError('model_not_found', `unknown model '${name}': one of ${Object.keys(KNOWN_MODELS).join(', ')}, or a Hugging Face repository id`, 'model');
  const dest = options.dest ?? join(cacheDir(), 'models', name.replace(/^.*\//, ''));
  const base = endpoint(options);
  const doFetch = options.fetch ?? fetch;
  const treeRes = await doFetch(`${base}/api/models/${repo}/tree/main?recursive=true`, { headers: authorization(options) });
  if (!treeRes.ok) throw new AudioDecodeError('model_not_found', `${repo}: the hub answered HTTP ${treeRes.status} for the file list`, 'model');
  const files = selectFiles((await treeRes.json()) as TreeEntry[], options.computeTypes ?? ['int8']);
  const missing = CONFIG_FILES.filter((f) => !files.some((e) => e.path === f));
  if (missing.length > 0 || !files.some((e) => e.path.startsWith('onnx/'))) {
    throw new AudioDecodeError('model_not_found', `${repo} lacks ${missing.length ? missing.join(', ') : `ONNX files for ${(options.computeTypes ?? ['int8']).join(', ')}`}`, 'model');
  }
  const result: PullResult = { dir: dest, files: [] };
  for (const entry of files) {
    const target = join(dest, entry.path);
    mkdirSync(dirname(target), { recursive: true });
    if (existsSync(target) && (await digestOf(target, entry)) === expectedDigest(entry).hex) {
      result.files.push({ path: entry.path, bytes: statSync(target).size, resumedFrom: statSync(target).size });
      continue;
    }
    const resumedFrom = await download(`${base}/${repo}/resolve/main/${entry.path}`, target, entry, options);
    result.files.push({ path: entry.path, bytes: statSync(target).size, resumedFrom });
  }
  return result;
}
