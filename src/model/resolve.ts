// A model is a directory path, or a name looked up in ../shared/models, then the cache.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, sharedDir } from '../env.js';
import { AudioDecodeError } from '../errors.js';

export const DEFAULT_MODEL = 'tiny.en';

export function modelSearchPath(name: string): string[] {
  return [join(sharedDir(), 'models', name), join(cacheDir(), 'models', name)];
}

export function resolveModelDir(model: string = DEFAULT_MODEL): string {
  if (existsSync(model) && statSync(model).isDirectory()) return model;
  const found = modelSearchPath(model).find((dir) => existsSync(join(dir, 'config.json')));
  if (found) return found;
  throw new AudioDecodeError(
    'model_not_found',
    `model '${model}' not found in ${modelSearchPath(model).join(' or ')}: build the test fixture with 'npm run models:fixture', or pull one with 'audiodecode models pull ${model}'`,
  );
}
