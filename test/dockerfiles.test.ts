import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { imageAllocatorEnv } from '../bench/spawn.js';
import { projectRoot } from '../src/env.js';
import { DEFAULT_MODEL } from '../src/index.js';

// No Docker engine runs here, so the images are checked by parsing their Dockerfiles.
function parse(name: string) {
  const dockerfile = DockerfileParser.parse(readFileSync(join(projectRoot, name), 'utf8'));
  const froms = dockerfile.getFROMs();
  const final = froms[froms.length - 1];
  const finalStart = final.getRange().start.line;
  // the whole instruction after its keyword, flags (--from=...) and line continuations included
  const instructions = dockerfile.getInstructions().map((i) => ({ keyword: i.getKeyword(), args: i.getTextContent().slice(i.getKeyword().length).trim(), line: i.getRange().start.line }));
  return { dockerfile, froms, final, finalStage: instructions.filter((i) => i.line >= finalStart), all: instructions };
}

describe.each(['Dockerfile.cpu', 'Dockerfile.gpu'])('%s', (name) => {
  const { froms, final, finalStage, all } = parse(name);
  const has = (keyword: string, pattern: RegExp, within = finalStage): boolean => within.some((i) => i.keyword === keyword && pattern.test(i.args));

  it('is multi-stage: builds with dev dependencies, ships without them', () => {
    expect(froms.length).toBeGreaterThanOrEqual(3);
    expect(has('RUN', /npm ci[\s\S]*npm run build[\s\S]*npm prune --omit=dev/, all)).toBe(true);
    expect(has('COPY', /--from=build \/app\/node_modules/)).toBe(true);
    expect(has('COPY', /--from=build \/app\/dist/)).toBe(true);
  });

  it('runs as a non-root user with ffmpeg, tini, a HEALTHCHECK and the function launcher', () => {
    const user = finalStage.filter((i) => i.keyword === 'USER').pop()!;
    expect(user.args).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/); // numeric, not root: runAsNonRoot can verify it
    expect(has('RUN', /apt-get install[^&]*ffmpeg/)).toBe(true);
    expect(has('HEALTHCHECK', /\/healthz/)).toBe(true);
    expect(has('ENTRYPOINT', /tini.*dist\/functions\/shared\/serve\.js/)).toBe(true);
    expect(has('EXPOSE', /8080/)).toBe(true);
    // read-only root file system: the model lives under /models, nothing writes into /app
    expect(has('ENV', /AUDIODECODE_CACHE=\/models/)).toBe(true);
  });

  it("serves the engine's default model when none is named", () => {
    expect(has('ARG', new RegExp(`^MODEL_NAME=${DEFAULT_MODEL.replace('.', '\\.')}$`))).toBe(true);
  });

  it('runs with the allocator setting the benchmark measured (bench/spawn.ts reads it from Dockerfile.cpu)', () => {
    const measured = imageAllocatorEnv();
    expect(Number(measured.MALLOC_MMAP_THRESHOLD_)).toBeGreaterThan(0);
    for (const [key, value] of Object.entries(measured)) expect(has('ENV', new RegExp(`(^|\\s)${key}=${value}(\\s|$)`))).toBe(true);
  });

  it('copies only files that exist in the repository', () => {
    for (const i of all.filter((x) => x.keyword === 'COPY' && !x.args.includes('--from'))) {
      const sources = i.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
      for (const src of sources) expect(existsSync(join(projectRoot, src)), `${name}: COPY ${src}`).toBe(true);
    }
  });

  if (name === 'Dockerfile.gpu') {
    it('is CUDA 12.4 with cuDNN 9, installs the CUDA execution provider at build time, and defaults to float16 batch 24', () => {
      expect(final.getImageName()).toBe('nvidia/cuda');
      expect(final.getImageTag()).toMatch(/^12\.4\.\d+-cudnn-runtime-/);
      expect(has('ENV', /ONNXRUNTIME_NODE_INSTALL=cuda12/, all)).toBe(true);
      expect(has('RUN', /libonnxruntime_providers_cuda\.so/, all)).toBe(true);
      expect(has('ENV', /AUDIODECODE_DEVICE=cuda/)).toBe(true);
      expect(has('ENV', /AUDIODECODE_COMPUTE_TYPE=float16/)).toBe(true);
      expect(has('ENV', /AUDIODECODE_BATCH_SIZE=24/)).toBe(true);
    });
  } else {
    it('is a slim Node 20 image with the CPU build of onnxruntime-node and int8', () => {
      expect(final.getImageName()).toBe('node');
      expect(final.getImageTag()).toMatch(/^20-.*slim$/);
      expect(has('ENV', /ONNXRUNTIME_NODE_INSTALL=skip/, all)).toBe(true);
      expect(has('ENV', /AUDIODECODE_COMPUTE_TYPE=int8/)).toBe(true);
    });
  }
});
