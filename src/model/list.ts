// What models are on this machine: ../shared/models and the cache, with layouts and precisions.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, sharedDir } from '../env.js';

export interface LocalModel {
  name: string;
  dir: string;
  layouts: string[];
  computeTypes: string[];
}

export function listModels(): LocalModel[] {
  const found: LocalModel[] = [];
  for (const root of [join(sharedDir(), 'models'), join(cacheDir(), 'models')]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      if (!existsSync(join(dir, 'config.json')) || !existsSync(join(dir, 'onnx'))) continue;
      const files = new Set(readdirSync(join(dir, 'onnx')));
      const layouts = [
        files.has('whisper_encoder.onnx') || files.has('whisper_encoder_quantized.onnx') || files.has('whisper_encoder_fp16.onnx') ? 'native' : '',
        [...files].some((f) => f.startsWith('decoder_model_merged')) ? 'community' : '',
      ].filter(Boolean);
      const computeTypes = (
        [
          ['float32', ''],
          ['float16', '_fp16'],
          ['int8', '_quantized'],
        ] as const
      )
        .filter(([, s]) => files.has(`whisper_decoder${s}.onnx`) || files.has(`decoder_model_merged${s}.onnx`))
        .map(([t]) => t);
      found.push({ name, dir, layouts, computeTypes });
    }
  }
  return found;
}
