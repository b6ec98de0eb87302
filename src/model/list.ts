// What models are on this machine: ../shared/models and the cache, with layouts and precisions.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, sharedModelsRoot } from '../env.js';
import { LAYOUTS, onnxFile, PRECISIONS, type Layout, type Precision } from './files.js';

export interface LocalModel {
  name: string;
  dir: string;
  layouts: string[];
  computeTypes: string[];
}

export function listModels(): LocalModel[] {
  const found: LocalModel[] = [];
  const shared = sharedModelsRoot();
  for (const root of [...(shared ? [shared] : []), join(cacheDir(), 'models')]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      if (!existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'onnx'))) continue;
      const has = (layout: Layout, precision: Precision): boolean => existsSync(join(dir, onnxFile(layout, 'encoder', precision))) && existsSync(join(dir, onnxFile(layout, 'decoder', precision)));
      const layouts = LAYOUTS.filter((l) => PRECISIONS.some((p) => has(l, p)));
      const computeTypes = PRECISIONS.filter((p) => LAYOUTS.some((l) => has(l, p)));
      found.push({ name, dir, layouts, computeTypes });
    }
  }
  return found;
}
