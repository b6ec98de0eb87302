// Whisper's special tokens around the model's tokenizer.json (parsed by @huggingface/tokenizers).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { WhisperConfig } from '../model/config.js';

export const TIME_PRECISION = 0.02; // seconds per timestamp token

export class WhisperTokenizer {
  private readonly tokenizer: Tokenizer;
  readonly eot: number;
  readonly sot: number;
  readonly sotPrev: number;
  readonly sotLm: number;
  readonly noSpeech: number;
  readonly noTimestamps: number;
  readonly transcribe: number;
  readonly translate: number;
  readonly timestampBegin: number;

  constructor(modelDir: string, private readonly config: WhisperConfig) {
    const json = JSON.parse(readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'));
    this.tokenizer = new Tokenizer(json, {});
    const id = (t: string): number => {
      const v = this.tokenizer.token_to_id(t);
      if (v === undefined) throw new Error(`tokenizer.json lacks the special token ${t}`);
      return v;
    };
    this.eot = id('<|endoftext|>');
    this.sot = id('<|startoftranscript|>');
    this.sotPrev = id('<|startofprev|>');
    this.sotLm = id('<|startoflm|>');
    this.noSpeech = this.tokenizer.token_to_id('<|nospeech|>') ?? id('<|nocaptions|>');
    this.noTimestamps = id('<|notimestamps|>');
    this.transcribe = id('<|transcribe|>');
    this.translate = id('<|translate|>');
    this.timestampBegin = this.noTimestamps + 1;
  }

  get multilingual(): boolean {
    return this.config.multilingual;
  }

  languageToken(language: string): number {
    const id = this.tokenizer.token_to_id(`<|${language}|>`);
    if (id === undefined) throw new Error(`unknown language '${language}'`);
    return id;
  }

  /** The tokens before the first generated one: sot, then language and task for multilingual models. */
  sotSequence(language: string | undefined, task: 'transcribe' | 'translate'): number[] {
    if (!this.multilingual) return [this.sot];
    return [this.sot, this.languageToken(language ?? 'en'), task === 'translate' ? this.translate : this.transcribe];
  }

  encodeText(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of the ordinary tokens only (timestamps and special tokens dropped). */
  decodeText(tokens: number[]): string {
    return this.tokenizer.decode(tokens.filter((t) => t < this.eot));
  }

  /**
   * Tokens grouped into pieces that decode to whole characters: a character of several UTF-8
   * bytes can span tokens (OpenAI's split_tokens_on_unicode). Special tokens keep their text.
   */
  splitOnUnicode(tokens: number[]): { text: string; tokens: number[] }[] {
    const decode = (ids: number[]): string => this.tokenizer.decode(ids, { skip_special_tokens: false });
    const full = decode(tokens);
    const pieces: { text: string; tokens: number[] }[] = [];
    let current: number[] = [];
    let offset = 0;
    for (const token of tokens) {
      current.push(token);
      const text = decode(current);
      const broken = text.indexOf('\ufffd');
      if (broken < 0 || full[offset + broken] === '\ufffd') {
        pieces.push({ text, tokens: current });
        current = [];
        offset += text.length;
      }
    }
    return pieces;
  }

  isTimestamp(token: number): boolean {
    return token >= this.timestampBegin;
  }
}
