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

/**
 * True when running from a checkout of the project (its tools are there), not from an installed
 * package: only a checkout has a ../shared beside it and an `npm run models:fixture`.
 */
export const inCheckout = existsSync(join(projectRoot, 'tools', 'build-fixture.sh'));

/** The shared test data: AUDIODECODE_SHARED, or ../shared beside the project root (tests, benches, load tests). */
export function sharedDir(): string {
  return process.env.AUDIODECODE_SHARED ?? resolve(projectRoot, '..', 'shared');
}

/** Where the engine looks for shared models: AUDIODECODE_SHARED, or a checkout's ../shared; none for an installed package. */
export function sharedModelsRoot(): string | undefined {
  return process.env.AUDIODECODE_SHARED || inCheckout ? join(sharedDir(), 'models') : undefined;
}

/** Model and tool cache, outside git: AUDIODECODE_CACHE or ~/.cache/audiodecode. */
export function cacheDir(): string {
  return process.env.AUDIODECODE_CACHE ?? join(homedir(), '.cache', 'audiodecode');
}
