// The file names of a converted model, in one place: the two ONNX layouts and the precision
// suffixes (tools/convert_ct2.py writes the same names), and the config files both layouts carry.
import type { ComputeType } from './runtime.js';

export type Layout = 'native' | 'community';
export type Precision = Exclude<ComputeType, 'auto'>;

export const LAYOUTS: Layout[] = ['native', 'community'];
export const PRECISIONS: Precision[] = ['float32', 'float16', 'int8'];

const SUFFIX: Record<Precision, string> = { float32: '', float16: '_fp16', int8: '_quantized' };
const BASENAMES: Record<Layout, { encoder: string; decoder: string }> = {
  native: { encoder: 'whisper_encoder', decoder: 'whisper_decoder' },
  community: { encoder: 'encoder_model', decoder: 'decoder_model_merged' },
};

export const CONFIG_FILES = ['config.json', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json'];

/** `onnx/NAME.onnx` of one layout's encoder or decoder at one precision, relative to the model directory. */
export function onnxFile(layout: Layout, part: 'encoder' | 'decoder', precision: Precision): string {
  return `onnx/${BASENAMES[layout][part]}${SUFFIX[precision]}.onnx`;
}
