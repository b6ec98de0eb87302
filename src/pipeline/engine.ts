// The loaded parts one WhisperInference runs on, and the per-window helpers both long-audio
// strategies share (prompts, filters, language, encoding and decoding a batch of windows).
import { detectLanguage, languageTable } from '../decode/language.js';
import { decodeWithFallback } from '../decode/fallback.js';
import { promptTokens, type DecodedSequence } from '../decode/greedy.js';
import { suppressedTokens, type FilterContext } from '../decode/logit-filters.js';
import { alignWords, type WordTiming } from '../decode/word-timing.js';
import type { WindowSegment } from '../decode/segments.js';
import { AudioDecodeError } from '../errors.js';
import { CHUNK_FRAMES, LogMelExtractor } from '../features/log-mel.js';
import { readWhisperConfig } from '../model/config.js';
import { openWhisperOnnx, type EncodedAudio, type Layout, type WhisperOnnx } from '../model/layouts.js';
import { resolveModelDir } from '../model/resolve.js';
import type { RuntimeChoice } from '../model/runtime.js';
import { WhisperTokenizer } from '../tokenizer/whisper-tokenizer.js';
import { MAX_NEW_TOKENS, type ResolvedOptions } from './options.js';
import type { Timings } from './types.js';
import { SileroVad } from './vad.js';

export interface Engine {
  vad: SileroVad;
  model: WhisperOnnx;
  tokenizer: WhisperTokenizer;
  mel: LogMelExtractor;
  runtime: RuntimeChoice;
  modelDir: string;
  /** Suppression lists, built once per timestamp mode. */
  filters: { timed: FilterContext; untimed: FilterContext };
}

export async function loadEngine(model: string, runtime: RuntimeChoice, layout?: Layout): Promise<Engine> {
  const modelDir = resolveModelDir(model);
  const config = readWhisperConfig(modelDir);
  const [onnx, vad, mel] = await Promise.all([openWhisperOnnx(modelDir, config, runtime, layout), SileroVad.load(), LogMelExtractor.create(config.nMels, runtime.threads)]);
  const tokenizer = new WhisperTokenizer(modelDir, config);
  const filter = (withTimestamps: boolean): FilterContext => ({
    tokenizer,
    suppress: suppressedTokens(tokenizer, config.suppressTokens),
    beginSuppress: Int32Array.from(config.beginSuppressTokens),
    withTimestamps,
    maxInitialTimestampIndex: config.maxInitialTimestampIndex,
  });
  return { vad, model: onnx, tokenizer, mel, runtime, modelDir, filters: { timed: filter(true), untimed: filter(false) } };
}

export async function releaseEngine(engine: Engine): Promise<void> {
  await Promise.all([engine.model.release(), engine.vad.release(), engine.mel.release()]);
}

/**
 * Options checked against the model before any audio is decoded. Returns the language to run in:
 * the one asked for, 'en' on English-only models, or undefined when it is to be detected.
 */
export function checkOptions(engine: Engine, options: ResolvedOptions): string | undefined {
  const { tokenizer, model } = engine;
  if (options.wordTimestamps && !model.supportsAlignment) {
    throw new AudioDecodeError(
      'word_timestamps_unavailable',
      `word timestamps need the cross-attention of the alignment heads, which this model's ${model.layout} decoder does not expose; use a model converted by tools/convert_ct2.py (native layout)`,
      'wordTimestamps',
    );
  }
  if (!tokenizer.multilingual) {
    if (options.language && options.language !== 'en') {
      throw new AudioDecodeError('invalid_language', `this model is English-only; language '${options.language}' is not supported: omit it, or use a multilingual model such as base`, 'language');
    }
    if (options.task === 'translate') throw new AudioDecodeError('unsupported_task', 'this model is English-only and cannot translate: use a multilingual model such as base', 'task');
    if (options.multilingual) throw new AudioDecodeError('invalid_language', 'this model is English-only; per-window language detection needs a multilingual model such as base', 'language');
    return 'en';
  }
  const known = Object.keys(languageTable(model.config.langToId));
  if (options.language && !known.includes(options.language)) {
    throw new AudioDecodeError('invalid_language', `unknown language '${options.language}': use one of this model's ${known.length} ISO-639-1 codes (${known.slice(0, 8).join(', ')}, ...), or omit it to detect the language`, 'language');
  }
  return options.language;
}

/** Start-of-transcript, language and task, then <|notimestamps|> when timestamps are off. */
export function sotSequence(engine: Engine, language: string, options: ResolvedOptions): number[] {
  const { tokenizer } = engine;
  return [...tokenizer.sotSequence(language, options.task), ...(options.withTimestamps ? [] : [tokenizer.noTimestamps])];
}

/** The tokens of OpenAI's `prompt` (initial_prompt): conditions the first window. */
export function initialPromptTokens(engine: Engine, options: ResolvedOptions): number[] {
  return options.initialPrompt ? engine.tokenizer.encodeText(' ' + options.initialPrompt) : [];
}

/** `previous` text as the prompt before `sot`, cut to the model's text context. */
export function windowPrompt(engine: Engine, previous: number[], sot: number[]): number[] {
  return promptTokens(engine.tokenizer, previous, sot, engine.model.config.maxTextPositions);
}

/** Encode a batch of windows' features. */
export async function encodeWindows(engine: Engine, features: Float32Array, batch: number, timings: Timings): Promise<EncodedAudio> {
  const t = performance.now();
  const audio = await engine.model.encode(features, batch, CHUNK_FRAMES);
  timings.encode += performance.now() - t;
  return audio;
}

/** The language of each row of an encoded batch (one decoder step on <|startoftranscript|>). */
export async function detectRows(engine: Engine, audio: EncodedAudio, rows: number[], timings: Timings): Promise<string[]> {
  const t = performance.now();
  const guesses = await detectLanguage(engine.model, engine.tokenizer, engine.model.selectRows(audio, rows));
  timings.generate += performance.now() - t;
  return guesses.map((g) => g.language);
}

/** Decode every row of an encoded batch after its prompt (equal lengths), with temperature fallback. */
export async function decodeRows(engine: Engine, audio: EncodedAudio, prompts: number[][], options: ResolvedOptions, timings: Timings): Promise<DecodedSequence[]> {
  const gen = { steps: 0, ms: 0 };
  const filters = options.withTimestamps ? engine.filters.timed : engine.filters.untimed;
  const results = await decodeWithFallback(engine.model, engine.tokenizer, audio, prompts, { filters, temperatures: options.temperatures, beamSize: options.beamSize, maxNewTokens: MAX_NEW_TOKENS }, gen);
  timings.generate += gen.ms;
  return results;
}

/** Word timings for the text of `segments`, from row `row` of an encoded batch. */
export async function alignRow(engine: Engine, audio: EncodedAudio, row: number, sot: number[], segments: WindowSegment[], contentFrames: number, timings: Timings): Promise<WordTiming[]> {
  const { model, tokenizer } = engine;
  const t = performance.now();
  const text = segments.flatMap((s) => s.tokens).filter((token) => token < tokenizer.eot);
  const words = await alignWords(model, tokenizer, audio.batch === 1 ? audio : model.selectRows(audio, [row]), sot, text, contentFrames);
  timings.generate += performance.now() - t;
  return words;
}
