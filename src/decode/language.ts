// Language detection for multilingual models: the distribution over language tokens right
// after <|startoftranscript|>, as OpenAI Whisper and faster-whisper detect it (first 30 s).
import type { EncodedAudio, WhisperOnnx } from '../model/layouts.js';
import type { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';

export interface LanguageGuess {
  language: string;
  probability: number;
}

/** `languages` maps a code ('en') to its token id; `logits` is one vocabulary row. */
export function pickLanguage(logits: Float32Array, languages: Record<string, number>): LanguageGuess {
  const entries = Object.entries(languages);
  if (entries.length === 0) throw new Error('the model lists no languages');
  const max = Math.max(...entries.map(([, id]) => logits[id]));
  const weights = entries.map(([code, id]) => [code, Math.exp(logits[id] - max)] as const);
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const [language, weight] = weights.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { language, probability: weight / total };
}

/** Language codes of a model's generation_config lang_to_id ({"<|en|>": 50259, ...}). */
export function languageTable(langToId: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(langToId).map(([token, id]) => [token.replace(/^<\|(.*)\|>$/, '$1'), id]));
}

/** Detect the language of each row of `audio` (one decoder step on <|startoftranscript|>). */
export async function detectLanguage(model: WhisperOnnx, tokenizer: WhisperTokenizer, audio: EncodedAudio): Promise<LanguageGuess[]> {
  const vocab = model.config.vocabSize;
  const step = await model.decode(BigInt64Array.from({ length: audio.batch }, () => BigInt(tokenizer.sot)), 1, audio, null);
  const table = languageTable(model.config.langToId);
  return Array.from({ length: audio.batch }, (_, b) => pickLanguage(step.logits.subarray(b * vocab, (b + 1) * vocab), table));
}
