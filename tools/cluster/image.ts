// What a container image would run, read from the Dockerfile that builds it (dockerfile-ast):
// ENTRYPOINT, CMD, ENV and WORKDIR of its final stage, with ARG defaults expanded. The harness
// starts pods from this plus the pod spec, as a container runtime combines image and spec.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { projectRoot } from '../../src/env.js';

export interface ImageConfig {
  dockerfile: string;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workdir: string;
}

function expand(value: string, args: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args[(a ?? b)!] ?? '');
}

export function readImageConfig(dockerfile: string): ImageConfig {
  const parsed = DockerfileParser.parse(readFileSync(join(projectRoot, dockerfile), 'utf8'));
  const froms = parsed.getFROMs();
  const lastFrom = froms[froms.length - 1].getRange().start.line;
  const config: ImageConfig = { dockerfile, entrypoint: [], cmd: [], env: {}, workdir: '/' };
  const args: Record<string, string> = {};
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getRange().start.line < lastFrom) continue;
    const keyword = instruction.getKeyword();
    const json = (): string[] => {
      const strings = (instruction as unknown as { getJSONStrings(): { getJSONValue(): string }[] }).getJSONStrings();
      if (!strings.length) throw new Error(`${dockerfile}: ${keyword} must use the JSON (exec) form`);
      return strings.map((s) => s.getJSONValue());
    };
    const properties = (): { getName(): string; getValue(): string | null }[] => (instruction as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties();
    if (keyword === 'ENTRYPOINT') config.entrypoint = json();
    else if (keyword === 'CMD') config.cmd = json();
    else if (keyword === 'WORKDIR') config.workdir = instruction.getArgumentsContent() ?? '/';
    else if (keyword === 'ARG') for (const p of properties()) args[p.getName()] = p.getValue() ?? '';
    else if (keyword === 'ENV') for (const p of properties()) config.env[p.getName()] = expand(p.getValue() ?? '', { ...args, ...config.env });
  }
  return config;
}
