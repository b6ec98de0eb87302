// The Hugging Face config files both model layouts carry.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface WhisperConfig {
  nMels: number;
  dModel: number;
  nHeads: number;
  decoderLayers: number;
  vocabSize: number;
  maxTextPositions: number;
  multilingual: boolean;
  alignmentHeads: [number, number][];
  suppressTokens: number[];
  beginSuppressTokens: number[];
  maxInitialTimestampIndex: number;
  langToId: Record<string, number>;
  taskToId: Record<string, number>;
}

function readJson(dir: string, name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, name), 'utf8'));
}

export function readWhisperConfig(dir: string): WhisperConfig {
  const config = readJson(dir, 'config.json');
  const generation = readJson(dir, 'generation_config.json');
  return {
    nMels: config.num_mel_bins,
    dModel: config.d_model,
    nHeads: config.decoder_attention_heads,
    decoderLayers: config.decoder_layers,
    vocabSize: config.vocab_size,
    maxTextPositions: config.max_target_positions,
    multilingual: generation.is_multilingual ?? config.vocab_size >= 51865,
    alignmentHeads: generation.alignment_heads ?? [],
    suppressTokens: generation.suppress_tokens ?? [],
    beginSuppressTokens: generation.begin_suppress_tokens ?? [],
    maxInitialTimestampIndex: generation.max_initial_timestamp_index ?? 50,
    langToId: generation.lang_to_id ?? {},
    taskToId: generation.task_to_id ?? {},
  };
}
