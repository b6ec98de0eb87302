// A model is a directory path, or a name looked up in ../shared/models, then the cache.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, inCheckout, sharedModelsRoot } from '../env.js';
import { AudioDecodeError } from '../errors.js';

/**
 * The model used when none is named: the CLI, the library, the function, the chart and the images
 * (the chart's and images' copies are checked against this one in npm test). Whisper base,
 * multilingual: the model the product's guide is written around. tiny.en stays the tests' fast model.
 */
export const DEFAULT_MODEL = 'base';

/** Where a model name is looked for: the shared data (a checkout's ../shared, or AUDIODECODE_SHARED), then the cache. */
export function modelSearchPath(name: string): string[] {
  const shared = sharedModelsRoot();
  return [...(shared ? [join(shared, name)] : []), join(cacheDir(), 'models', name)];
}

export function resolveModelDir(model: string = DEFAULT_MODEL): string {
  if (existsSync(model) && statSync(model).isDirectory()) return model;
  const found = modelSearchPath(model).find((dir) => existsSync(join(dir, 'config.json')));
  if (found) return found;
  const fixes = [`pull it with 'npx audiodecode models pull ${model}'`, 'pass a model directory', ...(inCheckout ? ["build base and tiny.en with 'npm run models:fixture'"] : [])];
  throw new AudioDecodeError(
    'model_not_found',
    `model '${model}' not found in ${modelSearchPath(model).join(' or ')}: ${fixes.join(', or ')}`,
    'model',
  );
}
