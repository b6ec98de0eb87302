// Every path the project reads from outside the repository comes from here.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
  return dir;
}

/** Project root, from src/ under tsx or from dist/ once compiled. */
export const projectRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

/** ../shared beside the project root, or AUDIODECODE_SHARED. */
export function sharedDir(): string {
  return process.env.AUDIODECODE_SHARED ?? resolve(projectRoot, '..', 'shared');
}

/** Model and tool cache, outside git: AUDIODECODE_CACHE or ~/.cache/audiodecode. */
export function cacheDir(): string {
  return process.env.AUDIODECODE_CACHE ?? join(homedir(), '.cache', 'audiodecode');
}
