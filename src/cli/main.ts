#!/usr/bin/env node
// audiodecode transcribe FILE: progress on stderr, the result on stdout.
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { listModels } from '../model/list.js';
import { KNOWN_MODELS, pullModel } from '../model/pull.js';
import { pullVadModel, VAD_FILE } from '../model/vad-file.js';
import { DEFAULT_MODEL } from '../model/resolve.js';
import { COMPUTE_TYPES, DEVICES } from '../model/runtime.js';
import { AudioDecodeError } from '../errors.js';
import { FORMATS, render, showsSegmentTimes, type Format } from '../formats/index.js';
import { WhisperInference } from '../pipeline/whisper-inference.js';

const program = new Command('audiodecode').description('Whisper speech-to-text on onnxruntime-node');

program
  .command('transcribe')
  .argument('<file>', 'audio file (wav, mp3, flac, ogg/opus, m4a, webm, ...)')
  .option('-m, --model <name|dir>', 'model name or directory', DEFAULT_MODEL)
  .addOption(new Option('-d, --device <device>', 'execution device').choices(DEVICES).default('auto'))
  .addOption(new Option('-c, --compute-type <type>', 'weights precision').choices(COMPUTE_TYPES).default('auto'))
  .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS as unknown as string[]).default('txt'))
  .option('--batched', 'batched inference over the windows of long audio', false)
  .option('--batch-size <n>', 'windows per batch', (v) => Number.parseInt(v, 10))
  .option('--threads <n>', 'onnxruntime intra-op threads', (v) => Number.parseInt(v, 10))
  .option('--beam-size <n>', 'beam search width (1 = greedy)', (v) => Number.parseInt(v, 10), 1)
  .option('--language <code>', 'spoken language (multilingual models; default: detected)')
  .addOption(new Option('--task <task>', 'transcribe, or translate into English (multilingual models)').choices(['transcribe', 'translate']).default('transcribe'))
  .option('--prompt <text>', 'initial prompt that conditions the first window')
  .option('--word-timestamps', 'time every word (verbose_json gains a words list)', false)
  .action(async (file: string, opts) => {
    const whisper = new WhisperInference({
      model: opts.model,
      device: opts.device,
      computeType: opts.computeType,
      useBatchedInference: opts.batched,
      batchSize: opts.batchSize,
      threads: opts.threads,
    });
    // started before the model is loaded, so that ffmpeg decodes the file meanwhile
    const transcribing = whisper.transcribeFile(file, {
      language: opts.language,
      task: opts.task,
      initialPrompt: opts.prompt,
      beamSize: opts.beamSize,
      wordTimestamps: opts.wordTimestamps,
      withTimestamps: showsSegmentTimes(opts.format as Format) || undefined,
      onProgress: (done, total) => process.stderr.write(`\raudiodecode: ${done.toFixed(1)} / ${total.toFixed(1)} s`),
    });
    transcribing.catch(() => undefined); // a failed load rejects describe() first; that is the error shown
    const info = await whisper.describe();
    process.stderr.write(`audiodecode: ${info.modelDir} (${info.layout}, ${info.device}, ${info.computeType}, ${info.threads} threads)\n`);
    const result = await transcribing;
    const { timings } = result;
    const seconds = (ms: number): string => (ms / 1000).toFixed(2);
    const stages = (['decode', 'vad', 'features', 'encode', 'generate'] as const).map((stage) => `${stage} ${seconds(timings[stage])}`).join(', ');
    process.stderr.write(`\naudiodecode: ${result.duration.toFixed(1)} s of audio in ${seconds(timings.total)} s (RTF ${result.rtf.toFixed(1)}x; ${stages} s)\n`);
    process.stdout.write(render(result, opts.format as Format));
    await whisper.close();
  });

const models = program.command('models').description('pull and list models');

models
  .command('pull')
  .argument('<name>', `${Object.keys(KNOWN_MODELS).join(', ')}, or a Hugging Face repository id`)
  .option('-c, --compute-type <types>', 'precisions to fetch, comma-separated: float32, float16, int8', 'int8')
  .option('--endpoint <url>', 'hub endpoint (default: HF_ENDPOINT or https://huggingface.co)')
  .option('--dir <dir>', 'destination (default: the cache, where --model NAME finds it)')
  .action(async (name: string, opts) => {
    // noTTYOutput: an init container's log is no terminal, and still shows the progress
    const bar = new SingleBar({ format: 'audiodecode: {file} [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
    let current = '';
    const result = await pullModel(name, {
      computeTypes: String(opts.computeType).split(',') as ('float32' | 'float16' | 'int8')[],
      endpoint: opts.endpoint,
      dest: opts.dir,
      onProgress: (file, done, total) => {
        if (file !== current) {
          if (current) bar.stop();
          current = file;
          bar.start(total, done, { file });
        } else bar.update(done);
      },
    });
    if (current) bar.stop();
    const bytes = result.files.reduce((n, f) => n + f.bytes, 0);
    process.stderr.write(`audiodecode: ${name} ready in ${result.dir} (${result.files.length} files, ${(bytes / 1e6).toFixed(1)} MB, checksums verified)\n`);
    process.stderr.write(`audiodecode: Silero VAD ready in ${await pullVadModel()}\n`);
  });

models
  .command('pull-vad')
  .description('fetch the Silero VAD v6 model (from faster-whisper\'s wheel on PyPI, digest pinned) into the cache')
  .option('--url <url>', 'the wheel from a mirror (default: AUDIODECODE_VAD_WHEEL_URL or PyPI)')
  .option('--dir <dir>', 'destination directory (default: the cache)')
  .action(async (opts) => {
    const path = await pullVadModel({ url: opts.url, dest: opts.dir ? join(opts.dir, VAD_FILE) : undefined });
    process.stderr.write(`audiodecode: Silero VAD ready in ${path} (checksum verified)\n`);
  });

models
  .command('list')
  .description('models in ../shared/models and the cache')
  .action(() => {
    const found = listModels();
    if (found.length === 0) process.stdout.write(`no models: 'npm run models:fixture' or 'audiodecode models pull ${DEFAULT_MODEL}'\n`);
    for (const m of found) process.stdout.write(`${m.name}\t${m.layouts.join('+')}\t${m.computeTypes.join(',')}\t${m.dir}\n`);
  });

program.parseAsync().catch((err: unknown) => {
  const message = err instanceof AudioDecodeError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  process.stderr.write(`audiodecode: error: ${message}\n`);
  process.exit(err instanceof AudioDecodeError ? 2 : 1);
});
