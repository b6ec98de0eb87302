// API keys: `Authorization: Bearer KEY`, as the openai SDKs send their apiKey. Keys come from
// AUDIODECODE_API_KEYS (comma-separated) or AUDIODECODE_API_KEYS_FILE (one per line: a mounted
// Secret). Only their SHA-256 digests are kept, and every presented key is compared with every
// digest in constant time, so neither timing nor a heap dump gives a key away.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: string[]) {
    if (keys.length === 0) throw new Error('no API keys given');
    this.digests = keys.map(digest);
  }

  /** The keys the environment configures; null when none are (the API is open). */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): ApiKeys | null {
    const file = env.AUDIODECODE_API_KEYS_FILE;
    const listed = env.AUDIODECODE_API_KEYS;
    if (!file && !listed) return null;
    const fromFile = file ? readFileSync(file, 'utf8').split('\n') : [];
    const keys = [...fromFile, ...(listed ?? '').split(',')].map((k) => k.trim()).filter((k) => k && !k.startsWith('#'));
    if (keys.length === 0) throw new Error(`${file ? `AUDIODECODE_API_KEYS_FILE=${file}` : 'AUDIODECODE_API_KEYS'} holds no key`);
    return new ApiKeys(keys);
  }

  /** True when `authorization` is `Bearer KEY` with KEY one of the keys. */
  allows(authorization: string | undefined): boolean {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return false;
    const presented = digest(match[1]);
    let found = false;
    for (const d of this.digests) found = timingSafeEqual(d, presented) || found; // no early exit
    return found;
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
