import { describe, expect, it } from 'vitest';
import { languageTable, pickLanguage } from '../src/decode/language.js';
import { readWhisperConfig } from '../src/model/config.js';
import { DEFAULT_MODEL, resolveModelDir } from '../src/model/resolve.js';
import { WhisperTokenizer } from '../src/tokenizer/whisper-tokenizer.js';
import { TEST_MODEL } from './helpers.js';

// Real tokenizers: base (multilingual, the default model) and tiny.en (English-only).
const baseDir = resolveModelDir(DEFAULT_MODEL);
const multilingual = new WhisperTokenizer(baseDir, readWhisperConfig(baseDir));
const englishDir = resolveModelDir(TEST_MODEL);
const english = new WhisperTokenizer(englishDir, readWhisperConfig(englishDir));

describe('language detection and task tokens', () => {
  it('picks the language whose token is likeliest, with its probability among languages only', () => {
    const table = languageTable({ '<|en|>': 10, '<|de|>': 11, '<|fr|>': 12 });
    expect(table).toEqual({ en: 10, de: 11, fr: 12 });
    const logits = new Float32Array(20).fill(-5);
    logits[11] = 3;
    logits[10] = 3 - Math.log(3); // en a third as likely as de
    logits[0] = 50; // a non-language token never counts
    const guess = pickLanguage(logits, table);
    expect(guess.language).toBe('de');
    expect(guess.probability).toBeCloseTo(3 / (3 + 1 + 3 * Math.exp(-8)), 4);
  });

  it('builds sot, language and task for multilingual models, translate included', () => {
    expect(multilingual.multilingual).toBe(true);
    expect(english.multilingual).toBe(false);
    const de = multilingual.languageToken('de');
    expect(multilingual.sotSequence('de', 'translate')).toEqual([multilingual.sot, de, multilingual.translate]);
    expect(multilingual.sotSequence(undefined, 'transcribe')).toEqual([multilingual.sot, multilingual.languageToken('en'), multilingual.transcribe]);
    expect(() => multilingual.languageToken('xx')).toThrow(/unknown language/);
  });

  it('gives English-only models the bare start token', () => {
    expect(english.sotSequence('en', 'transcribe')).toEqual([english.sot]);
  });
});
